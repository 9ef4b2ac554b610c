// The one place that reaches into Knex's CommonJS internals. Knex 3.3 ships no typings for its
// dialect classes, so each one is described here by the narrow structural type this adapter
// calls or overrides, and every cast of the adapter lives in this file.

import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import type { Knex } from 'knex';
import type { Parameter } from '../../drivers/client/index.js';

const require = createRequire(import.meta.url);

/** What Knex hands `_query` and `_stream`: the compiled statement and, afterwards, its answer. */
export interface KnexQueryObject {
  sql: string;
  /** Knex passes the user's values through; the client rejects the ones Dqlite cannot bind. */
  bindings?: readonly Parameter[];
  /** 'select', 'first', 'pluck', 'insert', 'update', 'del', 'counter', 'raw', … or none (DDL). */
  method?: string;
  returning?: unknown;
  response?: unknown;
  /** What node-sqlite3 passes as `this` to its callbacks; Knex's processResponse reads it. */
  context?: { lastID: number | bigint | undefined; changes: number };
}

/** Knex's replacement for tarn: the three calls its Client makes on `this.pool`. */
export interface KnexPoolShim {
  acquire(): { promise: Promise<unknown> };
  release(connection: unknown): boolean;
  destroy(): Promise<void>;
  /** True once Knex destroyed it (knex.destroy()), as on tarn's pool. */
  readonly destroyed: boolean;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** Knex's client configuration as this adapter reads it (the user's object, shallowly copied). */
export interface KnexClientConfig {
  /** Validated by prepareConfig: a positive integer or undefined. */
  acquireConnectionTimeout?: number;
  connectionPool?: unknown;
  transactionBehavior?: unknown;
  [option: string]: unknown;
}

/** Knex's SQLite3 client (lib/dialects/sqlite3/index.js): the members this adapter touches. */
export interface KnexSqliteClient {
  config: KnexClientConfig;
  logger: { warn(message: string): void };
  connectionSettings: Record<string, unknown>;
  driver: unknown;
  pool: KnexPoolShim | undefined;
  /** Knex closes the pool on destroy() only when it owns it. */
  _ownsPool: boolean | undefined;
  /** True on the client Knex makes for a transaction. */
  transacting: boolean | undefined;
  initializePool(config?: KnexClientConfig): void;
  initializeDriver(): void;
  _driver(): unknown;
  acquireRawConnection(): Promise<unknown>;
  destroyRawConnection(connection: unknown): Promise<void>;
  wrapNativePool(pool: unknown): KnexPoolShim;
  _query(connection: unknown, obj: KnexQueryObject): Promise<KnexQueryObject>;
  _stream(
    connection: unknown,
    obj: KnexQueryObject,
    stream: Transform,
    options?: unknown,
  ): Promise<unknown>;
  transaction(container: unknown, config?: Record<string, unknown>, outerTx?: unknown): unknown;
  ddl(compiler: unknown, pragma: unknown, connection: unknown): unknown;
  _strict(): KnexSqliteClient;
}

/** Knex's SQLite transaction (lib/dialects/sqlite3/execution/sqlite-transaction.js). */
export interface KnexSqliteTransaction {
  client: KnexSqliteClient;
  isolationLevel: string | undefined;
  readOnly: boolean | undefined;
  begin(connection: unknown): Promise<unknown>;
  query(connection: unknown, sql: string, status?: number, value?: unknown): Promise<unknown>;
}

/** The transactor Knex passes to a transaction's callback, as the DDL helpers use it. */
export interface KnexTransactor {
  raw(sql: string, bindings?: readonly unknown[]): Promise<unknown>;
}

/** Knex's SQLite table rebuilder (lib/dialects/sqlite3/schema/ddl.js). */
export interface KnexSqliteDdl {
  /** A client that insists on an explicit `enforceForeignCheck` for its transactions. */
  client: KnexSqliteClient & {
    transaction(
      container: (trx: KnexTransactor) => Promise<unknown>,
      config: Record<string, unknown>,
    ): Promise<unknown>;
  };
  connection: unknown;
  /** The table's name, through the user's wrapIdentifier but not quoted. */
  tableName(): string;
  /** Quotes an identifier as the SQLite dialect does. */
  wrap(value: string): string;
  alter(
    newSql: string,
    createIndices: readonly string[],
    columns?: readonly string[],
  ): Promise<void>;
  generateAlterCommands(
    newSql: string,
    createIndices: readonly string[],
    columns?: readonly string[],
  ): Promise<AlterCommands>;
  dropColumn(columns: readonly string[]): Promise<unknown>;
  copyData(trx: KnexTransactor, columns?: readonly string[]): Promise<unknown>;
  dropOriginal(trx: KnexTransactor): Promise<unknown>;
  renameTable(trx: KnexTransactor): Promise<unknown>;
}

/** Statements Knex's runner executes for a rebuild: `pre`, then `sql` and `check` in a transaction, then `post`. */
export interface AlterCommands {
  pre: string[];
  sql: string[];
  check: string | null;
  post: string[];
}

type Constructor<T, A extends unknown[]> = abstract new (...args: A) => T;

function load<T>(path: string): T {
  try {
    return require(path) as T;
  } catch (error) {
    throw new Error(
      `dqlite-ts/knex needs the knex package (>= 3.3 < 4): npm install knex (${(error as Error).message})`,
      { cause: error },
    );
  }
}

const knexFactory = load<
  ((config: object) => Knex) & { KnexTimeoutError: new (message: string) => Error }
>('knex');

/** Knex's error for a connection not acquired in time (what it makes of tarn's timeout). */
export const KnexTimeoutError = knexFactory.KnexTimeoutError;

/** Knex's own factory, given a configuration whose `client` is this adapter's class. */
export function createKnex<TRecord extends object, TResult>(
  config: object,
): Knex<TRecord, TResult> {
  return knexFactory(config) as Knex<TRecord, TResult>;
}

export const SqliteClient = load<Constructor<KnexSqliteClient, [config: KnexClientConfig]>>(
  'knex/lib/dialects/sqlite3/index.js',
);

export const SqliteTransaction = load<
  Constructor<
    KnexSqliteTransaction,
    [
      client: KnexSqliteClient,
      container: unknown,
      config: Record<string, unknown> | undefined,
      outerTx: unknown,
    ]
  >
>('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js');

export const SqliteDdl = load<
  Constructor<
    KnexSqliteDdl,
    [client: KnexSqliteClient, tableCompiler: unknown, pragma: unknown, connection: unknown]
  >
>('knex/lib/dialects/sqlite3/schema/ddl.js');

/** Knex's name for a connection it should not reuse (a failed foreign-key restore, a timeout). */
export function isDisposed(connection: object): boolean {
  return (connection as { __knex__disposed?: unknown }).__knex__disposed !== undefined;
}
