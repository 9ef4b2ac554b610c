import { ProtocolError } from './protocol-error.js';
import { readParameters, writeParameters } from './tuple.js';
import type { TupleSchema } from './tuple.js';
import type { WireValue } from './values.js';
import type { WordReader } from './word-reader.js';
import type { WordWriter } from './word-writer.js';

/**
 * How one field of a message body is laid out. Encoders and decoders of every fixed-layout
 * message follow the same declaration, so the two directions cannot drift apart.
 */
export type FieldKind =
  | 'uint64' // u64 as bigint (node ids, flags, formats)
  | 'int64' // i64 as bigint (rowids)
  | 'number64' // u64 that must be a safe JS integer (codes, counts, milliseconds)
  | 'uint32' // u32 as number (32-bit db and statement ids)
  | 'text'
  | 'optional-uint64' // a last word that may be absent (ASSIGN's role)
  | 'parameters'; // a parameter tuple filling the rest of the body, or nothing

export type FieldSchema = readonly (readonly [name: string, kind: FieldKind])[];

type KindValue<K extends FieldKind> = K extends 'uint64' | 'int64'
  ? bigint
  : K extends 'number64' | 'uint32'
    ? number
    : K extends 'text'
      ? string
      : K extends 'optional-uint64'
        ? bigint | undefined
        : K extends 'parameters'
          ? readonly WireValue[] | undefined
          : never;

/** The object type a field schema describes: `[['id','uint64']]` gives `{ id: bigint }`. */
export type FieldsOf<S extends FieldSchema> = {
  -readonly [F in S[number] as F[0]]: KindValue<F[1]>;
};

/** Writes `message`'s fields in schema order; `tupleSchema` is the header's schema byte. */
export function writeFields(
  writer: WordWriter,
  schema: FieldSchema,
  message: Readonly<Record<string, unknown>>,
  tupleSchema: TupleSchema,
): void {
  for (const [name, kind] of schema) {
    const value = message[name];
    switch (kind) {
      case 'uint64':
        writer.uint64(value as bigint);
        break;
      case 'int64':
        writer.int64(value as bigint);
        break;
      case 'number64':
        writer.uint64(BigInt(value as number));
        break;
      case 'uint32':
        writer.uint32(value as number);
        break;
      case 'text':
        writer.text(value as string);
        break;
      case 'optional-uint64':
        if (value !== undefined) writer.uint64(value as bigint);
        break;
      case 'parameters':
        if (value !== undefined)
          writeParameters(writer, value as readonly WireValue[], tupleSchema);
        break;
      default:
        assertNever(kind);
    }
  }
}

/** Reads fields in schema order into a fresh object; the caller checks the body is consumed. */
export function readFields(
  reader: WordReader,
  schema: FieldSchema,
  tupleSchema: TupleSchema,
  what: string,
): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  for (const [name, kind] of schema) {
    message[name] = readField(reader, kind, tupleSchema, `${what} ${name}`);
  }
  return message;
}

function readField(
  reader: WordReader,
  kind: FieldKind,
  tupleSchema: TupleSchema,
  what: string,
): unknown {
  switch (kind) {
    case 'uint64':
      return reader.uint64();
    case 'int64':
      return reader.int64();
    case 'number64':
      return safeNumber(reader.uint64(), what);
    case 'uint32':
      return reader.uint32();
    case 'text':
      return reader.text();
    case 'optional-uint64':
      return reader.remainingBytes === 0 ? undefined : reader.uint64();
    case 'parameters':
      return reader.remainingBytes === 0 ? undefined : readParameters(reader, tupleSchema);
    default:
      return assertNever(kind);
  }
}

/** A u64 that the protocol uses as a small number; beyond 2^53 it can only be garbage. */
export function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError('malformed', `${what}: ${value} is not a plausible value`);
  }
  return Number(value);
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled field kind ${String(value)}`);
}
