import { HEADER_BYTES, RequestType, WORD_BYTES, requestTypeName } from './codes.js';
import type { RequestTypeName } from './codes.js';
import type { Frame } from './frame.js';
import { writeHeader } from './frame.js';
import { ProtocolError } from './protocol-error.js';
import { readFields, writeFields } from './schema.js';
import type { FieldSchema, FieldsOf } from './schema.js';
import type { TupleSchema } from './tuple.js';
import { WordReader } from './word-reader.js';
import { WordWriter } from './word-writer.js';

/** Body layouts of every request (§6), schema 0. Field names follow the reference. */
const requestFields = {
  LEADER: [['unused', 'uint64']],
  CLIENT: [['id', 'uint64']],
  HEARTBEAT: [['timestamp', 'uint64']],
  OPEN: [
    ['name', 'text'],
    ['flags', 'uint64'],
    ['vfs', 'text'],
  ],
  PREPARE: [
    ['db', 'uint64'],
    ['sql', 'text'],
  ],
  EXEC: [
    ['db', 'uint32'],
    ['stmt', 'uint32'],
    ['parameters', 'parameters'],
  ],
  QUERY: [
    ['db', 'uint32'],
    ['stmt', 'uint32'],
    ['parameters', 'parameters'],
  ],
  FINALIZE: [
    ['db', 'uint32'],
    ['stmt', 'uint32'],
  ],
  EXEC_SQL: [
    ['db', 'uint64'],
    ['sql', 'text'],
    ['parameters', 'parameters'],
  ],
  QUERY_SQL: [
    ['db', 'uint64'],
    ['sql', 'text'],
    ['parameters', 'parameters'],
  ],
  INTERRUPT: [['db', 'uint64']],
  CONNECT: [
    ['id', 'uint64'],
    ['address', 'text'],
  ],
  ADD: [
    ['id', 'uint64'],
    ['address', 'text'],
  ],
  // The one-field form is the old "promote to voter" request (§6.1 ASSIGN).
  ASSIGN: [
    ['id', 'uint64'],
    ['role', 'optional-uint64'],
  ],
  REMOVE: [['id', 'uint64']],
  DUMP: [['name', 'text']],
  CLUSTER: [['format', 'uint64']],
  TRANSFER: [['id', 'uint64']],
  DESCRIBE: [['format', 'uint64']],
  WEIGHT: [['weight', 'uint64']],
  CHECK: [['index', 'uint64']],
  READ_CONSISTENCY: [
    ['mode', 'uint64'],
    ['maxStalenessMs', 'uint64'],
  ],
  DIVERGED: [
    ['index', 'uint64'],
    ['reason', 'text'],
  ],
} as const satisfies Record<RequestTypeName, FieldSchema>;

type RequestFields = typeof requestFields;

/**
 * A decoded request. `schema` is the header's byte 5: it selects the parameter tuple layout
 * (0, the default and the only one dqlite 1.11 understands, or 1) and is otherwise carried as is.
 */
export type Request = {
  [N in RequestTypeName]: { type: N; schema?: number } & FieldsOf<RequestFields[N]>;
}[RequestTypeName];

export type RequestOf<N extends RequestTypeName> = Extract<Request, { type: N }>;

/** The whole message (header + body) for a request. */
export function encodeRequest(request: Request): Buffer {
  const schema = request.schema ?? 0;
  const writer = new WordWriter();
  writer.raw(Buffer.alloc(HEADER_BYTES)); // filled in once the body length is known
  writeFields(writer, requestFields[request.type], request, tupleSchemaOf(schema));
  writer.pad();
  const message = writer.finish();
  writeHeader(
    message,
    RequestType[request.type],
    schema,
    (message.length - HEADER_BYTES) / WORD_BYTES,
  );
  return message;
}

/** Decodes one request frame; a malformed body throws ProtocolError. */
export function decodeRequest(frame: Frame): Request {
  const name = requestTypeName(frame.type);
  if (name === undefined) {
    throw new ProtocolError('unknown-type', `unknown request type ${frame.type}`);
  }
  const what = `${name} request`;
  const reader = new WordReader(frame.body, what);
  const fields = readFields(reader, requestFields[name], tupleSchemaOf(frame.schema), what);
  reader.end();
  return { type: name, schema: frame.schema, ...fields } as Request;
}

/** Schema 1 selects the u32-count tuple; any other value reads as schema 0, like dqlite does. */
function tupleSchemaOf(schema: number): TupleSchema {
  return schema === 1 ? 1 : 0;
}
