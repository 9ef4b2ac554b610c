import { describe, expect, it } from 'vitest';
import { ValueType } from '../../../src/wire/index.js';
import type { WireValue } from '../../../src/wire/index.js';
import {
  formatIso8601,
  fromWireValue,
  parseIso8601,
  toWireValue,
  tupleSchema,
  wireParameters,
} from '../../../drivers/client/values.js';

describe('JS parameters to wire values', () => {
  it.each<[unknown, WireValue]>([
    [0, { type: ValueType.INTEGER, value: 0n }],
    [-7, { type: ValueType.INTEGER, value: -7n }],
    [2 ** 60, { type: ValueType.INTEGER, value: 2n ** 60n }],
    [1.5, { type: ValueType.FLOAT, value: 1.5 }],
    [2 ** 64, { type: ValueType.FLOAT, value: 2 ** 64 }], // integral but beyond int64
    [Number.NaN, { type: ValueType.FLOAT, value: Number.NaN }],
    [2n ** 63n - 1n, { type: ValueType.INTEGER, value: 2n ** 63n - 1n }],
    [-(2n ** 63n), { type: ValueType.INTEGER, value: -(2n ** 63n) }],
    ['héllo', { type: ValueType.TEXT, value: 'héllo' }],
    ['', { type: ValueType.TEXT, value: '' }],
    [true, { type: ValueType.BOOLEAN, value: true }],
    [null, { type: ValueType.NULL, value: null }],
    [
      new Date('2024-05-06T07:08:09.123Z'),
      { type: ValueType.ISO8601, value: '2024-05-06 07:08:09.123+00:00' },
    ],
  ])('maps %o', (input, expected) => {
    expect(toWireValue(input, 1)).toEqual(expected);
  });

  it('passes Buffer and Uint8Array as blobs', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(toWireValue(bytes, 1)).toEqual({ type: ValueType.BLOB, value: bytes });
    expect(toWireValue(Buffer.from('ab'), 1).type).toBe(ValueType.BLOB);
  });

  it('rejects what it cannot represent, naming the parameter', () => {
    expect(() => toWireValue(undefined, 3)).toThrow(/parameter 3 is undefined; pass null/);
    expect(() => toWireValue(2n ** 63n, 1)).toThrow(RangeError);
    expect(() => toWireValue(-(2n ** 63n) - 1n, 1)).toThrow(RangeError);
    expect(() => toWireValue(new Date(Number.NaN), 2)).toThrow(/parameter 2 is an invalid Date/);
    expect(() => toWireValue('a\0b', 1)).toThrow(/NUL/);
    expect(() => toWireValue({ a: 1 }, 4)).toThrow(/parameter 4: a Object cannot be bound/);
    expect(() => toWireValue(Symbol('s'), 1)).toThrow(TypeError);
    expect(() => toWireValue(() => 1, 1)).toThrow(TypeError);
  });

  it('sends no tuple for no parameters and schema 1 only beyond 255', () => {
    expect(wireParameters(undefined)).toBeUndefined();
    expect(wireParameters([])).toBeUndefined();
    expect(wireParameters([1])).toHaveLength(1);
    expect(() => wireParameters('x' as unknown as [])).toThrow(TypeError);
    expect(tupleSchema(new Array(255).fill(1))).toBe(0);
    expect(tupleSchema(new Array(256).fill(1))).toBe(1);
  });
});

describe('wire row values to JS', () => {
  it('keeps integers exact: number when safe, bigint otherwise', () => {
    const safe: WireValue = { type: ValueType.INTEGER, value: 2n ** 53n - 1n };
    const unsafe: WireValue = { type: ValueType.INTEGER, value: 2n ** 53n };
    const negative: WireValue = { type: ValueType.INTEGER, value: -(2n ** 53n) };
    expect(fromWireValue(safe, 'auto')).toBe(2 ** 53 - 1);
    expect(fromWireValue(unsafe, 'auto')).toBe(2n ** 53n);
    expect(fromWireValue(negative, 'auto')).toBe(-(2n ** 53n));
    expect(fromWireValue(safe, 'bigint')).toBe(2n ** 53n - 1n);
  });

  it('maps the date and boolean types dqlite derives from declared column types', () => {
    expect(fromWireValue({ type: ValueType.UNIXTIME, value: 1_700_000_000n }, 'auto')).toEqual(
      new Date(1_700_000_000_000),
    );
    expect(fromWireValue({ type: ValueType.ISO8601, value: '2001-02-03' }, 'auto')).toEqual(
      new Date('2001-02-03T00:00:00Z'),
    );
    expect(fromWireValue({ type: ValueType.ISO8601, value: '' }, 'auto')).toBeNull();
    expect(fromWireValue({ type: ValueType.ISO8601, value: 'not a date' }, 'auto')).toBe(
      'not a date',
    );
    expect(fromWireValue({ type: ValueType.BOOLEAN, value: true }, 'auto')).toBe(true);
    expect(fromWireValue({ type: ValueType.BLOB, value: new Uint8Array([9]) }, 'auto')).toEqual(
      Buffer.from([9]),
    );
  });
});

describe('ISO 8601 texts', () => {
  it.each([
    ['2024-05-06 07:08:09', '2024-05-06T07:08:09.000Z'], // no offset: UTC, as in SQLite
    ['2024-05-06T07:08:09Z', '2024-05-06T07:08:09.000Z'],
    ['2024-05-06 07:08:09.5', '2024-05-06T07:08:09.500Z'],
    ['2024-05-06 07:08:09.123456789+02:00', '2024-05-06T05:08:09.123Z'],
    ['2024-05-06 07:08:09-0130', '2024-05-06T08:38:09.000Z'],
    ['2024-05-06 07:08', '2024-05-06T07:08:00.000Z'],
    ['2024-05-06', '2024-05-06T00:00:00.000Z'],
  ])('parses %s', (text, iso) => {
    expect(parseIso8601(text)?.toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2024-13-45', '2024-05-06 25:00:00'])('refuses %o', (text) => {
    expect(parseIso8601(text)).toBeUndefined();
  });

  it('formats what it parses', () => {
    const date = new Date('1999-12-31T23:59:59.999Z');
    expect(parseIso8601(formatIso8601(date))).toEqual(date);
  });
});
