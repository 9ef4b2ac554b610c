import { ErrorCode, ResultCode } from '../../src/wire/index.js';
import type { ResultCodeName } from '../../src/wire/index.js';

/**
 * The wire's table of result codes, for the layers above the client, which do not import
 * src/wire (docs/architecture.md, "Layering").
 */
export { ResultCode } from '../../src/wire/index.js';

/**
 * Codes of the table that `codeName` does not call by their own name: an extended one is named
 * by its primary code, a primary one `CODE_<n>`. Kept so the names errors carry stay as they
 * were; naming these too would change `code`/`extendedCode` for them.
 */
const codesNamedOtherwise: ReadonlySet<ResultCodeName> = new Set<ResultCodeName>([
  'SQLITE_EMPTY',
  'SQLITE_NOLFS',
  'SQLITE_FORMAT',
  'SQLITE_ERROR_MISSING_COLLSEQ',
  'SQLITE_ERROR_RETRY',
  'SQLITE_ERROR_SNAPSHOT',
  'SQLITE_LOCKED_SHAREDCACHE',
  'SQLITE_ABORT_ROLLBACK',
  'SQLITE_READONLY_RECOVERY',
  'SQLITE_READONLY_CANTLOCK',
  'SQLITE_READONLY_ROLLBACK',
  'SQLITE_READONLY_DBMOVED',
  'SQLITE_CONSTRAINT_PINNED',
  'SQLITE_CONSTRAINT_DATATYPE',
]);

/** The legacy replication codes are named as the current ones they stand for. */
const legacyNames: ReadonlyMap<number, string> = new Map([
  [ResultCode.SQLITE_IOERR_NOT_LEADER_LEGACY, 'SQLITE_IOERR_NOT_LEADER'],
  [ResultCode.SQLITE_IOERR_LEADERSHIP_LOST_LEGACY, 'SQLITE_IOERR_LEADERSHIP_LOST'],
]);

/** Names of the result codes a Dqlite node sends, primary and extended, for error texts. */
const codeNames: ReadonlyMap<number, string> = new Map<number, string>(
  Object.entries(ResultCode)
    .filter(([name]) => !codesNamedOtherwise.has(name as ResultCodeName))
    .map(([name, code]) => [code, legacyNames.get(code) ?? name]),
);

/** The symbolic name of a result code, e.g. 1555 → "SQLITE_CONSTRAINT_PRIMARYKEY". */
export function codeName(code: number): string {
  return codeNames.get(code) ?? codeNames.get(code & 0xff) ?? `CODE_${code}`;
}

/** Dqlite's own codes, which are not SQLite result codes and have no primary part. */
const DQLITE_CODES: ReadonlySet<number> = new Set([
  ResultCode.DQLITE_NO_CODE,
  ResultCode.DQLITE_PARSE,
]);

/** The primary result code of a code: its low byte (SQLite's rule), or itself for Dqlite's own. */
export function primaryCode(code: number): number {
  return DQLITE_CODES.has(code) ? code : code & 0xff;
}

/** Where an error happened: which node and which request. */
export interface ErrorOrigin {
  /** The node's address, "host:port". */
  readonly address: string;
  /** The protocol request that failed, e.g. "EXEC_SQL". */
  readonly request: string;
}

/**
 * A failure the node reported (a FAILURE response), shaped as SQLite errors are in Node's SQLite
 * drivers, so the checks applications already write keep working:
 * - `code`: the primary result code's name, `'SQLITE_CONSTRAINT'`, as node-sqlite3 sets it
 *   (`code.startsWith('SQLITE_CONSTRAINT')` holds for better-sqlite3's codes too);
 * - `extendedCode`: the extended code's name, `'SQLITE_CONSTRAINT_UNIQUE'` (what better-sqlite3
 *   puts in `code`), equal to `code` when the node sent no extension;
 * - `errno`: the primary code's number, 19 (node-sqlite3's `errno`);
 * - `rawCode`: the number the node sent, 2067 (the name @libsql/client gives it);
 * - `message`: `"SQLITE_CONSTRAINT: UNIQUE constraint failed: t.a"`, as node-sqlite3 words
 *   it; `sqliteMessage` is SQLite's own text alone, as better-sqlite3's `message`;
 * - `address` and `request`: the node that answered and the protocol request that failed.
 */
export class DqliteError extends Error {
  override name = 'DqliteError';
  readonly code: string;
  readonly extendedCode: string;
  readonly errno: number;
  readonly rawCode: number;
  readonly sqliteMessage: string;
  readonly address: string;
  readonly request: string;

  constructor(rawCode: number, sqliteMessage: string, origin: ErrorOrigin) {
    const code = codeName(primaryCode(rawCode));
    super(`${code}: ${sqliteMessage}`);
    this.code = code;
    this.extendedCode = codeName(rawCode);
    this.errno = primaryCode(rawCode);
    this.rawCode = rawCode;
    this.sqliteMessage = sqliteMessage;
    this.address = origin.address;
    this.request = origin.request;
  }
}

/** The node is not the leader (10250): retry against the current leader. */
export class NotLeaderError extends DqliteError {
  override name = 'NotLeaderError';
}

/**
 * Leadership was lost while the request was in flight (10506): the write did not commit on this
 * node; whether a new leader has it is unknown until it is read back.
 */
export class LeadershipLostError extends DqliteError {
  override name = 'LeadershipLostError';
}

/** SQLITE_BUSY and its extended codes. */
export class BusyError extends DqliteError {
  override name = 'BusyError';
}

/** SQLITE_CONSTRAINT and its extended codes (unique, primary key, not null, ...). */
export class ConstraintError extends DqliteError {
  override name = 'ConstraintError';
}

/** Maps a FAILURE to the most specific error class. */
export function errorFromFailure(code: number, message: string, origin: ErrorOrigin): DqliteError {
  if (
    code === ErrorCode.SQLITE_IOERR_NOT_LEADER ||
    code === ErrorCode.SQLITE_IOERR_NOT_LEADER_LEGACY
  ) {
    return new NotLeaderError(code, message, origin);
  }
  if (
    code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST ||
    code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST_LEGACY
  ) {
    return new LeadershipLostError(code, message, origin);
  }
  if ((code & 0xff) === ErrorCode.SQLITE_BUSY) return new BusyError(code, message, origin);
  if ((code & 0xff) === ErrorCode.SQLITE_CONSTRAINT)
    return new ConstraintError(code, message, origin);
  return new DqliteError(code, message, origin);
}

/**
 * The connection errors are the wire connection's (src/wire/connection-error.ts), which the node
 * uses too; the client exports them.
 */
export {
  ConnectionError,
  HandshakeError,
  NotDqliteError,
  TimeoutError,
} from '../../src/wire/connection-error.js';

/** What one node said when asked for the leader. */
export interface LeaderAttempt {
  readonly address: string;
  readonly outcome: string;
}

/**
 * No node named a reachable leader within the time allowed, or the search stopped early because
 * no node accepted a connection at all (`why` says so). `attempts` holds each node's last answer.
 */
export class NoLeaderError extends Error {
  override name = 'NoLeaderError';
  readonly attempts: readonly LeaderAttempt[];
  /** True when the search stopped early: no node accepted a connection at all. */
  readonly unreachable: boolean;

  constructor(attempts: readonly LeaderAttempt[], elapsedMs: number, why?: string) {
    const lines = attempts.map((attempt) => `  ${attempt.address}: ${attempt.outcome}`);
    const headline = why ?? `no leader found in ${elapsedMs} ms`;
    super(`${headline}; last answers:\n${lines.join('\n')}`);
    this.attempts = attempts;
    this.unreachable = why !== undefined;
  }
}

/** The client was used after close(), or a statement after finalize(). */
export class ClosedError extends Error {
  override name = 'ClosedError';
}

/**
 * The node does not serve reads while it does not lead: it does not know the READ_CONSISTENCY
 * request (canonical's C dqlite) or refused the choice. Read from the leader instead.
 */
export class ReadsUnsupportedError extends Error {
  override name = 'ReadsUnsupportedError';
  readonly address: string;

  constructor(address: string, answer: string) {
    super(`${address} does not serve reads from followers (it answered: ${answer})`);
    this.address = address;
  }
}
