import type { DqliteError } from '../../drivers/client/index.js';
import { ResultCode } from '../../drivers/client/errors.js';
import { PoolTimeoutError } from '../../drivers/pool/index.js';
import { backoffCeilingMs, type Backoff } from '../../src/retry/backoff.js';

/** How long `acquireMigrationLock` waits for other migrators by default: five minutes. */
export const MIGRATION_LOCK_TIMEOUT_MS_DEFAULT = 300_000;
/** The longest a migrator may be configured to wait: one hour. */
export const MIGRATION_LOCK_TIMEOUT_MS_MAX = 3_600_000;
/** Pauses between tries: from 50 ms, doubling up to 1 s. */
const RETRY_BACKOFF: Backoff = { firstMs: 50, maxMs: 1000 };
/** SQLite's primary result code for "database is locked" (SQLITE_BUSY and its extensions). */
const { SQLITE_BUSY } = ResultCode;

/**
 * Opens the migration lock's transaction: `BEGIN IMMEDIATE`, which takes the database's single
 * write lock on the leader. Every write of the cluster runs on the leader, so this excludes every
 * other writer of the cluster, every other migrator included, until the transaction ends.
 *
 * Another holder shows up as SQLITE_BUSY (another process or pool: the pool retries that for its
 * `busyTimeoutMs`, then raises it) or as a PoolTimeoutError (waiting behind a transaction of the
 * same pool). Both are waited out here, with backoff, for up to `timeoutMs` in total; then a
 * PoolTimeoutError names `acquireMigrationLock`, its cause the last refusal. Anything else, such
 * as a leader change the pool could not ride out, is raised at once.
 */
export async function beginMigrationLock(
  statements: { exec(sql: string): Promise<unknown> },
  timeoutMs: number,
): Promise<void> {
  const startedMs = Date.now();
  const attemptsMax = Math.ceil(timeoutMs / RETRY_BACKOFF.firstMs) + 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attemptsMax; attempt++) {
    try {
      await statements.exec('BEGIN IMMEDIATE');
      return;
    } catch (error) {
      if (!isLockContention(error)) throw error;
      lastError = error;
    }
    const remainingMs = timeoutMs - (Date.now() - startedMs);
    if (remainingMs <= 0) break;
    await sleep(Math.min(backoffCeilingMs(RETRY_BACKOFF, attempt), remainingMs));
  }
  throw new PoolTimeoutError('acquireMigrationLock', timeoutMs, lastError);
}

/** Validates the `migrationLockTimeoutMs` option; misuse throws RangeError naming it. */
export function checkMigrationLockTimeoutMs(value: unknown): number {
  if (value === undefined) return MIGRATION_LOCK_TIMEOUT_MS_DEFAULT;
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value <= 0 ||
    value > MIGRATION_LOCK_TIMEOUT_MS_MAX
  ) {
    throw new RangeError(
      `dqlite-ts/kysely: migrationLockTimeoutMs must be a positive integer up to ${MIGRATION_LOCK_TIMEOUT_MS_MAX}, got ${String(value)}`,
    );
  }
  return value;
}

function isLockContention(error: unknown): boolean {
  if (error instanceof PoolTimeoutError) return true;
  return error instanceof Error && (error as Partial<DqliteError>).errno === SQLITE_BUSY;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
