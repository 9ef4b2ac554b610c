/**
 * SQLite's numeric result codes by the names better-sqlite3 reports (`SqliteError.code`). Dqlite
 * answers FAILURE with the number, so the server maps the name back. Extended codes are the
 * primary code plus a variant in the high byte (sqlite3.h).
 */
const primaryCodes: Record<string, number> = {
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
};

/** Extended codes a client may test for; others fall back to their primary code. */
const extendedCodes: Record<string, number> = {
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
};

/** The number of a code name such as "SQLITE_CONSTRAINT_UNIQUE"; SQLITE_ERROR when unknown. */
export function sqliteCodeNumber(name: string): number {
  const extended = extendedCodes[name];
  if (extended !== undefined) return extended;
  for (const [primary, code] of Object.entries(primaryCodes)) {
    if (name === primary || name.startsWith(`${primary}_`)) return code;
  }
  return primaryCodes.SQLITE_ERROR as number;
}
