import { classifyStatement } from '../../src/sql/index.js';
import { isDeepStrictEqual } from 'node:util';
import type { DqliteClient, ExecResult, Parameter, QueryResult } from '../client/index.js';
import { DqliteError } from '../client/index.js';
import { classifyFailure } from './failure.js';

/** One statement of a transaction and what the application was told about it. */
interface Entry {
  readonly kind: 'query' | 'exec';
  readonly sql: string;
  readonly params: readonly Parameter[] | undefined;
  /** False for the pool's own statements, whose results nobody saw. */
  readonly compare: boolean;
  /** The result returned, or the code of the SQLite error raised. */
  readonly outcome:
    { readonly result: QueryResult | ExecResult | 'done' } | { readonly errorCode: number };
}

/** Statements kept per transaction before it stops being replayable. */
export const JOURNAL_ENTRIES_MAX = 10_000;
/** Rows kept per transaction (in query results) before it stops being replayable. */
export const JOURNAL_ROWS_MAX = 100_000;

/**
 * The statements of an open transaction, kept so that it can be replayed on a new leader after
 * the old one went away mid-transaction. The replay is only accepted when every statement gives
 * the application exactly what it already saw (same rows, same ids, same counts, same errors):
 * then the application cannot tell the difference. Bounded; past the bounds, or after a
 * streamed query (its rows were never all in hand), the transaction is not replayable.
 */
export class TransactionJournal {
  readonly #entries: Entry[] = [];
  #rows = 0;
  #unreplayableBecause: string | undefined;

  /**
   * Records what the statement returned. For statements that change no rows (BEGIN, SAVEPOINT,
   * DDL...), dqlite's RESULT repeats the connection's previous last-insert id and change count,
   * which differ from one connection to another: only success is recorded for those.
   */
  recordResult(
    kind: Entry['kind'],
    sql: string,
    params: readonly Parameter[] | undefined,
    result: QueryResult | ExecResult,
    compare = true,
  ): void {
    if ('rows' in result) this.#rows += result.rows.length;
    const outcome = { result: comparable({ kind, sql, compare }, result) };
    this.#push({ kind, sql, params, compare, outcome });
  }

  recordError(
    kind: Entry['kind'],
    sql: string,
    params: readonly Parameter[] | undefined,
    error: unknown,
  ): void {
    if (!(error instanceof DqliteError))
      return this.markUnreplayable(`a statement failed with ${String(error)}`);
    this.#push({ kind, sql, params, compare: true, outcome: { errorCode: error.rawCode } });
  }

  markUnreplayable(reason: string): void {
    this.#unreplayableBecause ??= reason;
  }

  /** Why the transaction cannot be replayed, or undefined when it can. */
  get unreplayableBecause(): string | undefined {
    return this.#unreplayableBecause;
  }

  /**
   * Runs every statement again on `client`; resolves when all gave the same outcomes, else
   * rejects with a description of the first difference (as a ReplayMismatch).
   */
  async replay(client: DqliteClient): Promise<void> {
    for (const [index, entry] of this.#entries.entries()) {
      const outcome = await rerun(client, entry);
      if (!isDeepStrictEqual(outcome, entry.outcome)) {
        throw new ReplayMismatch(
          `statement ${index + 1} (${entry.sql.slice(0, 80)}) gave a different result on the new leader`,
        );
      }
    }
  }

  #push(entry: Entry): void {
    if (this.#entries.length >= JOURNAL_ENTRIES_MAX)
      return this.markUnreplayable(`more than ${JOURNAL_ENTRIES_MAX} statements`);
    if (this.#rows > JOURNAL_ROWS_MAX)
      return this.markUnreplayable(`more than ${JOURNAL_ROWS_MAX} rows read`);
    this.#entries.push(entry);
  }
}

/** A replayed statement did not give what the application saw the first time. */
export class ReplayMismatch extends Error {
  override name = 'ReplayMismatch';
}

async function rerun(client: DqliteClient, entry: Entry): Promise<Entry['outcome']> {
  try {
    const result =
      entry.kind === 'query'
        ? await client.query(entry.sql, entry.params)
        : await client.exec(entry.sql, entry.params);
    return { result: comparable(entry, result) };
  } catch (error) {
    // An SQL error is an outcome to compare; a leader change or a dead socket is the caller's
    // to handle (another replay on another connection).
    if (error instanceof DqliteError && classifyFailure(error) === 'final') {
      return { errorCode: error.rawCode };
    }
    throw error;
  }
}

/** The part of a result that must be equal on replay (see recordResult). */
function comparable(
  entry: Pick<Entry, 'kind' | 'sql' | 'compare'>,
  result: QueryResult | ExecResult,
): QueryResult | ExecResult | 'done' {
  if (!entry.compare) return 'done';
  if (entry.kind === 'query' || classifyStatement(entry.sql).changesRows) return result;
  return 'done';
}
