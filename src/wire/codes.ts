import { ResultCode } from './result-codes.js';

/**
 * Numeric codes of Dqlite protocol version 1, named as in docs/wire-protocol.md so a
 * reader can search from one to the other.
 */

/** The handshake word a client sends first (§2). */
export const PROTOCOL_VERSION = 1n;
/** The pre-1.0 handshake word; the server then answers LEADER with SERVER_LEGACY (§2, §6.1). */
export const PROTOCOL_VERSION_LEGACY = 0x86104dd760433fe5n;

/** Bytes in a protocol word: every body and every padded field is a multiple of it (§1). */
export const WORD_BYTES = 8;
/** Bytes in a message header (§3). */
export const HEADER_BYTES = 8;

export const RequestType = {
  LEADER: 0,
  CLIENT: 1,
  HEARTBEAT: 2,
  OPEN: 3,
  PREPARE: 4,
  EXEC: 5,
  QUERY: 6,
  FINALIZE: 7,
  EXEC_SQL: 8,
  QUERY_SQL: 9,
  INTERRUPT: 10,
  CONNECT: 11,
  ADD: 12,
  ASSIGN: 13,
  REMOVE: 14,
  DUMP: 15,
  CLUSTER: 16,
  TRANSFER: 17,
  DESCRIBE: 18,
  WEIGHT: 19,
  /**
   * A dqlite-ts extension, not in protocol 1: a content check (index 0 asks the leader to start
   * one; any other index asks a node for what it found at that index). C dqlite answers FAILURE.
   */
  CHECK: 128,
  /**
   * A dqlite-ts extension: the leader tells a node that its content check at `index` differed
   * from the majority's; the node will never lead again (until its data is replaced).
   */
  DIVERGED: 129,
  /**
   * A dqlite-ts extension: how this connection's queries may be served when the node does not
   * lead (reads served by followers; docs/reads.md). C dqlite answers FAILURE, and the client
   * then reads from the leader.
   */
  READ_CONSISTENCY: 130,
} as const;
export type RequestTypeName = keyof typeof RequestType;

/**
 * READ_CONSISTENCY's modes (docs/reads.md): `leader` (the default: a node that does not lead
 * answers queries with NOT_LEADER, as dqlite does), `readIndex` (a follower serves a query once it
 * applied what the leader had committed when it was asked: linearizable) and `bounded` (a follower
 * serves it at once when it applied everything acknowledged up to `maxStalenessMs` ago).
 */
export const ReadConsistencyMode = { leader: 0, readIndex: 1, bounded: 2 } as const;

export const ResponseType = {
  FAILURE: 0,
  SERVER: 1, // SERVER_LEGACY shares the code; the handshake version tells them apart
  WELCOME: 2,
  SERVERS: 3,
  DB: 4,
  STMT: 5,
  RESULT: 6,
  ROWS: 7,
  EMPTY: 8,
  FILES: 9,
  METADATA: 10,
  /** The answer to CHECK (a dqlite-ts extension): each database's size and hash at an index. */
  CHECKSUMS: 128,
} as const;
export type ResponseTypeName = keyof typeof ResponseType | 'SERVER_LEGACY';

/** Type codes of values in parameter and row tuples (§5.1). */
export const ValueType = {
  INTEGER: 1,
  FLOAT: 2,
  TEXT: 3,
  BLOB: 4,
  NULL: 5,
  UNIXTIME: 9,
  ISO8601: 10,
  BOOLEAN: 11,
} as const;
export type ValueTypeName = keyof typeof ValueType;
export type ValueTypeCode = (typeof ValueType)[ValueTypeName];

/** End-of-batch markers of a ROWS message (§7). */
export const ROWS_DONE = 0xffffffffffffffffn;
export const ROWS_PART = 0xeeeeeeeeeeeeeeeen;

/** Node roles in CLUSTER format 1 and ASSIGN (§10). */
export const NodeRole = { voter: 0, standby: 1, spare: 2 } as const;
export type NodeRoleName = keyof typeof NodeRole;

/**
 * The failure codes the protocol's own requests answer with (§8); SQLite result codes pass through
 * unchanged. A subset of `ResultCode`, the table their numbers come from.
 */
export const ErrorCode = {
  SQLITE_ERROR: ResultCode.SQLITE_ERROR,
  SQLITE_BUSY: ResultCode.SQLITE_BUSY,
  SQLITE_NOTFOUND: ResultCode.SQLITE_NOTFOUND,
  SQLITE_FULL: ResultCode.SQLITE_FULL,
  SQLITE_CANTOPEN: ResultCode.SQLITE_CANTOPEN,
  SQLITE_PROTOCOL: ResultCode.SQLITE_PROTOCOL,
  SQLITE_TOOBIG: ResultCode.SQLITE_TOOBIG,
  SQLITE_CONSTRAINT: ResultCode.SQLITE_CONSTRAINT,
  SQLITE_MISUSE: ResultCode.SQLITE_MISUSE,
  SQLITE_AUTH: ResultCode.SQLITE_AUTH,
  SQLITE_RANGE: ResultCode.SQLITE_RANGE,
  SQLITE_ROW: ResultCode.SQLITE_ROW,
  DQLITE_PARSE: ResultCode.DQLITE_PARSE,
  SQLITE_IOERR_NOT_LEADER: ResultCode.SQLITE_IOERR_NOT_LEADER,
  SQLITE_IOERR_LEADERSHIP_LOST: ResultCode.SQLITE_IOERR_LEADERSHIP_LOST,
  SQLITE_IOERR_NOT_LEADER_LEGACY: ResultCode.SQLITE_IOERR_NOT_LEADER_LEGACY,
  SQLITE_IOERR_LEADERSHIP_LOST_LEGACY: ResultCode.SQLITE_IOERR_LEADERSHIP_LOST_LEGACY,
} as const;

const requestNames = new Map<number, RequestTypeName>(
  Object.entries(RequestType).map(([name, code]) => [code, name as RequestTypeName]),
);
const valueTypeNames = new Map<number, ValueTypeName>(
  Object.entries(ValueType).map(([name, code]) => [code, name as ValueTypeName]),
);

/** The request name of a type code, or undefined for a code protocol 1 does not define. */
export function requestTypeName(code: number): RequestTypeName | undefined {
  return requestNames.get(code);
}

/** The value type name of a type code, or undefined for a code protocol 1 does not define. */
export function valueTypeName(code: number): ValueTypeName | undefined {
  return valueTypeNames.get(code);
}
