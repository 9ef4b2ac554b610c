import Database from 'better-sqlite3';
import { ErrorCode } from '../../wire/index.js';
import type { EngineOutcome } from './engine-messages.js';
import { sqliteCodeNumber } from './sqlite-codes.js';

/**
 * A request the engine could not serve, with the code and message the client gets in FAILURE
 * (docs/wire-protocol.md §8). Thrown inside the engine and turned into a reply; never crosses a socket
 * as an exception.
 */
export class EngineFailure extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'EngineFailure';
    this.code = code;
  }
}

/** The failure a client sees for an error SQLite or better-sqlite3 raised. */
export function failureOf(error: unknown): EngineFailure {
  if (error instanceof EngineFailure) return error;
  if (error instanceof Database.SqliteError) {
    return new EngineFailure(sqliteCodeNumber(error.code), explained(error.message));
  }
  if (error instanceof RangeError || error instanceof TypeError) {
    // better-sqlite3's own checks: a value it cannot bind, or a statement used wrongly.
    return new EngineFailure(ErrorCode.SQLITE_ERROR, error.message);
  }
  throw error;
}

/** The FAILURE outcome a request gets for `error` (failureOf). */
export function failureOutcome(error: unknown): EngineOutcome {
  const failure = failureOf(error);
  return { ok: false, code: failure.code, message: failure.message };
}

/**
 * SQLite's hint for a double-quoted string literal, completed: better-sqlite3 builds SQLite with
 * SQLITE_DQS=0 and offers no way to turn it back on per connection, so dqlite-ts cannot accept
 * what C dqlite and node-sqlite3 accept (docs/compatibility.md).
 */
const doubleQuotedHint = / - should this be a string literal in single-quotes\?$/;

function explained(message: string): string {
  if (!doubleQuotedHint.test(message)) return message;
  return (
    `${message} (dqlite-ts reads "…" as a name, never as a string: its SQLite is built ` +
    `without double-quoted string literals; write strings in single quotes)`
  );
}
