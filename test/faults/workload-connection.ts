// What a workload's operation needs of a connection, and the ways the fault runs get one: the
// run's long-lived pool, and a churn client's fresh pool or client of its own (churn-client.ts).
// One narrow type keeps one piece of code per operation, whichever way it reaches the cluster.

import type { DqliteClient, ExecResult, Parameter } from '../../drivers/client/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';

export interface WorkloadConnection {
  /** The rows of the first statement of `sql`, each an array in column order. */
  query(sql: string, parameters: readonly Parameter[]): Promise<readonly (readonly unknown[])[]>;
  exec(sql: string, parameters: readonly Parameter[]): Promise<ExecResult>;
}

export function poolConnection(pool: LeaderPool): WorkloadConnection {
  return {
    query: async (sql, parameters) =>
      (await pool.query(sql, parameters, { rowMode: 'array' })).rows,
    exec: (sql, parameters) => pool.exec(sql, parameters),
  };
}

export function clientConnection(client: DqliteClient): WorkloadConnection {
  return {
    query: async (sql, parameters) => (await client.query(sql, parameters)).rows,
    exec: (sql, parameters) => client.exec(sql, parameters),
  };
}
