import { ValueType } from './codes.js';
import type { WireValue } from './values.js';

const DATE_TYPES = new Set(['DATETIME', 'DATE', 'TIMESTAMP']);

/**
 * The value a server puts in a row for a column of `declaredType` (§5.1): dqlite reports
 * INTEGER in a DATETIME/DATE/TIMESTAMP column as UNIXTIME, TEXT or NULL there as ISO8601 (NULL as
 * ""), and INTEGER or NULL in a BOOLEAN column as BOOLEAN (NULL as false).
 *
 * Any other combination keeps its storage class. dqlite 1.11 instead trips an assertion and
 * crashes on, for example, a REAL in a DATETIME column (§13, crash 4); a value a client managed
 * to store must never take a node down.
 */
export function columnValueType(declaredType: string | null, value: WireValue): WireValue {
  const declared = declaredType?.trim().toUpperCase() ?? '';
  if (DATE_TYPES.has(declared)) {
    if (value.type === ValueType.INTEGER) return { type: ValueType.UNIXTIME, value: value.value };
    if (value.type === ValueType.TEXT) return { type: ValueType.ISO8601, value: value.value };
    if (value.type === ValueType.NULL) return { type: ValueType.ISO8601, value: '' };
    return value;
  }
  if (declared === 'BOOLEAN') {
    if (value.type === ValueType.INTEGER)
      return { type: ValueType.BOOLEAN, value: value.value !== 0n };
    if (value.type === ValueType.NULL) return { type: ValueType.BOOLEAN, value: false };
    return value;
  }
  return value;
}
