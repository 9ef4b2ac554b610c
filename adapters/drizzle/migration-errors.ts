/** One row of `PRAGMA foreign_key_check`: a child row whose parent is missing. */
export interface ForeignKeyViolation {
  readonly table: string;
  readonly rowid: number | bigint | null;
  readonly parent: string;
  readonly foreignKeyId: number;
}

/** How many violations MigrationForeignKeyError carries. */
export const FOREIGN_KEY_VIOLATIONS_SHOWN = 20;

/**
 * Migrations ran with foreign keys off (they rebuild tables) and would leave child rows without
 * a parent. Nothing was committed: the pending migrations are rolled back as a whole.
 */
export class MigrationForeignKeyError extends Error {
  override name = 'MigrationForeignKeyError';
  /** The first violations found, at most FOREIGN_KEY_VIOLATIONS_SHOWN. */
  readonly violations: readonly ForeignKeyViolation[];
  /** How many violations there were in all. */
  readonly violationCount: number;

  constructor(violations: readonly ForeignKeyViolation[], violationCount: number) {
    const first = violations[0];
    const example = first
      ? ` (first: ${first.table} rowid ${String(first.rowid)} references a missing ${first.parent} row)`
      : '';
    super(
      `the migrations would leave ${violationCount} foreign key violation(s)${example}; rolled back`,
    );
    this.violations = violations;
    this.violationCount = violationCount;
  }
}

/**
 * `migrate` could not finish within `lockTimeoutMs`: another process held the migration lock
 * the whole time, or the leader kept changing. `cause` is the last failure. Nothing of the
 * attempt that failed was committed; migrations an earlier attempt committed stay applied.
 */
export class MigrationTimeoutError extends Error {
  override name = 'MigrationTimeoutError';
  readonly lockTimeoutMs: number;

  constructor(lockTimeoutMs: number, cause: unknown) {
    const reason = cause instanceof Error ? `; last failure: ${cause.message}` : '';
    super(`migrate: could not apply the migrations within ${lockTimeoutMs} ms${reason}`, { cause });
    this.lockTimeoutMs = lockTimeoutMs;
  }
}
