import { SqliteTransaction } from './knex-internals.js';
import type { KnexSqliteClient } from './knex-internals.js';

/**
 * How a top-level transaction begins: BEGIN DEFERRED (SQLite's default: the write lock is taken
 * by the first write), IMMEDIATE (taken at BEGIN, so a read-then-write transaction cannot fail
 * with SQLITE_BUSY halfway) or EXCLUSIVE (the same as IMMEDIATE in WAL mode, which Dqlite uses).
 */
export type TransactionBehavior = 'deferred' | 'immediate' | 'exclusive';

const BEHAVIORS: ReadonlySet<unknown> = new Set(['deferred', 'immediate', 'exclusive']);

/** Validates a behavior option; `undefined` stays undefined. */
export function checkTransactionBehavior(
  value: unknown,
  option: string,
): TransactionBehavior | undefined {
  if (value === undefined || BEHAVIORS.has(value)) return value as TransactionBehavior | undefined;
  throw new TypeError(
    `dqlite-ts/knex: ${option} must be 'deferred', 'immediate' or 'exclusive', got ${String(value)}`,
  );
}

/**
 * Knex's SQLite transaction with a choice of BEGIN: `knex.transaction(fn, { behavior:
 * 'immediate' })`, or the client's `transactionBehavior` for every transaction. Nested
 * transactions are savepoints and ignore it.
 */
export class DqliteTransaction extends SqliteTransaction {
  readonly #behavior: TransactionBehavior;

  constructor(
    client: KnexSqliteClient,
    container: unknown,
    config: Record<string, unknown> | undefined,
    outerTx: unknown,
  ) {
    // Validated before Knex starts the transaction, which it does from its constructor.
    const behavior = behaviorOf(client, config);
    super(client, container, config, outerTx);
    this.#behavior = behavior;
  }

  override begin(connection: unknown): Promise<unknown> {
    if (this.#behavior === 'deferred') return super.begin(connection);
    if (this.isolationLevel) {
      this.client.logger.warn(
        'dqlite-ts/knex: SQLite transactions are serializable; ignoring the isolation level',
      );
    }
    return this.query(connection, `BEGIN ${this.#behavior.toUpperCase()};`);
  }
}

function behaviorOf(
  client: KnexSqliteClient,
  config: Record<string, unknown> | undefined,
): TransactionBehavior {
  const own = checkTransactionBehavior(config?.behavior, 'transaction behavior');
  const fallback = checkTransactionBehavior(
    client.config.transactionBehavior,
    'transactionBehavior',
  );
  return own ?? fallback ?? 'deferred';
}
