import type { BatchStream } from './batch-stream.js';
import type { ResolvedClientOptions } from './options.js';
import { fromWireValue } from './values.js';
import type { RowValue } from './values.js';

/** The answer to a query: column names and rows, each row an array in column order. */
export interface QueryResult {
  readonly columns: string[];
  readonly rows: RowValue[][];
}

/** The answer to a statement that returns no rows. */
export interface ExecResult {
  /** SQLite's last_insert_rowid() of the connection after the statement (see IntegerMode). */
  readonly lastInsertId: number | bigint;
  /** SQLite's changes(): rows inserted, updated or deleted by the last statement. */
  readonly rowsAffected: number;
}

/** Reads a whole stream into memory. @internal */
export async function collect(
  stream: BatchStream,
  options: Pick<ResolvedClientOptions, 'integers'>,
): Promise<QueryResult> {
  let columns: string[] = [];
  const rows: RowValue[][] = [];
  for await (const batch of stream) {
    columns = [...batch.columns];
    for (const row of batch.rows)
      rows.push(row.map((value) => fromWireValue(value, options.integers)));
  }
  return { columns, rows };
}

/** Rows one by one from a stream started lazily, when iteration begins. @internal */
export function iterateRows(
  start: () => BatchStream,
  options: Pick<ResolvedClientOptions, 'integers'>,
): AsyncIterable<RowValue[]> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of start()) {
        for (const row of batch.rows)
          yield row.map((value) => fromWireValue(value, options.integers));
      }
    },
  };
}

/** Batches with their column names from a stream started lazily. @internal */
export function iterateBatches(
  start: () => BatchStream,
  options: Pick<ResolvedClientOptions, 'integers'>,
): AsyncIterable<QueryResult> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of start()) {
        const rows = batch.rows.map((row) =>
          row.map((value) => fromWireValue(value, options.integers)),
        );
        yield { columns: [...batch.columns], rows };
      }
    },
  };
}
