import { PARAMETERS_MAX_SCHEMA_0, ValueType } from '../../src/wire/index.js';
import type { WireValue } from '../../src/wire/index.js';

/** What a SQL parameter may be. `undefined` is rejected: pass `null` for SQL NULL. */
export type Parameter = number | bigint | string | boolean | null | Date | Uint8Array;

/** What a row value may be, depending on the column's wire type and the integer policy. */
export type RowValue = number | bigint | string | boolean | null | Date | Buffer;

/**
 * How 64-bit integers come back:
 * - `'auto'` (default): a `number` when it is a safe integer (|n| < 2^53), a `bigint` otherwise,
 *   so no value ever loses precision;
 * - `'bigint'`: always a `bigint`.
 */
export type IntegerMode = 'auto' | 'bigint';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Maps a JS value to its wire value; `position` is 1-based, for the error text. */
export function toWireValue(value: unknown, position: number): WireValue {
  switch (typeof value) {
    case 'number':
      return numberValue(value);
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new RangeError(`parameter ${position}: ${value} does not fit a 64-bit integer`);
      }
      return { type: ValueType.INTEGER, value };
    case 'string':
      return { type: ValueType.TEXT, value: checkText(value, position) };
    case 'boolean':
      return { type: ValueType.BOOLEAN, value };
    case 'undefined':
      throw new TypeError(`parameter ${position} is undefined; pass null for SQL NULL`);
    case 'object':
      return objectValue(value, position);
    default:
      throw new TypeError(`parameter ${position}: a ${typeof value} cannot be bound`);
  }
}

/** An integral number within int64 goes as INTEGER (as SQLite's own binding would), else FLOAT. */
function numberValue(value: number): WireValue {
  if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
    return { type: ValueType.INTEGER, value: BigInt(value) };
  }
  return { type: ValueType.FLOAT, value };
}

function objectValue(value: object | null, position: number): WireValue {
  if (value === null) return { type: ValueType.NULL, value: null };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new RangeError(`parameter ${position} is an invalid Date`);
    return { type: ValueType.ISO8601, value: formatIso8601(value) };
  }
  if (value instanceof Uint8Array) return { type: ValueType.BLOB, value };
  throw new TypeError(
    `parameter ${position}: a ${value.constructor?.name ?? 'object'} cannot be bound; use a number, bigint, string, boolean, null, Date or Uint8Array`,
  );
}

/** The wire text type is NUL-terminated: an embedded NUL would silently cut the string. */
function checkText(value: string, position: number): string {
  if (value.includes('\0')) {
    throw new RangeError(`parameter ${position}: text contains a NUL character; bind it as a blob`);
  }
  return value;
}

/**
 * UTC in SQLite's own datetime layout with milliseconds and an explicit offset, which SQLite's
 * date functions and go-dqlite both read: "2024-05-06 07:08:09.123+00:00".
 */
export function formatIso8601(date: Date): string {
  return `${date.toISOString().slice(0, 23).replace('T', ' ')}+00:00`;
}

const ISO8601_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses the datetime texts SQLite produces and accepts. A time without an offset is UTC, as
 * in SQLite (JavaScript's Date.parse would take it as local time). Undefined when unparseable.
 */
export function parseIso8601(text: string): Date | undefined {
  const match = ISO8601_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = ''] = match;
  const offset = match[8] ?? 'Z';
  const milliseconds = fraction ? fraction.slice(1, 4).padEnd(3, '0') : '000';
  const normalizedOffset =
    offset.toUpperCase() === 'Z' ? 'Z' : offset.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = new Date(
    `${year}-${month}-${day}T${hour}:${minute}:${second}.${milliseconds}${normalizedOffset}`,
  );
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Maps a row value to JS. INTEGER follows the integer mode; UNIXTIME (an integer in a DATETIME
 * column) becomes a Date; ISO8601 (text in a DATETIME column) becomes a Date when parseable, the
 * text otherwise, and null for "" (how dqlite sends NULL there); BOOLEAN becomes a boolean.
 */
export function fromWireValue(value: WireValue, integers: IntegerMode): RowValue {
  switch (value.type) {
    case ValueType.INTEGER:
      return integerValue(value.value, integers);
    case ValueType.FLOAT:
    case ValueType.TEXT:
    case ValueType.BOOLEAN:
    case ValueType.NULL:
      return value.value;
    case ValueType.BLOB:
      return Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength);
    case ValueType.UNIXTIME:
      return new Date(Number(value.value) * 1000);
    case ValueType.ISO8601:
      if (value.value === '') return null;
      return parseIso8601(value.value) ?? value.value;
    default:
      return assertNever(value);
  }
}

export function integerValue(value: bigint, integers: IntegerMode): number | bigint {
  if (integers === 'bigint') return value;
  const small =
    value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
  return small ? Number(value) : value;
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled wire value ${JSON.stringify(value)}`);
}

/** Parameters as wire values; none (no tuple at all) when the list is empty or absent. */
export function wireParameters(
  parameters: readonly Parameter[] | undefined,
): WireValue[] | undefined {
  if (parameters === undefined) return undefined;
  if (!Array.isArray(parameters)) throw new TypeError('parameters must be an array');
  if (parameters.length === 0) return undefined;
  return parameters.map((value, index) => toWireValue(value, index + 1));
}

/**
 * Schema 0 holds at most 255 parameters; more need schema 1, which dqlite >= 1.12 reads and
 * 1.11 rejects with DQLITE_PARSE (1005).
 */
export function tupleSchema(parameters: readonly Parameter[] | undefined): 0 | 1 {
  return (parameters?.length ?? 0) > PARAMETERS_MAX_SCHEMA_0 ? 1 : 0;
}
