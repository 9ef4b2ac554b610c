// Restore: an existing SQLite file into a cluster's database, as one transaction that replicates
// through Raft like any write, so it lands whole or not at all (docs/operations.md, "Backup and
// restore").
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { TransactionRetriesExhaustedError, createPool, type Transaction } from '../pool/index.js';
import type { Parameter, TlsOptions } from '../client/index.js';
import { checkCopyOptions, type CopyProgress } from './copy-options.js';
import { RestoreOutcomeUnknownError, RestoreRefusedError } from './errors.js';
import { hasSqliteHeader, integrityProblems } from './local-file.js';
import {
  COLUMNS_SQL,
  SCHEMA_SQL,
  copiedColumns,
  creationOrder,
  quoteName,
  schemaObjects,
  tablePlan,
  type SchemaObject,
  type TablePlan,
} from './schema-plan.js';

export interface RestoreOptions {
  /** Addresses of some or all nodes. */
  readonly cluster: readonly string[];
  /** The database to fill; it must hold no tables, indexes, views or triggers unless `replace`. */
  readonly database: string;
  /** The SQLite file to load. */
  readonly file: string;
  readonly tls?: TlsOptions;
  /** Drop what the database holds, in the same transaction. Default false. */
  readonly replace?: boolean;
  /** Largest file accepted (page count times page size). Default `RESTORE_BYTES_MAX_DEFAULT`. */
  readonly bytesMax?: number;
  /** Deadline of the whole transaction, reruns included. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Called (and awaited) after each multi-row INSERT; a rerun after a leader change starts over. */
  readonly onProgress?: (progress: CopyProgress) => void | Promise<void>;
}

export interface RestoreResult {
  readonly tables: number;
  readonly rows: number;
}

/**
 * The default largest file. The whole restore is one transaction: its pages travel as Raft
 * entries of at most 1 MiB, all proposed at its COMMIT, and every node holds them in memory until
 * the last one applies. On a busy 2-core machine a 64 MB file restored in about 9 s with no leader
 * change, and 256 MB in about 60 s, rerun once after a leader change (`npm run bench:restore`,
 * docs/operations.md). Larger files take `bytesMax`.
 */
export const RESTORE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** Parameters of one multi-row INSERT: what every Dqlite server takes (schema 0's tuple). */
const PARAMETERS_PER_STATEMENT = 255;

const OPTION_NAMES = [
  'cluster',
  'database',
  'file',
  'tls',
  'replace',
  'bytesMax',
  'timeoutMs',
  'onProgress',
] as const;

/** What the file holds, read once before the transaction. */
interface SourcePlan {
  readonly objects: SchemaObject[];
  readonly tables: TablePlan[];
  readonly afterRows: SchemaObject[];
  readonly sequence: [string, bigint][];
  readonly userVersion: number;
  readonly applicationId: number;
}

/**
 * Loads the SQLite file `file` into database `database` of a cluster: schema, rows,
 * sqlite_sequence, user_version and application_id, in one transaction through the pool with
 * `idempotent: true`. When the leader changes midway the transaction runs again on the new leader;
 * either it commits whole (and this resolves) or nothing of it does (and this rejects). Refuses,
 * with a RestoreRefusedError, a file that is not SQLite, fails `PRAGMA integrity_check` or is
 * over `bytesMax`, and a database that is not empty unless `replace`. A RestoreOutcomeUnknownError
 * means the COMMIT was sent and the pool could not learn its outcome.
 *
 * @example
 * const { rows, tables } = await restore({ cluster: ['127.0.0.1:9001'], database: 'app', file: 'app.db' });
 */
export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  checkCopyOptions('restore', options, OPTION_NAMES);
  const bytesMax = options.bytesMax ?? RESTORE_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) {
    throw new RangeError(`restore: bytesMax must be a positive integer, got ${bytesMax}`);
  }
  const timeoutMs = options.timeoutMs ?? 600_000;
  const source = openSource(options.file, bytesMax);
  try {
    const plan = sourcePlan(source, options.file);
    const pool = createPool({
      cluster: options.cluster,
      database: options.database,
      tls: options.tls,
      max: 1,
      timeoutMs,
    });
    let bodyDone = false;
    try {
      const rows = await pool.transaction(
        async (tx) => {
          bodyDone = false;
          const copied = await copyIntoCluster(tx, source, plan, options);
          bodyDone = true;
          return copied;
        },
        { idempotent: true, behavior: 'immediate', timeoutMs },
      );
      return { tables: plan.tables.length, rows };
    } catch (error) {
      // The pool reruns the body after every attempt that did not commit, so only a failure after
      // the last body finished can hide a COMMIT that took effect.
      // Retries exhausted: the pool settled every attempt as not committed before giving up.
      if (!bodyDone || error instanceof RestoreRefusedError) throw error;
      if (error instanceof TransactionRetriesExhaustedError) throw error;
      throw new RestoreOutcomeUnknownError(
        `the restore may have committed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      await pool.close();
    }
  } finally {
    source.close();
  }
}

/** Opens the file read-only after checking its header, size and integrity. */
function openSource(file: string, bytesMax: number): Database.Database {
  if (!fs.statSync(file).isFile()) {
    throw new RestoreRefusedError('not-sqlite', `${file} is not a regular file`);
  }
  if (!hasSqliteHeader(file)) {
    throw new RestoreRefusedError(
      'not-sqlite',
      `${file} is not an SQLite database (no SQLite header)`,
    );
  }
  let db: Database.Database;
  let problems: string[];
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    problems = integrityProblems(db);
  } catch (error) {
    throw new RestoreRefusedError('corrupt', `${file} cannot be read by SQLite: ${String(error)}`);
  }
  if (problems.length > 0) {
    db.close();
    throw new RestoreRefusedError(
      'corrupt',
      `${file} fails PRAGMA integrity_check: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  const bytes =
    Number(db.pragma('page_count', { simple: true })) *
    Number(db.pragma('page_size', { simple: true }));
  if (bytes > bytesMax) {
    db.close();
    throw new RestoreRefusedError(
      'too-large',
      `${file} holds ${bytes} bytes of pages, more than one restore carries (bytesMax ${bytesMax})`,
    );
  }
  db.defaultSafeIntegers(true);
  return db;
}

function sourcePlan(db: Database.Database, file: string): SourcePlan {
  const { objects, virtualTable } = schemaObjects(
    db.prepare(SCHEMA_SQL).raw().all() as unknown[][],
  );
  if (virtualTable !== undefined) {
    throw new RestoreRefusedError('unsupported', `${file} has a virtual table (${virtualTable})`);
  }
  const { tables, afterRows } = creationOrder(objects);
  const columns = db.prepare(COLUMNS_SQL).raw();
  const hasSequence = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    .get();
  const sequence = hasSequence
    ? (db.prepare('SELECT name, seq FROM sqlite_sequence').raw().all() as [string, bigint][])
    : [];
  return {
    objects,
    tables: tables.map((table) => tablePlan(table, columns.all(table.name) as unknown[][])),
    afterRows,
    sequence: sequence.filter(([name]) => tables.some((table) => table.name === name)),
    userVersion: Number(db.pragma('user_version', { simple: true })),
    applicationId: Number(db.pragma('application_id', { simple: true })),
  };
}

/** The transaction's body; returns how many rows it inserted. */
async function copyIntoCluster(
  tx: Transaction,
  source: Database.Database,
  plan: SourcePlan,
  options: RestoreOptions,
): Promise<number> {
  // Rows go in table by table, children before parents maybe: foreign keys are checked at COMMIT.
  await tx.exec('PRAGMA defer_foreign_keys = ON');
  await emptyTarget(tx, options);
  for (const { sql } of creationOrder(plan.objects).tables) await tx.exec(sql);
  let rows = 0;
  for (const [position, table] of plan.tables.entries()) {
    const copied = await copyTable(tx, source, table, async (tableRows) =>
      options.onProgress?.({
        table: table.name,
        tablesDone: position,
        tablesTotal: plan.tables.length,
        tableRows,
        rows,
      }),
    );
    rows += copied;
  }
  if (plan.sequence.length > 0) {
    await tx.exec('DELETE FROM sqlite_sequence');
    for (const [name, seq] of plan.sequence) {
      await tx.exec('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', [name, seq]);
    }
  }
  for (const { sql } of plan.afterRows) await tx.exec(sql);
  await tx.exec(`PRAGMA user_version = ${plan.userVersion}`);
  await tx.exec(`PRAGMA application_id = ${plan.applicationId}`);
  return rows;
}

/** Refuses a database that holds objects, or with `replace` drops them (views, triggers, tables). */
async function emptyTarget(tx: Transaction, options: RestoreOptions): Promise<void> {
  const found = schemaObjects((await tx.query(SCHEMA_SQL, [], { rowMode: 'array' })).rows).objects;
  if (found.length === 0) return;
  if (options.replace !== true) {
    const names = found.slice(0, 5).map((object) => `${object.type} ${object.name}`);
    throw new RestoreRefusedError(
      'not-empty',
      `database ${options.database} is not empty (${names.join(', ')}${found.length > 5 ? ', ...' : ''}); restore with replace to drop what it holds`,
    );
  }
  for (const type of ['trigger', 'view', 'table'] as const) {
    for (const object of found.filter((candidate) => candidate.type === type)) {
      await tx.exec(`DROP ${type.toUpperCase()} IF EXISTS ${quoteName(object.name)}`);
    }
  }
}

/** Inserts one table's rows, as many per statement as its parameters allow. */
async function copyTable(
  tx: Transaction,
  source: Database.Database,
  table: TablePlan,
  report: (tableRows: number) => Promise<void>,
): Promise<number> {
  const columns = copiedColumns(table);
  const rowsPerStatement = Math.max(1, Math.floor(PARAMETERS_PER_STATEMENT / columns.length));
  const prefix = `INSERT INTO ${quoteName(table.name)} (${columns.join(', ')}) VALUES `;
  const select = source.prepare(`SELECT ${columns.join(', ')} FROM ${quoteName(table.name)}`);
  let batch: unknown[][] = [];
  let tableRows = 0;
  const flush = async () => {
    const { sql, parameters } = insertStatement(prefix, batch);
    await tx.exec(sql, parameters);
    tableRows += batch.length;
    batch = [];
    await report(tableRows);
  };
  for (const row of select.raw().iterate() as IterableIterator<unknown[]>) {
    batch.push(row);
    if (batch.length === rowsPerStatement) await flush();
  }
  if (batch.length > 0) await flush();
  return tableRows;
}

/**
 * A multi-row INSERT of `rows` as better-sqlite3 read them (bigint, number, string, Buffer,
 * null). The client sends an integral number as an INTEGER, so a REAL that happens to be whole is
 * cast back; a text with a NUL, which the protocol cannot carry as text, goes as a blob cast back.
 */
export function insertStatement(
  prefix: string,
  rows: readonly (readonly unknown[])[],
): { sql: string; parameters: Parameter[] } {
  const parameters: Parameter[] = [];
  const tuples = rows.map((row) => {
    const slots = row.map((value) => {
      if (typeof value === 'number' && Number.isInteger(value)) {
        parameters.push(value);
        return 'CAST(? AS REAL)';
      }
      if (typeof value === 'string' && value.includes('\0')) {
        parameters.push(Buffer.from(value, 'utf8'));
        return 'CAST(? AS TEXT)';
      }
      parameters.push(value as Parameter);
      return '?';
    });
    return `(${slots.join(', ')})`;
  });
  return { sql: prefix + tuples.join(', '), parameters };
}
