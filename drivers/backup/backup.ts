// Backup: one database of a running cluster into a plain SQLite file, as of one snapshot, with
// rows streamed batch by batch (docs/operations.md, "Backup and restore").
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { connect, DqliteError } from '../client/index.js';
import type { DqliteClient, RowValue, TlsOptions } from '../client/index.js';
import { APPLIED_INDEX_FUNCTION } from '../../src/sql/index.js';
import { BackupRefusedError } from './errors.js';
import {
  integrityProblems,
  openBackupFile,
  publishBackupFile,
  temporaryFileFor,
} from './local-file.js';
import { checkCopyOptions, type CopyProgress } from './copy-options.js';
import {
  COLUMNS_SQL,
  SCHEMA_SQL,
  copiedColumns,
  creationOrder,
  quoteName,
  schemaObjects,
  selectRowsSql,
  tablePlan,
  type SchemaObject,
  type TablePlan,
} from './schema-plan.js';

export interface BackupOptions {
  /** Addresses of some or all nodes; the backup reads on the leader. */
  readonly cluster: readonly string[];
  readonly database: string;
  /** Where the SQLite file goes; replaced only once the new one is complete. */
  readonly file: string;
  readonly tls?: TlsOptions;
  /** Called (and awaited) after each table's rows, and every `PROGRESS_ROWS` rows within one. */
  readonly onProgress?: (progress: CopyProgress) => void | Promise<void>;
}

export interface BackupResult {
  readonly file: string;
  readonly tables: number;
  readonly rows: number;
  /**
   * The leader's applied Raft index when the snapshot began: every transaction committed at this
   * index or below is in the file. A lower bound: transactions after it may be in the file too.
   * Undefined against C dqlite, which does not report it.
   */
  readonly appliedIndex: bigint | undefined;
}

/** Rows between two progress reports within a table. */
export const PROGRESS_ROWS = 10_000;

const OPTION_NAMES = ['cluster', 'database', 'file', 'tls', 'onProgress'] as const;

/**
 * Writes database `database` of a running cluster into `file`, a plain SQLite file, as of one
 * committed point: one read transaction on the leader, which keeps serving reads and writes. The
 * schema (tables, indexes, views, triggers), every table's rows (streamed, never all in memory),
 * sqlite_sequence, user_version and application_id are copied. Works against C dqlite too, which
 * does not report `appliedIndex`.
 *
 * @example
 * const { rows, appliedIndex } = await backup({ cluster: ['127.0.0.1:9001'], database: 'app', file: 'app.db' });
 */
export async function backup(options: BackupOptions): Promise<BackupResult> {
  checkCopyOptions('backup', options, OPTION_NAMES);
  const client = await connect({
    cluster: options.cluster,
    database: options.database,
    tls: options.tls,
    integers: 'bigint',
  });
  try {
    await client.exec('BEGIN');
    const appliedIndex = await startSnapshot(client);
    const copied = await copyToFile(client, options);
    await client.exec('COMMIT'); // a read-only transaction: this only ends the snapshot
    return { file: options.file, ...copied, appliedIndex };
  } finally {
    await client.close(); // after a failure this also ends the transaction on the node
  }
}

/**
 * Starts the snapshot with a statement that reads sqlite_master, and returns the applied index the
 * same statement saw (docs/operations.md). C dqlite has no such function: the snapshot then
 * starts with the next statement, and there is no index.
 */
async function startSnapshot(client: DqliteClient): Promise<bigint | undefined> {
  try {
    const { rows } = await client.query(
      `SELECT ${APPLIED_INDEX_FUNCTION}(), count(*) FROM sqlite_master`,
    );
    const index = rows[0]?.[0];
    if (typeof index !== 'bigint') throw new Error(`the applied index is not an integer: ${index}`);
    return index;
  } catch (error) {
    if (!(error instanceof DqliteError) || !/no such function/.test(error.message)) throw error;
    await client.query('SELECT count(*) FROM sqlite_master');
    return undefined;
  }
}

async function copyToFile(
  client: DqliteClient,
  options: BackupOptions,
): Promise<{ tables: number; rows: number }> {
  const temporary = temporaryFileFor(options.file);
  const db = openBackupFile(temporary);
  try {
    const { objects, virtualTable } = schemaObjects((await client.query(SCHEMA_SQL)).rows);
    if (virtualTable !== undefined) {
      throw new BackupRefusedError(
        `${options.database} has a virtual table (${virtualTable}), which a backup cannot copy`,
      );
    }
    db.pragma(`page_size = ${Number(await pragma(client, 'page_size'))}`);
    db.exec('BEGIN');
    const { tables, afterRows } = creationOrder(objects);
    const plans = await tablePlans(client, tables);
    for (const table of tables) db.exec(table.sql);
    let rows = 0;
    for (const [position, plan] of plans.entries()) {
      rows = await copyTable(client, db, plan, rows, async (tableRows, done) =>
        options.onProgress?.({
          table: plan.name,
          tablesDone: position + (done ? 1 : 0),
          tablesTotal: plans.length,
          tableRows,
          rows,
        }),
      );
    }
    await copySequence(client, db, objects);
    for (const object of afterRows) db.exec(object.sql);
    db.pragma(`user_version = ${Number(await pragma(client, 'user_version'))}`);
    db.pragma(`application_id = ${Number(await pragma(client, 'application_id'))}`);
    db.exec('COMMIT');
    const problems = integrityProblems(db);
    if (problems.length > 0) throw new Error(`the backup failed its integrity check: ${problems}`);
    publishBackupFile(db, temporary, options.file);
    return { tables: plans.length, rows };
  } catch (error) {
    if (db.open) db.close();
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

async function tablePlans(client: DqliteClient, tables: readonly SchemaObject[]) {
  const plans: TablePlan[] = [];
  for (const table of tables) {
    plans.push(tablePlan(table, (await client.query(COLUMNS_SQL, [table.name])).rows));
  }
  return plans;
}

/** Streams one table's rows into the file; returns the running total of rows. */
async function copyTable(
  client: DqliteClient,
  db: Database.Database,
  plan: TablePlan,
  rowsBefore: number,
  report: (tableRows: number, done: boolean) => Promise<void>,
): Promise<number> {
  const columns = copiedColumns(plan);
  const insert = db.prepare(
    `INSERT INTO ${quoteName(plan.name)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
  );
  let tableRows = 0;
  for await (const row of client.iterate(selectRowsSql(plan))) {
    insert.run(row.map(storedValue));
    tableRows++;
    if (tableRows % PROGRESS_ROWS === 0) await report(tableRows, false);
  }
  await report(tableRows, true);
  return rowsBefore + tableRows;
}

/** sqlite_sequence as the cluster has it (its rows were set by the inserts; set them exactly). */
async function copySequence(
  client: DqliteClient,
  db: Database.Database,
  objects: readonly SchemaObject[],
): Promise<void> {
  const exists = await client.query(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
  );
  if (exists.rows.length === 0) return;
  const copied = new Set(objects.map((object) => object.name));
  db.exec('DELETE FROM sqlite_sequence');
  const insert = db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)');
  for (const [name, seq] of (await client.query('SELECT name, seq FROM sqlite_sequence')).rows) {
    if (typeof name === 'string' && copied.has(name)) insert.run(name, storedValue(seq ?? null));
  }
}

async function pragma(client: DqliteClient, name: string): Promise<bigint> {
  const value = (await client.query(`PRAGMA ${name}`)).rows[0]?.[0];
  if (typeof value !== 'bigint') throw new Error(`PRAGMA ${name} answered ${String(value)}`);
  return value;
}

/**
 * A value as SQLite stored it. The SELECT reads every column through unary `+`, so no declared
 * type turns a value into a Date or a boolean; integers come as bigint, reals as number.
 */
function storedValue(value: RowValue): bigint | number | string | Buffer | null {
  if (typeof value === 'boolean' || value instanceof Date) {
    throw new Error(`a column value arrived as ${typeof value}, not as SQLite stored it`);
  }
  return value;
}
