import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { MigrationConfig } from 'drizzle-orm/migrator';
import { OutcomeUnknownError, TransactionReplayError } from '../../drivers/pool/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import { backoffJitteredMs, type Backoff } from '../../src/retry/backoff.js';
import {
  FOREIGN_KEY_VIOLATIONS_SHOWN,
  MigrationForeignKeyError,
  MigrationTimeoutError,
} from './migration-errors.js';
import { migrationSteps, pendingSteps, quoteIdentifier } from './migration-plan.js';
import type { TransactionHandle } from './statement-target.js';
import type { MigrationStep } from './migration-plan.js';

/** Options of `migrate(db, config)`: Drizzle's, plus how long to wait for another migrator. */
export interface DqliteMigrationConfig extends MigrationConfig {
  /** The folder drizzle-kit writes: meta/_journal.json and NNNN_name.sql files. */
  migrationsFolder: string;
  /** Where applied migrations are recorded; default `__drizzle_migrations`, as in Drizzle. */
  migrationsTable?: string;
  /**
   * How long to keep trying to take the migration lock (another process migrating) and to get
   * past leader changes, in total. Default 120000.
   */
  lockTimeoutMs?: number;
}

/** What `migrate` applied: nothing when another process had applied everything first. */
export interface MigrationResult {
  readonly applied: readonly { readonly hash: string; readonly createdAtMs: number }[];
}

/** The reserved connection's calls migrate makes (the pool's ReservedConnection). */
interface MigrationConnection extends TransactionHandle {
  readonly inTransaction: boolean;
  release(): Promise<void>;
}

/** What migrate needs of the database: the pool in `db.$client`. */
interface MigratablePool {
  reserve(options?: { timeoutMs?: number }): Promise<MigrationConnection>;
}

/** Whole attempts (reserve, lock, apply, commit) before giving up, a backstop under the deadline. */
export const MIGRATE_ATTEMPTS_MAX = 200;
/** Times one attempt re-locks to get `foreign_keys` right on its connection. */
const FOREIGN_KEYS_ROUNDS_MAX = 3;
const LOCK_TIMEOUT_MS_DEFAULT = 120_000;
/** Pauses between whole attempts: from 100 ms, doubling up to 1 s, with jitter. */
const RETRY_BACKOFF: Backoff = { firstMs: 100, maxMs: 1000 };
const CONFIG_KEYS = new Set([
  'migrationsFolder',
  'migrationsTable',
  'migrationsSchema',
  'lockTimeoutMs',
]);

/** `foreign_keys` on the reserved connection: what it was, and what migrate last set. */
interface ForeignKeys {
  original: boolean;
  current: boolean;
}

/**
 * Applies the migrations of `config.migrationsFolder` that the database has not seen, each once
 * across every process migrating at the same time. All pending migrations run in one
 * `BEGIN IMMEDIATE` transaction on the leader, which admits one writer cluster-wide: that is
 * the lock. The applied-migrations table is read after taking it, so a process that waited
 * finds the work done. When a pending migration rebuilds tables (drops a table, or asks for
 * `PRAGMA foreign_keys=OFF` as drizzle-kit does), foreign keys are turned off on the migrating
 * connection before BEGIN (inside a transaction the pragma is a no-op), checked with
 * `PRAGMA foreign_key_check` before COMMIT, and turned back on after.
 *
 * Leader changes, SQLITE_BUSY from another migrator and unknown COMMIT outcomes start the attempt
 * over, up to `lockTimeoutMs`: the migrations table, written in the same transaction, says what
 * committed. SQL errors in a migration roll everything back and are thrown as they are, and so is
 * the pool's PoolTimeoutError (a statement slower than the pool's `timeoutMs`, or no leader).
 *
 * @example
 * import { drizzle, migrate } from 'dqlite-ts/drizzle';
 * await migrate(drizzle(pool), { migrationsFolder: './drizzle' });
 */
export async function migrate(
  db: { readonly $client: LeaderPool },
  config: DqliteMigrationConfig,
): Promise<MigrationResult> {
  const pool = poolOf(db);
  const { table, lockTimeoutMs } = checkConfig(config);
  const steps = migrationSteps(readMigrationFiles(config));
  const deadlineMs = Date.now() + lockTimeoutMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= MIGRATE_ATTEMPTS_MAX; attempt++) {
    try {
      return await migrateOnce(pool, steps, table);
    } catch (error) {
      if (!isWorthAnotherAttempt(error)) throw error;
      lastError = error;
    }
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) break;
    await sleep(Math.min(backoffJitteredMs(RETRY_BACKOFF, attempt, Math.random), remainingMs));
  }
  throw new MigrationTimeoutError(lockTimeoutMs, lastError);
}

/** One attempt on one reserved connection; restores `foreign_keys` before giving it back. */
async function migrateOnce(
  pool: MigratablePool,
  steps: readonly MigrationStep[],
  table: string,
): Promise<MigrationResult> {
  const connection = await pool.reserve();
  const foreignKeys: ForeignKeys = { original: false, current: false };
  let outcome: { result: MigrationResult } | { error: unknown };
  try {
    foreignKeys.original = foreignKeys.current = await readForeignKeys(connection);
    outcome = { result: await applyUnderLock(connection, steps, table, foreignKeys) };
  } catch (error) {
    outcome = { error };
  }
  let restoreError: unknown;
  try {
    await restoreForeignKeys(connection, foreignKeys);
  } catch (error) {
    restoreError = error; // thrown below unless the attempt's own failure matters more
  }
  await connection.release();
  if ('error' in outcome) throw outcome.error;
  if (restoreError !== undefined) throw restoreError;
  return outcome.result;
}

/** Takes the lock, reads what is applied, applies the rest, checks, commits. */
async function applyUnderLock(
  connection: MigrationConnection,
  steps: readonly MigrationStep[],
  table: string,
  foreignKeys: ForeignKeys,
): Promise<MigrationResult> {
  for (let round = 1; round <= FOREIGN_KEYS_ROUNDS_MAX; round++) {
    await connection.exec('BEGIN IMMEDIATE');
    // Read inside the transaction: if the leader changes, the pool replays the transaction on
    // a new connection, where this read differs, so the replay fails instead of migrating
    // with the wrong setting.
    const enforced = await readForeignKeys(connection);
    await connection.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const pending = pendingSteps(steps, await lastCreatedAtMs(connection, table));
    const wanted = foreignKeys.original && !pending.some((step) => step.rebuildsTables);
    if (enforced !== wanted) {
      await connection.exec('ROLLBACK');
      await setForeignKeys(connection, wanted);
      foreignKeys.current = wanted;
      continue;
    }
    for (const step of pending) {
      for (const statement of step.statements) await connection.exec(statement);
      await connection.exec(`INSERT INTO ${table} ("hash", "created_at") VALUES (?, ?)`, [
        step.hash,
        step.createdAtMs,
      ]);
    }
    if (foreignKeys.original && !enforced) await checkForeignKeys(connection);
    await connection.exec('COMMIT');
    return { applied: pending.map(({ hash, createdAtMs }) => ({ hash, createdAtMs })) };
  }
  throw new ForeignKeysUnsettledError();
}

/** Rolls back what is still open and puts `foreign_keys` back as it was. */
async function restoreForeignKeys(
  connection: MigrationConnection,
  foreignKeys: ForeignKeys,
): Promise<void> {
  if (connection.inTransaction) await connection.exec('ROLLBACK');
  if (foreignKeys.current === foreignKeys.original) return;
  await setForeignKeys(connection, foreignKeys.original);
  foreignKeys.current = foreignKeys.original;
}

/**
 * `PRAGMA foreign_keys = …` outside a transaction. After a transaction the pool could not carry
 * to a new leader, the reserved connection answers every statement with that failure until a
 * ROLLBACK acknowledges it; the pragma then runs on the new connection.
 */
async function setForeignKeys(connection: MigrationConnection, on: boolean): Promise<void> {
  const sql = `PRAGMA foreign_keys = ${on ? 'ON' : 'OFF'}`;
  try {
    await connection.exec(sql);
  } catch (error) {
    if (!(error instanceof TransactionReplayError || error instanceof OutcomeUnknownError))
      throw error;
    await connection.exec('ROLLBACK');
    await connection.exec(sql);
  }
}

async function readForeignKeys(connection: MigrationConnection): Promise<boolean> {
  const { rows } = await connection.query('PRAGMA foreign_keys', undefined, { rowMode: 'array' });
  return Number(rows[0]?.[0]) === 1;
}

async function lastCreatedAtMs(
  connection: MigrationConnection,
  table: string,
): Promise<number | undefined> {
  const { rows } = await connection.query(
    `SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`,
    undefined,
    { rowMode: 'array' },
  );
  const value = rows[0]?.[0];
  return value === undefined || value === null ? undefined : Number(value);
}

async function checkForeignKeys(connection: MigrationConnection): Promise<void> {
  const { rows } = await connection.query('PRAGMA foreign_key_check', undefined, {
    rowMode: 'array',
  });
  if (rows.length === 0) return;
  const violations = rows.slice(0, FOREIGN_KEY_VIOLATIONS_SHOWN).map((row) => ({
    table: String(row[0]),
    rowid: row[1] as number | bigint | null,
    parent: String(row[2]),
    foreignKeyId: Number(row[3]),
  }));
  throw new MigrationForeignKeyError(violations, rows.length);
}

/** The leader changed under the attempt every time it re-locked; the next attempt starts over. */
class ForeignKeysUnsettledError extends Error {
  override name = 'ForeignKeysUnsettledError';
  constructor() {
    super('foreign_keys changed on the migrating connection every time it took the lock');
  }
}

/**
 * Failures after which starting over is safe and may succeed: the migrations table, written in
 * the migrations' own transaction, tells the next attempt what committed. Not PoolTimeoutError:
 * the pool already waited its whole `timeoutMs` (for a leader, or for a statement that would be
 * just as slow next time).
 */
function isWorthAnotherAttempt(error: unknown): boolean {
  return (
    error instanceof TransactionReplayError ||
    error instanceof OutcomeUnknownError ||
    error instanceof ForeignKeysUnsettledError ||
    isBusy(error)
  );
}

/** SQLITE_BUSY and its extended codes: another process holds the write lock (the migration lock). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && error.name === 'BusyError' && code === 'SQLITE_BUSY';
}

function poolOf(db: { readonly $client: LeaderPool }): MigratablePool {
  const pool = (db as { $client?: unknown } | null)?.$client;
  if (typeof (pool as Partial<MigratablePool> | undefined)?.reserve !== 'function') {
    throw new TypeError(
      'migrate(db, config): db must come from drizzle(pool) of dqlite-ts/drizzle',
    );
  }
  return pool as MigratablePool;
}

function checkConfig(config: DqliteMigrationConfig): { table: string; lockTimeoutMs: number } {
  if (typeof config !== 'object' || config === null)
    throw new TypeError('migrate(db, config): config must be an object');
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) throw new TypeError(`migrate(db, config): unknown option "${key}"`);
  }
  if (typeof config.migrationsFolder !== 'string' || config.migrationsFolder === '')
    throw new TypeError('migrate(db, config): migrationsFolder must be a path');
  if (config.migrationsSchema !== undefined)
    throw new TypeError('migrate(db, config): SQLite has no schemas; leave out migrationsSchema');
  const lockTimeoutMs = config.lockTimeoutMs ?? LOCK_TIMEOUT_MS_DEFAULT;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs <= 0)
    throw new RangeError('migrate(db, config): lockTimeoutMs must be a positive integer');
  return {
    table: quoteIdentifier(config.migrationsTable ?? '__drizzle_migrations'),
    lockTimeoutMs,
  };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
