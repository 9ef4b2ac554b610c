import {
  NodeRole,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_LEGACY,
  ValueType,
  valueTypeName,
} from '../../../src/wire/index.js';
import type {
  FailureResponse,
  Frame,
  Request,
  Response,
  RowBatch,
  ServersResponse,
  WireValue,
} from '../../../src/wire/index.js';

/**
 * Renders decoded messages in the grammar of the `note` field of the captured vectors, so a
 * test can compare our decoding with the capture tool's, character for character. The grammar
 * was read off the vector files; the rules the files do not pin down are named constants.
 */

/**
 * Strings longer than this are shortened to their first SHORTENED_PREFIX_CHARS characters and
 * `...(N chars)`. The vectors show a 62-character string in full and a 94-character one
 * shortened, so any threshold from 62 to 93 reproduces them; 80 is the assumption.
 */
const STRING_CHARS_MAX = 80;
const SHORTENED_PREFIX_CHARS = 24;
/**
 * ROWS notes list every row up to this many and otherwise the first two, `...` and the last.
 * The vectors show 3 rows in full and 155 rows abbreviated; no batch has 4 to 154 rows.
 */
const ROWS_LISTED_MAX = 3;
/** Integers beyond 2^53 appear as strings in notes (README, vector format). */
const SAFE_INTEGER_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Capture annotations describe how the line was stored, not the message (`[middle batch: ...]`,
 * `[large message: ...]`): the message alone cannot tell them apart, so they are removed before
 * comparing. The FAILURE quirk annotation of file 28 is about the message and is rendered.
 */
export function stripCaptureAnnotation(note: string): string {
  return note.replace(/ \[(middle batch|large message): bytes summarized[^\]]*\]$/, '');
}

export function renderHandshakeNote(version: bigint): string {
  if (version === PROTOCOL_VERSION) return 'handshake: protocol version 1';
  if (version === PROTOCOL_VERSION_LEGACY) {
    return `handshake: protocol version LEGACY ${hex(version)}`;
  }
  return `handshake: protocol version ${hex(version)}`;
}

/** The note of a request whose type code this codec does not know (file 15, type 99). */
export function renderUnknownRequestNote(frame: Frame): string {
  return `UNKNOWN request ${headerOf(frame)}`;
}

export function renderRequestNote(frame: Frame, request: Request): string {
  return `${request.type} request ${headerOf(frame)} ${requestFields(request)}`;
}

export function renderResponseNote(frame: Frame, response: Response): string {
  // SERVER_LEGACY is a form of SERVER: the note keeps the header's name and says so after it.
  const name = response.type === 'SERVER_LEGACY' ? 'SERVER' : response.type;
  return `${name} response ${headerOf(frame)} ${responseFields(response)}`;
}

function headerOf(frame: Frame): string {
  return `(words=${frame.body.length / 8} type=${frame.type} schema=${frame.schema})`;
}

function requestFields(request: Request): string {
  switch (request.type) {
    case 'LEADER':
      return `unused=${request.unused}`;
    case 'CLIENT':
      return `client id=${request.id}`;
    case 'HEARTBEAT':
      return `timestamp=${request.timestamp}`;
    case 'OPEN':
      return `name=${quote(request.name)} flags=${request.flags} vfs=${quote(request.vfs)}`;
    case 'PREPARE':
      return `db=${request.db} sql=${quote(request.sql)}`;
    case 'EXEC':
    case 'QUERY':
      return `db=${request.db} stmt=${request.stmt} ${parametersOf(request.parameters)}`;
    case 'FINALIZE':
      return `db=${request.db} stmt=${request.stmt}`;
    case 'EXEC_SQL':
    case 'QUERY_SQL':
      return `db=${request.db} sql=${quote(request.sql)} ${parametersOf(request.parameters)}`;
    case 'INTERRUPT':
      return `db=${request.db}`;
    case 'CONNECT':
    case 'ADD':
      return `id=${hex(request.id)} address=${quote(request.address)}`;
    case 'ASSIGN':
      return request.role === undefined
        ? `id=${hex(request.id)}`
        : `id=${hex(request.id)} role=${request.role}`;
    case 'REMOVE':
    case 'TRANSFER':
      return `id=${hex(request.id)}`;
    case 'DUMP':
      return `name=${quote(request.name)}`;
    case 'CLUSTER':
    case 'DESCRIBE':
      return `format=${request.format}`;
    case 'WEIGHT':
      return `weight=${request.weight}`;
    case 'CHECK':
      return `index=${request.index}`;
    case 'DIVERGED':
      return `index=${request.index} reason=${quote(request.reason)}`;
    case 'READ_CONSISTENCY':
      return `mode=${request.mode} maxStalenessMs=${request.maxStalenessMs}`;
    default:
      return assertNever(request);
  }
}

function responseFields(response: Response): string {
  switch (response.type) {
    case 'FAILURE':
      return failureFields(response);
    case 'SERVER':
      return `id=${hex(response.id)} address=${quote(response.address)}`;
    case 'SERVER_LEGACY':
      return `(SERVER_LEGACY form) address=${quote(response.address)}`;
    case 'WELCOME':
      return `heartbeat_timeout=${response.heartbeatTimeoutMs}`;
    case 'SERVERS':
      return serversFields(response);
    case 'DB':
      return `db_id=${response.db} pad=${response.padding}`;
    case 'STMT':
      return `db_id=${response.db} stmt_id=${response.stmt} params=${response.parameterCount}`;
    case 'RESULT':
      return `last_insert_id=${response.lastInsertId} rows_affected=${response.rowsAffected}`;
    case 'ROWS': {
      const end = response.more ? 'PART (more batches follow)' : 'DONE';
      return `${columnsOf(response)} rows=${response.rows.length} end=${end} values=${rowsOf(response)}`;
    }
    case 'EMPTY':
      return `unused=${response.unused}`;
    case 'FILES': {
      const files = response.files.map((file) => `${file.name}:${file.data.length} bytes`);
      return `n=${response.files.length} files=[${files.join(', ')}]`;
    }
    case 'METADATA':
      return `failure_domain=${response.failureDomain} weight=${response.weight}`;
    case 'CHECKSUMS': {
      const databases = response.databases.map((d) => `${d.name}:${d.pages}:${d.hash}`);
      return `index=${response.index} databases=[${databases.join(', ')}]`;
    }
    default:
      return assertNever(response);
  }
}

/** The quirk annotation names what a decoder unaware of it would read (docs/wire-protocol.md §7). */
function failureFields(response: FailureResponse): string {
  const plain = `code=${response.code} message=${quote(response.message)}`;
  const batch = response.partialBatch;
  if (!batch) return plain;
  const naive = `code=${batch.columns.length} message=${quote(batch.columns[0] ?? '')}`;
  return (
    `${plain} [dqlite 1.11 quirk: the body starts with a partial ROWS batch ` +
    `(${columnsOf(batch)}, ${batch.rows.length} rows, no end marker) before the real code and ` +
    `message; a plain decoder would read ${naive}]`
  );
}

function serversFields(response: ServersResponse): string {
  const layout = response.format === 0 ? 'format 0: id,address' : 'format 1: id,address,role';
  const servers = response.servers.map((server) => {
    const fields = [`"id":${JSON.stringify(hex(server.id))}`, `"address":${quote(server.address)}`];
    if (response.format === 1) fields.push(`"role":${NodeRole[server.role ?? 'voter']}`);
    return `{${fields.join(',')}}`;
  });
  return `n=${response.servers.length} (${layout}) [${servers.join(',')}]`;
}

function parametersOf(parameters: readonly WireValue[] | undefined): string {
  if (parameters === undefined) return 'no params tuple';
  const types = parameters.map((value) => valueTypeName(value.type) ?? String(value.type));
  return (
    `params(n=${parameters.length}, types=[${types.join(',')}]) ` +
    `values=[${parameters.map(valueOf).join(',')}]`
  );
}

function columnsOf(batch: RowBatch): string {
  return `columns=[${batch.columns.map(quote).join(',')}]`;
}

function rowsOf(batch: RowBatch): string {
  const row = (values: readonly WireValue[]): string => `[${values.map(valueOf).join(',')}]`;
  const { rows } = batch;
  if (rows.length <= ROWS_LISTED_MAX) return `[${rows.map(row).join(',')}]`;
  const [first, second] = rows;
  const last = rows[rows.length - 1];
  return `[${row(first ?? [])},${row(second ?? [])}] ... [${row(last ?? [])}]`;
}

/** One value as the notes show it: JSON, with the tagged types as one-key objects. */
export function valueOf(value: WireValue): string {
  switch (value.type) {
    case ValueType.INTEGER:
      return integerOf(value.value);
    case ValueType.FLOAT:
      return String(value.value);
    case ValueType.TEXT:
      return quote(value.value);
    case ValueType.BLOB:
      return `{"blob":"${Buffer.from(value.value).toString('hex')}"}`;
    case ValueType.NULL:
      return 'null';
    case ValueType.UNIXTIME:
      return `{"unixtime":${integerOf(value.value)}}`;
    case ValueType.ISO8601:
      return `{"iso8601":${quote(value.value)}}`;
    case ValueType.BOOLEAN:
      return String(value.value);
    default:
      return assertNever(value);
  }
}

function integerOf(value: bigint): string {
  const magnitude = value < 0n ? -value : value;
  return magnitude > SAFE_INTEGER_MAX ? `"${value}"` : String(value);
}

function quote(text: string): string {
  const shortened =
    text.length > STRING_CHARS_MAX
      ? `${text.slice(0, SHORTENED_PREFIX_CHARS)}...(${text.length} chars)`
      : text;
  return JSON.stringify(shortened);
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

function assertNever(value: never): never {
  throw new TypeError(`unhandled message ${String(value)}`);
}
