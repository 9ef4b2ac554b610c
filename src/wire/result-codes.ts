/**
 * The result codes a FAILURE carries (docs/wire-protocol.md §8): SQLite's, which pass through
 * unchanged, and Dqlite's own. This is the one table of their numbers, by the names sqlite3.h and
 * dqlite give them (the names better-sqlite3 reports in `SqliteError.code`); the server maps
 * names to numbers with it and the client numbers to names. An extended code is its primary code
 * plus a variant in the high byte, so `code & 0xff` is the primary code.
 */

/** SQLite's primary result codes that report an error (sqlite3.h), in numeric order. */
export const SqlitePrimaryCode = {
  SQLITE_ERROR: 1,
  SQLITE_INTERNAL: 2,
  SQLITE_PERM: 3,
  SQLITE_ABORT: 4,
  SQLITE_BUSY: 5,
  SQLITE_LOCKED: 6,
  SQLITE_NOMEM: 7,
  SQLITE_READONLY: 8,
  SQLITE_INTERRUPT: 9,
  SQLITE_IOERR: 10,
  SQLITE_CORRUPT: 11,
  SQLITE_NOTFOUND: 12,
  SQLITE_FULL: 13,
  SQLITE_CANTOPEN: 14,
  SQLITE_PROTOCOL: 15,
  SQLITE_EMPTY: 16,
  SQLITE_SCHEMA: 17,
  SQLITE_TOOBIG: 18,
  SQLITE_CONSTRAINT: 19,
  SQLITE_MISMATCH: 20,
  SQLITE_MISUSE: 21,
  SQLITE_NOLFS: 22,
  SQLITE_AUTH: 23,
  SQLITE_FORMAT: 24,
  SQLITE_RANGE: 25,
  SQLITE_NOTADB: 26,
} as const;

/** SQLite's extended result codes known here by name; any other is known by its primary code. */
export const SqliteExtendedCode = {
  SQLITE_ERROR_MISSING_COLLSEQ: 257,
  SQLITE_ERROR_RETRY: 513,
  SQLITE_ERROR_SNAPSHOT: 769,
  SQLITE_BUSY_RECOVERY: 261,
  SQLITE_BUSY_SNAPSHOT: 517,
  SQLITE_BUSY_TIMEOUT: 773,
  SQLITE_LOCKED_SHAREDCACHE: 262,
  SQLITE_ABORT_ROLLBACK: 516,
  SQLITE_READONLY_RECOVERY: 264,
  SQLITE_READONLY_CANTLOCK: 520,
  SQLITE_READONLY_ROLLBACK: 776,
  SQLITE_READONLY_DBMOVED: 1032,
  SQLITE_CONSTRAINT_CHECK: 275,
  SQLITE_CONSTRAINT_COMMITHOOK: 531,
  SQLITE_CONSTRAINT_FOREIGNKEY: 787,
  SQLITE_CONSTRAINT_FUNCTION: 1043,
  SQLITE_CONSTRAINT_NOTNULL: 1299,
  SQLITE_CONSTRAINT_PRIMARYKEY: 1555,
  SQLITE_CONSTRAINT_TRIGGER: 1811,
  SQLITE_CONSTRAINT_UNIQUE: 2067,
  SQLITE_CONSTRAINT_VTAB: 2323,
  SQLITE_CONSTRAINT_ROWID: 2579,
  SQLITE_CONSTRAINT_PINNED: 2835,
  SQLITE_CONSTRAINT_DATATYPE: 3091,
} as const;

/** The codes of a step that did not fail: a row is ready, or the statement is done. */
const sqliteStepCodes = {
  SQLITE_ROW: 100,
  SQLITE_DONE: 101,
} as const;

/**
 * Dqlite's own codes. The replication failures are extended codes of SQLITE_IOERR; the legacy
 * pair is not sent by dqlite 1.11.1, but go-dqlite still treats them like the current pair.
 */
const dqliteCodes = {
  /** No real code: what dqlite sends for "empty statement". */
  DQLITE_NO_CODE: 0,
  /** A parameter tuple could not be decoded. */
  DQLITE_PARSE: 1005,
  /** SQLITE_IOERR | (40 << 8): the request needs the leader and this node is not it. */
  SQLITE_IOERR_NOT_LEADER: 10250,
  /** SQLITE_IOERR | (41 << 8): leadership was lost while the write was in flight. */
  SQLITE_IOERR_LEADERSHIP_LOST: 10506,
  /** SQLITE_IOERR | (32 << 8): the legacy SQLITE_IOERR_NOT_LEADER. */
  SQLITE_IOERR_NOT_LEADER_LEGACY: 8202,
  /** SQLITE_IOERR | (33 << 8): the legacy SQLITE_IOERR_LEADERSHIP_LOST. */
  SQLITE_IOERR_LEADERSHIP_LOST_LEGACY: 8458,
} as const;

/**
 * Every result code above, by name.
 *
 * @example
 * if (failure.code === ResultCode.SQLITE_IOERR_NOT_LEADER) reconnect();
 */
export const ResultCode = {
  ...dqliteCodes,
  ...SqlitePrimaryCode,
  ...sqliteStepCodes,
  ...SqliteExtendedCode,
} as const;
export type ResultCodeName = keyof typeof ResultCode;
