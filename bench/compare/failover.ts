// The failover workload: 32 writers insert unique rows through the pool (drivers/pool, default
// retry policy), the leader is killed with SIGKILL, and the run measures how long until a write
// that started after the kill succeeds, then checks that every acknowledged row is still there.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../drivers/client/index.js';
import { createPool } from '../../drivers/pool/index.js';
import type { BenchCluster } from './clusters.js';
import { DATABASE, VALUE_BYTES } from './workloads.js';

export interface FailoverResult {
  /** From the SIGKILL until the first write that started after it succeeded. */
  readonly recoveryMs: number;
  readonly acknowledged: number;
  /** Acknowledged rows missing afterwards: anything but 0 is lost data. */
  readonly missing: number;
  /** Writes that failed (the pool gave up on them); their outcome is unknown, not lost. */
  readonly failedWrites: number;
}

const WRITERS = 32;
/** Writing before the kill, so connections are warm and the pool knows the leader. */
const WARM_UP_MS = 1000;
/** Writing after the recovery, to see the new leader keep up. */
const AFTER_RECOVERY_MS = 1000;
const RECOVERY_WAIT_MS = 60_000;
const REJOIN_WAIT_MS = 60_000;
const WRITES_PER_WRITER_MAX = 1_000_000;
const PAUSE_AFTER_FAILURE_MS = 5;

/** Runs 32 insert loops until stopped; reports the first success that started after a time. */
class Writers {
  readonly acknowledged: string[] = [];
  failed = 0;
  #stopped = false;
  #firstSuccessAfter: { sinceMs: number; resolve: (doneMs: number) => void } | undefined;
  readonly done: Promise<void>;

  constructor(exec: (sql: string, parameters: unknown[]) => Promise<unknown>, runId: string) {
    const loops = Array.from({ length: WRITERS }, async (_, writer) => {
      const value = randomBytes(VALUE_BYTES);
      for (let count = 0; count < WRITES_PER_WRITER_MAX && !this.#stopped; count++) {
        const key = `${runId}-${writer}-${count}`;
        const startedMs = performance.now();
        try {
          await exec('INSERT INTO failover (k, v) VALUES (?, ?)', [key, value]);
          this.acknowledged.push(key);
          const waiter = this.#firstSuccessAfter;
          if (waiter !== undefined && startedMs >= waiter.sinceMs) {
            this.#firstSuccessAfter = undefined;
            waiter.resolve(performance.now());
          }
        } catch {
          this.failed++;
          await sleep(PAUSE_AFTER_FAILURE_MS);
        }
      }
    });
    this.done = Promise.all(loops).then(() => undefined);
  }

  firstSuccessAfter(sinceMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no write succeeded within ${RECOVERY_WAIT_MS} ms of the kill`)),
        RECOVERY_WAIT_MS,
      );
      this.#firstSuccessAfter = {
        sinceMs,
        resolve: (doneMs) => {
          clearTimeout(timer);
          resolve(doneMs);
        },
      };
    });
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return this.done;
  }
}

/** Kills the leader under load once, measures, then restarts it and waits until it is a voter. */
export async function runFailover(cluster: BenchCluster, runId: string): Promise<FailoverResult> {
  const pool = createPool({ cluster: [...cluster.addresses], database: DATABASE, max: WRITERS });
  pool.on('error', () => undefined); // failed connection attempts; the writers see the outcome
  let writers: Writers | undefined;
  try {
    await pool.exec('CREATE TABLE IF NOT EXISTS failover (k TEXT PRIMARY KEY, v BLOB NOT NULL)');
    writers = new Writers((sql, parameters) => pool.exec(sql, parameters as never[]), runId);
    await sleep(WARM_UP_MS);
    const leader = pool.stats().leader;
    if (leader === null) throw new Error('the pool knows no leader');
    const killedMs = performance.now();
    await cluster.kill(leader);
    const recoveredMs = await writers.firstSuccessAfter(performance.now());
    await sleep(AFTER_RECOVERY_MS);
    await writers.stop();
    const { rows } = await pool.query('SELECT k FROM failover WHERE k LIKE ?', [`${runId}-%`], {
      rowMode: 'array',
    });
    const stored = new Set(rows.map((row) => String((row as unknown[])[0])));
    const missing = writers.acknowledged.filter((key) => !stored.has(key)).length;
    await cluster.restart(leader);
    await rejoined(cluster, leader);
    return {
      recoveryMs: recoveredMs - killedMs,
      acknowledged: writers.acknowledged.length,
      missing,
      failedWrites: writers.failed,
    };
  } finally {
    await writers?.stop();
    await pool.close();
  }
}

/** Waits until `address` is a voter again that knows the leader (asking only that node). */
async function rejoined(cluster: BenchCluster, address: string): Promise<void> {
  const deadline = performance.now() + REJOIN_WAIT_MS;
  while (performance.now() < deadline) {
    try {
      const client = await connect({
        cluster: [address],
        database: DATABASE,
        leaderTimeoutMs: 2000,
      });
      try {
        const members = await client.cluster();
        const voter = members.some(
          (member) => member.address === address && member.role === 'voter',
        );
        if (voter && members.length === cluster.addresses.length) return;
      } finally {
        await client.close();
      }
    } catch {
      // Not back yet: it is still starting or has not heard from the leader.
    }
    await sleep(200);
  }
  throw new Error(`${address} did not rejoin as a voter within ${REJOIN_WAIT_MS} ms`);
}
