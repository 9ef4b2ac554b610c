// LEADERSHIP_LOST (10506) cannot be produced on demand by a real cluster (it is a race between a
// write's replication and a leader change), so these rows of the retry table are pinned down
// with a scripted node that answers it when told to.

import { afterEach, describe, expect, it } from 'vitest';
import { LeadershipLostError } from '../../../drivers/client/index.js';
import { createPool, OutcomeUnknownError } from '../../../drivers/pool/index.js';
import type { LeaderPool } from '../../../drivers/pool/index.js';
import { ValueType } from '../../../src/wire/index.js';
import type { Request, Response } from '../../../src/wire/index.js';
import { startScriptedNode } from '../client/scripted-node.js';
import type { ScriptedNode } from '../client/scripted-node.js';

const leadershipLost: Response = { type: 'FAILURE', code: 10506, message: 'disk I/O error' };
const ok: Response = { type: 'RESULT', lastInsertId: 1n, rowsAffected: 1 };
const oneRow: Response = {
  type: 'ROWS',
  columns: ['1'],
  rows: [[{ type: ValueType.INTEGER, value: 1n }]],
  more: false,
};

let node: ScriptedNode | undefined;
let pool: LeaderPool | undefined;
afterEach(async () => {
  await pool?.close();
  await node?.close();
});

/** A node that answers `lostWhen` requests with LEADERSHIP_LOST once, everything else normally. */
async function poolWithNode(lostWhen: (request: Request) => boolean) {
  let lost = false;
  const seen: string[] = [];
  node = await startScriptedNode((request, socket, scripted) => {
    const sql = 'sql' in request ? request.sql : request.type;
    seen.push(sql);
    if (!lost && lostWhen(request)) {
      lost = true;
      return scripted.send(socket, leadershipLost);
    }
    scripted.send(socket, request.type === 'QUERY_SQL' ? oneRow : ok);
  });
  pool = createPool({ cluster: [node.address], database: 'app' });
  return { pool, seen };
}

const sqlIs = (text: string) => (request: Request) =>
  'sql' in request && request.sql.startsWith(text);

describe('LEADERSHIP_LOST', () => {
  it('on a write outside a transaction: OutcomeUnknownError, not retried', async () => {
    const { pool, seen } = await poolWithNode(sqlIs('INSERT'));
    const error = await pool.exec('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).cause).toBeInstanceOf(LeadershipLostError);
    expect(seen.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(1);
  });

  it('on a read: retried', async () => {
    const { pool, seen } = await poolWithNode(sqlIs('SELECT'));
    expect((await pool.query('SELECT 1')).rows).toEqual([{ '1': 1 }]);
    expect(seen.filter((sql) => sql.startsWith('SELECT'))).toHaveLength(2);
  });

  it('on a write marked idempotent: retried', async () => {
    const { pool, seen } = await poolWithNode(sqlIs('INSERT'));
    await expect(
      pool.exec('INSERT INTO t VALUES (1)', [], { idempotent: true }),
    ).resolves.toMatchObject({
      rowsAffected: 1,
    });
    expect(seen.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(2);
  });

  it('inside a transaction before COMMIT: fn runs again', async () => {
    const { pool, seen } = await poolWithNode(sqlIs('UPDATE'));
    let runs = 0;
    await pool.transaction(async (tx) => {
      runs++;
      await tx.exec('UPDATE t SET a = 1');
    });
    expect(runs).toBe(2);
    expect(seen.filter((sql) => sql === 'COMMIT')).toHaveLength(1);
  });

  it('at COMMIT of an idempotent transaction: asks the leader, finds the id, does not rerun', async () => {
    const { pool, seen } = await poolWithNode(sqlIs('COMMIT'));
    let runs = 0;
    await expect(
      pool.transaction(
        async (tx) => {
          runs++;
          await tx.exec('UPDATE t SET a = 1');
          return 'done';
        },
        { idempotent: true },
      ),
    ).resolves.toBe('done');
    expect(runs).toBe(1);
    expect(
      seen.some((sql) => sql.startsWith('SELECT 1 FROM dqlite_ts_transactions WHERE id = ?')),
    ).toBe(true);
  });

  it('at COMMIT without idempotent: OutcomeUnknownError', async () => {
    const { pool } = await poolWithNode(sqlIs('COMMIT'));
    const error = await pool
      .transaction(async (tx) => void (await tx.exec('UPDATE t SET a = 1')))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error).toMatchObject({ operation: 'COMMIT' });
  });
});
