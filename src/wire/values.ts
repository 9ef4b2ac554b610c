import { ValueType, valueTypeName } from './codes.js';
import type { ValueTypeCode } from './codes.js';
import { ProtocolError } from './protocol-error.js';
import type { WordReader } from './word-reader.js';
import type { WordWriter } from './word-writer.js';

/**
 * One value of a parameter or row tuple, tagged with its wire type so that a decode/encode round
 * trip is exact (an ISO8601 stays ISO8601, not TEXT). The client maps these to JS values.
 */
export type WireValue =
  | { readonly type: typeof ValueType.INTEGER; readonly value: bigint }
  | { readonly type: typeof ValueType.FLOAT; readonly value: number }
  | { readonly type: typeof ValueType.TEXT; readonly value: string }
  | { readonly type: typeof ValueType.BLOB; readonly value: Uint8Array }
  | { readonly type: typeof ValueType.NULL; readonly value: null }
  | { readonly type: typeof ValueType.UNIXTIME; readonly value: bigint }
  | { readonly type: typeof ValueType.ISO8601; readonly value: string }
  | { readonly type: typeof ValueType.BOOLEAN; readonly value: boolean };

/** Checks a type code read off the wire; `what` names the tuple in the error. */
export function checkValueType(code: number, what: string): ValueTypeCode {
  if (valueTypeName(code) === undefined) {
    throw new ProtocolError('unknown-type', `${what}: unknown value type code ${code}`);
  }
  return code as ValueTypeCode;
}

export function writeValue(writer: WordWriter, value: WireValue): void {
  switch (value.type) {
    case ValueType.INTEGER:
    case ValueType.UNIXTIME:
      writer.int64(value.value);
      return;
    case ValueType.FLOAT:
      writer.float64(value.value);
      return;
    case ValueType.TEXT:
    case ValueType.ISO8601:
      writer.text(value.value);
      return;
    case ValueType.BLOB:
      writer.blob(value.value);
      return;
    case ValueType.NULL:
      writer.uint64(0n);
      return;
    case ValueType.BOOLEAN:
      writer.uint64(value.value ? 1n : 0n);
      return;
    default:
      return assertNever(value);
  }
}

export function readValue(reader: WordReader, type: ValueTypeCode): WireValue {
  switch (type) {
    case ValueType.INTEGER:
      return { type, value: reader.int64() };
    case ValueType.UNIXTIME:
      return { type, value: reader.int64() };
    case ValueType.FLOAT:
      return { type, value: reader.float64() };
    case ValueType.TEXT:
      return { type, value: reader.text() };
    case ValueType.ISO8601:
      return { type, value: reader.text() };
    case ValueType.BLOB:
      return { type, value: reader.blob() };
    case ValueType.NULL:
      reader.uint64(); // the word is present and carries nothing
      return { type, value: null };
    case ValueType.BOOLEAN:
      return { type, value: reader.uint64() !== 0n };
    default:
      return assertNever(type);
  }
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled value ${JSON.stringify(value)}`);
}
