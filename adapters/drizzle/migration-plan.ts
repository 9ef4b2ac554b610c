import type { MigrationMeta } from 'drizzle-orm/migrator';

/** One migration file, ready to run. */
export interface MigrationStep {
  /** sha256 of the file, as Drizzle's migrators record it. */
  readonly hash: string;
  /** The journal's `when`: Drizzle records it as `created_at` and orders by it. */
  readonly createdAtMs: number;
  /** The statements to run, in order: empty pieces and `PRAGMA foreign_keys` left out. */
  readonly statements: readonly string[];
  /**
   * True when the migration drops a table or asks for foreign keys off (drizzle-kit writes
   * `PRAGMA foreign_keys=OFF` before it rebuilds a table): it must run with foreign keys off,
   * or dropping a parent table would cascade into its children.
   */
  readonly rebuildsTables: boolean;
}

const COMMENTS = /--[^\n]*(\n|$)|\/\*[\s\S]*?\*\//g;
const FOREIGN_KEYS_PRAGMA = /^PRAGMA\s+(["`]?)foreign_keys\1\s*=\s*["'`]?\w+["'`]?\s*;?$/i;
const FOREIGN_KEYS_OFF = /\bPRAGMA\s+(["`]?)foreign_keys\1\s*=\s*["'`]?(OFF|0|FALSE|NO)\b/i;
const DROP_TABLE = /\bDROP\s+TABLE\b/i;

/**
 * The steps of Drizzle's migration files (from `readMigrationFiles`). A `PRAGMA foreign_keys`
 * statement is a no-op inside a transaction (SQLite's documentation of the pragma), so it is not
 * run: the migrator itself turns foreign keys off, outside the transaction, when a step rebuilds
 * tables.
 */
export function migrationSteps(migrations: readonly MigrationMeta[]): MigrationStep[] {
  return migrations.map((migration) => {
    const code = migration.sql.map((piece) => piece.replace(COMMENTS, ' ').trim());
    return {
      hash: migration.hash,
      createdAtMs: migration.folderMillis,
      statements: migration.sql.filter(
        (_piece, index) => code[index] !== '' && !FOREIGN_KEYS_PRAGMA.test(code[index]!),
      ),
      rebuildsTables: code.some((piece) => DROP_TABLE.test(piece) || FOREIGN_KEYS_OFF.test(piece)),
    };
  });
}

/**
 * The steps still to apply, with Drizzle's own rule (sqlite-core/dialect.js `migrate`): those
 * created after the last recorded one. Using the same rule keeps a database that Drizzle's
 * migrator started on, or will continue on, consistent.
 */
export function pendingSteps(
  steps: readonly MigrationStep[],
  lastCreatedAtMs: number | undefined,
): MigrationStep[] {
  if (lastCreatedAtMs === undefined) return [...steps];
  return steps.filter((step) => lastCreatedAtMs < step.createdAtMs);
}

/** A table name as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('\0'))
    throw new TypeError(`migrate(db, config): bad migrationsTable ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}
