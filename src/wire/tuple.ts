import { WORD_BYTES } from './codes.js';
import { ProtocolError } from './protocol-error.js';
import type { ValueTypeCode } from './codes.js';
import { checkValueType, readValue, writeValue } from './values.js';
import type { WireValue } from './values.js';
import type { WordReader } from './word-reader.js';
import type { WordWriter } from './word-writer.js';

/**
 * Parameter tuple layouts (§5.2): schema 0 counts parameters in one byte, schema 1 (dqlite >= 1.12)
 * in a u32. The request header's schema byte says which one a request uses.
 */
export type TupleSchema = 0 | 1;

/** Schema 0 stores the count in one byte. */
export const PARAMETERS_MAX_SCHEMA_0 = 255;
/**
 * Upper bound for schema 1: SQLite's own default SQLITE_MAX_VARIABLE_NUMBER. The wire allows
 * 2^32-1, but nothing could bind more, and the bound keeps hostile counts cheap to reject.
 */
export const PARAMETERS_MAX_SCHEMA_1 = 32766;

export function parametersMax(schema: TupleSchema): number {
  return schema === 0 ? PARAMETERS_MAX_SCHEMA_0 : PARAMETERS_MAX_SCHEMA_1;
}

/** Writes a parameter tuple: count, one type byte per value, padding, then the values. */
export function writeParameters(
  writer: WordWriter,
  values: readonly WireValue[],
  schema: TupleSchema,
): void {
  if (values.length > parametersMax(schema)) {
    throw new RangeError(
      `parameters: ${values.length} values exceed the schema-${schema} maximum of ${parametersMax(schema)}`,
    );
  }
  if (schema === 0) writer.uint8(values.length);
  else writer.uint32(values.length);
  for (const value of values) writer.uint8(value.type);
  writer.pad();
  for (const value of values) writeValue(writer, value);
}

/** Reads a parameter tuple written by writeParameters. */
export function readParameters(reader: WordReader, schema: TupleSchema): WireValue[] {
  const count = schema === 0 ? reader.uint8() : reader.uint32();
  if (count > parametersMax(schema)) {
    throw new ProtocolError(
      'malformed',
      `parameter tuple: count ${count} exceeds the schema-${schema} maximum of ${parametersMax(schema)}`,
    );
  }
  // Each value takes a type byte and at least one word: reject counts the body cannot hold
  // before allocating anything sized by them.
  if (count * (WORD_BYTES + 1) > reader.remainingBytes) {
    throw new ProtocolError(
      'truncated',
      `parameter tuple: count ${count} does not fit the ${reader.remainingBytes} bytes left`,
    );
  }
  const types: ValueTypeCode[] = [];
  for (let index = 0; index < count; index++) {
    types.push(checkValueType(reader.uint8(), 'parameter tuple'));
  }
  reader.skipPadding();
  return types.map((type) => readValue(reader, type));
}

/** Bytes of a row tuple header: one 4-bit type code per column, padded to words (§5.3). */
export function rowHeaderBytes(columnCount: number): number {
  return Math.ceil(Math.ceil(columnCount / 2) / WORD_BYTES) * WORD_BYTES;
}

/** Writes one row: the nibble header (even column in the low nibble), then the values. */
export function writeRow(writer: WordWriter, row: readonly WireValue[]): void {
  const header = Buffer.alloc(rowHeaderBytes(row.length));
  row.forEach((value, column) => {
    const shift = column % 2 === 0 ? 0 : 4;
    header[column >> 1] = (header[column >> 1] ?? 0) | (value.type << shift);
  });
  writer.raw(header);
  for (const value of row) writeValue(writer, value);
}

/** Reads one row of `columnCount` values. */
export function readRow(reader: WordReader, columnCount: number): WireValue[] {
  const header = reader.raw(rowHeaderBytes(columnCount));
  const types: ValueTypeCode[] = [];
  for (let column = 0; column < columnCount; column++) {
    const byte = header[column >> 1] ?? 0;
    const nibble = column % 2 === 0 ? byte & 0x0f : byte >> 4;
    types.push(checkValueType(nibble, 'row tuple'));
  }
  return types.map((type) => readValue(reader, type));
}
