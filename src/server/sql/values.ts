import { ErrorCode, ValueType, columnValueType, type WireValue } from '../../wire/index.js';
import { EngineFailure } from './engine-failure.js';
import type { ParameterSlot } from '../../sql/sql-text.js';

/** A value better-sqlite3 binds or returns (integers as bigint: the engine uses safeIntegers). */
export type SqliteValue = bigint | number | string | Buffer | null;

/**
 * Arguments for better-sqlite3 from a request's parameter tuple (docs/wire-protocol.md §5.2): values
 * bind positionally to the statement's slots; slots left without a value bind NULL, as in dqlite;
 * more values than slots is SQLITE_RANGE. Anonymous slots go positionally, `?NNN` and named
 * slots by name (better-sqlite3 binds those only by name).
 */
export function bindArguments(
  slots: readonly ParameterSlot[],
  values: readonly WireValue[],
): unknown[] {
  if (values.length > slots.length) {
    throw new EngineFailure(ErrorCode.SQLITE_RANGE, 'column index out of range');
  }
  const positional: SqliteValue[] = [];
  const named: Record<string, SqliteValue> = {};
  let hasNamed = false;
  slots.forEach((slot, position) => {
    const wire = values[position];
    const value = wire === undefined ? null : sqliteValueOf(wire);
    if (slot.name === undefined) positional.push(value);
    else {
      hasNamed = true;
      named[slot.name] = value;
    }
  });
  return hasNamed ? [...positional, named] : positional;
}

/** A parameter as SQLite stores it: BOOLEAN as 0/1, ISO8601 as text, UNIXTIME as an integer. */
function sqliteValueOf(wire: WireValue): SqliteValue {
  switch (wire.type) {
    case ValueType.INTEGER:
    case ValueType.UNIXTIME:
      return wire.value;
    case ValueType.FLOAT:
      return wire.value;
    case ValueType.TEXT:
    case ValueType.ISO8601:
      return wire.value;
    case ValueType.BLOB:
      return Buffer.from(wire.value.buffer, wire.value.byteOffset, wire.value.byteLength);
    case ValueType.NULL:
      return null;
    case ValueType.BOOLEAN:
      return wire.value ? 1n : 0n;
  }
}

/** A result value as the wire carries it, typed by the column's declared type (§5.1). */
export function wireValueOf(value: unknown, declaredType: string | null): WireValue {
  return columnValueType(declaredType, storageValueOf(value));
}

function storageValueOf(value: unknown): WireValue {
  if (value === null || value === undefined) return { type: ValueType.NULL, value: null };
  if (typeof value === 'bigint') return { type: ValueType.INTEGER, value };
  if (typeof value === 'number') return { type: ValueType.FLOAT, value };
  if (typeof value === 'string') return { type: ValueType.TEXT, value };
  if (value instanceof Uint8Array) return { type: ValueType.BLOB, value };
  throw new TypeError(`SQLite returned a value of type ${typeof value}`);
}
