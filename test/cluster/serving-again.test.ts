// A Raft leader whose SQL engine stepped down because a proposal was refused serves SQL again
// once a barrier of its term is applied, however often that happens within one term: refusals
// for too many uncommitted entries, and writes refused while a leadership transfer runs (and
// then fails). Before, only the first step-down of a term came back; after the second, the node
// stayed leader for Raft and never served SQL again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, createPool } from '../../index.js';
import { Role } from '../../src/raft/index.js';
import { ReplicatedEngine } from '../../src/server/replicated-engine.js';
import type { EngineOutcome } from '../../src/server/sql/engine-messages.js';
import { ErrorCode, ValueType } from '../../src/wire/index.js';
import { converged } from './node-content.js';
import { waitUntil } from '../interop/poll-until.js';

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

describe('a leader whose proposals were refused', () => {
  let engine: ReplicatedEngine | undefined;
  afterEach(async () => {
    await engine?.close({ handover: false });
  });

  it('serves again after every refusal for too many uncommitted entries, all in one term', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serving-again-'));
    directories.push(dataDir);
    const address = '127.0.0.1:1';
    engine = await ReplicatedEngine.start({
      id: 1,
      address,
      dataDir,
      bootstrap: { servers: [{ id: 1, address, role: Role.voter }] },
      // One entry may wait to commit: concurrent writers find the next proposal refused.
      raft: { uncommittedEntriesMax: 1 },
      busyTimeoutMs: 5000,
      onFatal: (error) => {
        throw error;
      },
    });
    const node = engine;
    await waitUntil(() => node.isServing(), 'the node serving');
    const sessions = [1, 2, 3, 4, 5, 6, 7, 8];
    for (const session of sessions) await node.local({ op: 'open', session, database: 'app' });
    const exec = (session: number, sql: string, value = 0n): Promise<EngineOutcome> =>
      node.execute({
        op: 'exec-sql',
        session,
        sql,
        parameters: value === 0n ? [] : [{ type: ValueType.INTEGER, value }],
      });
    expect(await exec(1, 'CREATE TABLE t (x INTEGER)')).toMatchObject({ ok: true });
    const term = node.status().term;
    /** Rounds in which a proposal was refused, so the engine stepped down (once per round). */
    let stepDowns = 0;
    let written = 0n;
    // Rounds of 8 concurrent writers until two of them made the engine step down (bounded: a
    // refusal needs only that a second proposal arrives before the first committed).
    for (let round = 0; round < 30 && stepDowns < 2; round++) {
      const outcomes = await Promise.all(
        sessions.map((session) => exec(session, 'INSERT INTO t VALUES (?)', ++written)),
      );
      // The refused write did not happen: NOT_LEADER, which a pool runs again.
      const refused = outcomes.some(
        (outcome) =>
          !outcome.ok &&
          outcome.code === ErrorCode.SQLITE_IOERR_NOT_LEADER &&
          /was not committed/.test(outcome.message),
      );
      if (refused) stepDowns += 1;
      await waitUntil(() => node.isServing(), `serving again after round ${round}`);
    }
    expect(stepDowns).toBe(2);
    expect(node.status().term).toBe(term);
    expect(await exec(1, 'INSERT INTO t VALUES (-1)')).toMatchObject({ ok: true });
  }, 60_000);
});

describe('a leader whose leadership transfers failed', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
  });

  it('serves again after each failed transfer in one term', async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    const addresses = cluster.addresses;
    const pool = createPool({ cluster: addresses, database: 'transfers' });
    try {
      await pool.exec('CREATE TABLE t (x INTEGER)');
      const admin = await connect({ cluster: addresses, database: 'transfers' });
      const leaderAddress = admin.address;
      const target = (await admin.cluster()).find((node) => node.address !== leaderAddress);
      if (target === undefined) throw new Error('no follower to transfer to');
      // The target is gone: each transfer to it runs until it times out, then fails.
      await cluster.kill(target.address);
      for (let attempt = 0; attempt < 2; attempt++) {
        const transfer = admin.transfer(target.id).then(
          () => 'transferred',
          (error: Error) => error.message,
        );
        // A write while the transfer runs is refused by Raft: the engine steps down.
        const during = await connect({ cluster: [leaderAddress], database: 'transfers' })
          .then((client) => client.exec('INSERT INTO t VALUES (1)').finally(() => client.close()))
          .then(
            () => 'written',
            (error: Error) => error.message,
          );
        expect(await transfer).not.toBe('transferred');
        expect(typeof during).toBe('string');
        // It must serve SQL again, on the same node: the transfer failed, nobody else leads.
        await waitUntil(
          async () => {
            const client = await connect({ cluster: [leaderAddress], database: 'transfers' }).catch(
              () => undefined,
            );
            if (client === undefined) return false;
            try {
              await client.exec('INSERT INTO t VALUES (2)');
              return true;
            } catch {
              return false;
            } finally {
              await client.close();
            }
          },
          `the leader serving again after failed transfer ${attempt + 1}`,
        );
      }
      await admin.close();
      await cluster.restart(target.address);
      await converged(addresses, 'transfers');
    } finally {
      await pool.close();
    }
  }, 90_000);
});
