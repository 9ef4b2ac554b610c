import { HEADER_BYTES, NodeRole, ROWS_DONE, ROWS_PART, ResponseType, WORD_BYTES } from './codes.js';
import type { NodeRoleName, ResponseTypeName } from './codes.js';
import type { Frame } from './frame.js';
import { writeHeader } from './frame.js';
import { ProtocolError } from './protocol-error.js';
import { readFields, safeNumber, writeFields } from './schema.js';
import type { FieldSchema, FieldsOf } from './schema.js';
import { readRow, writeRow } from './tuple.js';
import type { WireValue } from './values.js';
import { WordReader } from './word-reader.js';
import { WordWriter } from './word-writer.js';

/** Responses whose body is a fixed list of fields (§6). */
const fixedResponseFields = {
  SERVER: [
    ['id', 'uint64'],
    ['address', 'text'],
  ],
  SERVER_LEGACY: [['address', 'text']],
  WELCOME: [['heartbeatTimeoutMs', 'number64']],
  DB: [
    ['db', 'uint32'],
    ['padding', 'uint32'],
  ],
  STMT: [
    ['db', 'uint32'],
    ['stmt', 'uint32'],
    ['parameterCount', 'number64'],
  ],
  RESULT: [
    ['lastInsertId', 'int64'],
    ['rowsAffected', 'number64'],
  ],
  EMPTY: [['unused', 'uint64']],
  METADATA: [
    ['failureDomain', 'uint64'],
    ['weight', 'uint64'],
  ],
} as const satisfies Record<string, FieldSchema>;

type FixedFields = typeof fixedResponseFields;
type FixedResponseName = keyof FixedFields;
type FixedResponse = {
  [N in FixedResponseName]: { type: N } & FieldsOf<FixedFields[N]>;
}[FixedResponseName];

/** A column list and rows, as carried by ROWS and by the prefix of a quirky FAILURE. */
export interface RowBatch {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly WireValue[])[];
}

/**
 * FAILURE. `partialBatch` is set when the body began with a half-built ROWS batch, which dqlite
 * 1.11 sends when SQLite fails while stepping a query (§7); `code` and `message` are then the
 * real ones that follow it.
 */
export interface FailureResponse {
  type: 'FAILURE';
  code: number;
  message: string;
  partialBatch?: RowBatch;
}

/** One ROWS batch; `more` is true for the PART marker (another ROWS message follows). */
export interface RowsResponse extends RowBatch {
  type: 'ROWS';
  more: boolean;
}

export interface ServerInfo {
  id: bigint;
  address: string;
  /** Present in CLUSTER format 1 answers only. */
  role?: NodeRoleName;
}

/** SERVERS: `format` is not on the wire; it is the format the CLUSTER request asked for. */
export interface ServersResponse {
  type: 'SERVERS';
  format: 0 | 1;
  servers: ServerInfo[];
}

export interface DumpedFile {
  name: string;
  data: Buffer;
}

export interface FilesResponse {
  type: 'FILES';
  files: DumpedFile[];
}

/** One database's digest in a CHECKSUMS answer. */
export interface DatabaseChecksum {
  name: string;
  pages: bigint;
  hash: string;
}

/** CHECKSUMS (dqlite-ts extension): what a node found at content check `index`. */
export interface ChecksumsResponse {
  type: 'CHECKSUMS';
  index: bigint;
  databases: DatabaseChecksum[];
}

export type Response =
  | FixedResponse
  | FailureResponse
  | RowsResponse
  | ServersResponse
  | FilesResponse
  | ChecksumsResponse;

export type ResponseOf<N extends ResponseTypeName> = Extract<Response, { type: N }>;

/** What a decoder needs to know that the response body does not say. */
export interface ResponseContext {
  /** The connection used the legacy handshake: type 1 is SERVER_LEGACY. */
  readonly legacy?: boolean;
  /** The CLUSTER format requested; default 1 (what go-dqlite always asks for). */
  readonly clusterFormat?: 0 | 1;
}

const roleNames = new Map<bigint, NodeRoleName>(
  Object.entries(NodeRole).map(([name, code]) => [BigInt(code), name as NodeRoleName]),
);

/** The whole message (header + body) for a response; responses always carry schema 0. */
export function encodeResponse(response: Response): Buffer {
  const writer = new WordWriter();
  writer.raw(Buffer.alloc(HEADER_BYTES));
  writeResponseBody(writer, response);
  writer.pad();
  const message = writer.finish();
  const code =
    response.type === 'SERVER_LEGACY' ? ResponseType.SERVER : ResponseType[response.type];
  writeHeader(message, code, 0, (message.length - HEADER_BYTES) / WORD_BYTES);
  return message;
}

function writeResponseBody(writer: WordWriter, response: Response): void {
  switch (response.type) {
    case 'FAILURE':
      if (response.partialBatch) writeBatch(writer, response.partialBatch);
      writer.uint64(BigInt(response.code));
      writer.text(response.message);
      return;
    case 'ROWS':
      writeBatch(writer, response);
      writer.uint64(response.more ? ROWS_PART : ROWS_DONE);
      return;
    case 'SERVERS':
      writeServers(writer, response);
      return;
    case 'FILES':
      writeFiles(writer, response);
      return;
    case 'CHECKSUMS':
      writeChecksums(writer, response);
      return;
    default:
      writeFields(writer, fixedResponseFields[response.type], response, 0);
  }
}

/** Decodes one response frame; a malformed body throws ProtocolError. */
export function decodeResponse(frame: Frame, context: ResponseContext = {}): Response {
  const reader = (what: string) => new WordReader(frame.body, `${what} response`);
  switch (frame.type) {
    case ResponseType.FAILURE:
      return readFailure(frame.body);
    case ResponseType.SERVER:
      return readFixed(reader('SERVER'), context.legacy ? 'SERVER_LEGACY' : 'SERVER');
    case ResponseType.WELCOME:
      return readFixed(reader('WELCOME'), 'WELCOME');
    case ResponseType.SERVERS:
      return readServers(reader('SERVERS'), context.clusterFormat ?? 1);
    case ResponseType.DB:
      return readFixed(reader('DB'), 'DB');
    case ResponseType.STMT:
      return readFixed(reader('STMT'), 'STMT');
    case ResponseType.RESULT:
      return readFixed(reader('RESULT'), 'RESULT');
    case ResponseType.ROWS:
      return readRows(reader('ROWS'));
    case ResponseType.EMPTY:
      return readFixed(reader('EMPTY'), 'EMPTY');
    case ResponseType.FILES:
      return readFiles(reader('FILES'));
    case ResponseType.METADATA:
      return readFixed(reader('METADATA'), 'METADATA');
    case ResponseType.CHECKSUMS:
      return readChecksums(reader('CHECKSUMS'));
    default:
      throw new ProtocolError('unknown-type', `unknown response type ${frame.type}`);
  }
}

function readFixed(reader: WordReader, name: FixedResponseName): Response {
  const fields = readFields(reader, fixedResponseFields[name], 0, `${name} response`);
  reader.end();
  return { type: name, ...fields } as Response;
}

function writeBatch(writer: WordWriter, batch: RowBatch): void {
  if (batch.columns.length === 0 && batch.rows.length > 0) {
    throw new RangeError(`${batch.rows.length} rows in a batch of 0 columns take no bytes`);
  }
  writer.uint64(BigInt(batch.columns.length));
  for (const column of batch.columns) writer.text(column);
  for (const row of batch.rows) {
    if (row.length !== batch.columns.length) {
      throw new RangeError(
        `row of ${row.length} values in a batch of ${batch.columns.length} columns`,
      );
    }
    writeRow(writer, row);
  }
}

function readColumns(reader: WordReader): string[] {
  // Every column name takes at least one word, so the count is bounded by the body.
  const columnCount = reader.count('column count');
  if (columnCount > reader.remainingWords) {
    throw new ProtocolError('truncated', `ROWS: ${columnCount} columns cannot fit the body`);
  }
  const columns = [];
  for (let index = 0; index < columnCount; index++) columns.push(reader.text());
  return columns;
}

/** The next word is an end marker: its first byte cannot start a row header (§7). */
function atMarker(reader: WordReader): boolean {
  const first = reader.peekUint8();
  return first === 0xff || first === 0xee;
}

function readRows(reader: WordReader): RowsResponse {
  const columns = readColumns(reader);
  const rows: WireValue[][] = [];
  // A row of zero columns would take zero bytes: without this check the loop could not advance.
  while (columns.length > 0 && !atMarker(reader)) rows.push(readRow(reader, columns.length));
  const marker = reader.uint64();
  if (marker !== ROWS_DONE && marker !== ROWS_PART) {
    throw new ProtocolError('malformed', `ROWS response: bad end marker 0x${marker.toString(16)}`);
  }
  reader.end();
  return { type: 'ROWS', columns, rows, more: marker === ROWS_PART };
}

/**
 * FAILURE, in both shapes: the plain (code, message), and dqlite 1.11's partial ROWS batch
 * followed by the real (code, message) with no end marker (§7, vector 28).
 */
function readFailure(body: Buffer): FailureResponse {
  const plain = tryReadFailureTail(body, 0);
  if (plain) return { type: 'FAILURE', ...plain };
  return readPrefixedFailure(body);
}

function readPrefixedFailure(body: Buffer): FailureResponse {
  const reader = new WordReader(body, 'FAILURE response (after a partial ROWS batch)');
  const columns = readColumns(reader);
  const rows: WireValue[][] = [];
  while (true) {
    const tail = tryReadFailureTail(body, reader.offset);
    if (tail) return { type: 'FAILURE', ...tail, partialBatch: { columns, rows } };
    if (columns.length === 0) break;
    rows.push(readRow(reader, columns.length));
  }
  throw new ProtocolError('malformed', 'FAILURE response: trailing bytes are not a failure');
}

/** (code, message) filling exactly the rest of the body from `offset`, or undefined. */
function tryReadFailureTail(
  body: Buffer,
  offset: number,
): { code: number; message: string } | undefined {
  const tail = new WordReader(body.subarray(offset), 'FAILURE tail');
  try {
    const code = safeNumber(tail.uint64(), 'FAILURE code');
    const message = tail.text();
    return tail.remainingBytes === 0 ? { code, message } : undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return undefined; // not the tail yet: more rows follow
    throw error;
  }
}

function writeServers(writer: WordWriter, response: ServersResponse): void {
  writer.uint64(BigInt(response.servers.length));
  for (const server of response.servers) {
    writer.uint64(server.id);
    writer.text(server.address);
    if (response.format === 1) writer.uint64(BigInt(NodeRole[server.role ?? 'voter']));
  }
}

function readServers(reader: WordReader, format: 0 | 1): ServersResponse {
  const count = reader.count('server count');
  const wordsPerServer = format === 1 ? 3 : 2;
  if (count * wordsPerServer > reader.remainingWords) {
    throw new ProtocolError('truncated', `SERVERS response: ${count} servers cannot fit the body`);
  }
  const servers: ServerInfo[] = [];
  for (let index = 0; index < count; index++) {
    const id = reader.uint64();
    const address = reader.text();
    if (format === 0) {
      servers.push({ id, address });
      continue;
    }
    const roleCode = reader.uint64();
    const role = roleNames.get(roleCode);
    if (role === undefined) {
      throw new ProtocolError('malformed', `SERVERS response: unknown role ${roleCode}`);
    }
    servers.push({ id, address, role });
  }
  reader.end();
  return { type: 'SERVERS', format, servers };
}

function writeFiles(writer: WordWriter, response: FilesResponse): void {
  writer.uint64(BigInt(response.files.length));
  for (const file of response.files) {
    writer.text(file.name);
    writer.uint64(BigInt(file.data.length));
    writer.raw(file.data);
    writer.pad();
  }
}

/** CHECKSUMS: index, a count, then name, pages and hash per database. */
function writeChecksums(writer: WordWriter, response: ChecksumsResponse): void {
  writer.uint64(response.index);
  writer.uint64(BigInt(response.databases.length));
  for (const database of response.databases) {
    writer.text(database.name);
    writer.uint64(database.pages);
    writer.text(database.hash);
  }
}

function readChecksums(reader: WordReader): ChecksumsResponse {
  const index = reader.uint64();
  const count = reader.count('database count');
  if (count * 3 > reader.remainingWords) {
    throw new ProtocolError('truncated', `CHECKSUMS response: ${count} databases cannot fit`);
  }
  const databases: DatabaseChecksum[] = [];
  for (let i = 0; i < count; i++) {
    databases.push({ name: reader.text(), pages: reader.uint64(), hash: reader.text() });
  }
  reader.end();
  return { type: 'CHECKSUMS', index, databases };
}

/** FILES: raw file bytes follow their size directly, no second length word (§6.1 DUMP). */
function readFiles(reader: WordReader): FilesResponse {
  const count = reader.count('file count');
  if (count * 2 > reader.remainingWords) {
    throw new ProtocolError('truncated', `FILES response: ${count} files cannot fit the body`);
  }
  const files: DumpedFile[] = [];
  for (let index = 0; index < count; index++) {
    const name = reader.text();
    const size = reader.count('file size');
    files.push({ name, data: reader.raw(size) });
    reader.skipPadding();
  }
  reader.end();
  return { type: 'FILES', files };
}
