import { SqliteExtendedCode, SqlitePrimaryCode } from '../../wire/index.js';

/**
 * SQLite's numeric result codes by the names better-sqlite3 reports (`SqliteError.code`). Dqlite
 * answers FAILURE with the number, so the server maps the name back. The numbers come from the
 * wire's table (`src/wire/result-codes.ts`).
 */
const primaryCodes: Readonly<Record<string, number>> = SqlitePrimaryCode;

/** Extended codes a client may test for; others fall back to their primary code. */
const extendedCodes: Readonly<Record<string, number>> = SqliteExtendedCode;

/** The number of a code name such as "SQLITE_CONSTRAINT_UNIQUE"; SQLITE_ERROR when unknown. */
export function sqliteCodeNumber(name: string): number {
  const extended = extendedCodes[name];
  if (extended !== undefined) return extended;
  for (const [primary, code] of Object.entries(primaryCodes)) {
    if (name === primary || name.startsWith(`${primary}_`)) return code;
  }
  return SqlitePrimaryCode.SQLITE_ERROR;
}
