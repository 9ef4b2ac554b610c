/**
 * One statement of a reserved connection, as its two parts run it: a query or an exec, sent to a
 * client as such, and the answer of a statement that had nothing left to do.
 */
import type { DqliteClient, ExecResult, Parameter, QueryResult } from '../client/index.js';

export type StatementKind = 'query' | 'exec';
export type StatementOutcome = QueryResult | ExecResult;

export function runStatement(
  client: DqliteClient,
  kind: StatementKind,
  sql: string,
  params: readonly Parameter[] | undefined,
): Promise<StatementOutcome> {
  return kind === 'query' ? client.query(sql, params) : client.exec(sql, params);
}

/** What a statement that had nothing left to do answers. */
export function emptyOutcome(kind: StatementKind): StatementOutcome {
  return kind === 'query' ? { columns: [], rows: [] } : { lastInsertId: 0, rowsAffected: 0 };
}
