// How much a heavy read load delays a leader's Raft timers (docs/architecture.md, "The event loop
// is sacred"). Heartbeats are sent from the tick timer on the node's main thread, which also runs
// the client sessions; SQL runs in the engine's worker. The timer's lateness is the heartbeat's.
//
// Three nodes run in this process (so their main thread is measured with monitorEventLoopDelay);
// the load comes from a separate process (`--load`) of CONCURRENCY pooled readers doing point
// SELECTs for SECONDS. Reported: event-loop delay p50/p99/max idle (the baseline, same run) and
// under load, the reads per second, and leader changes during the load (must be 0).
//
// Run: npx tsx bench/heartbeat-under-load.ts   (options: SECONDS=10 CONCURRENCY=32)

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNode, createPool, type DqliteNode } from '../index.js';
import { freePorts } from '../bin/local-cluster.js';

const SECONDS = Number(process.env.SECONDS ?? 10);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const DATABASE = 'heartbeat';
const ROWS = 10_000;

/** The load process: CONCURRENCY readers until SECONDS pass; prints the number of reads. */
async function load(cluster: string[]): Promise<void> {
  const pool = createPool({ cluster, database: DATABASE, max: CONCURRENCY });
  const deadline = Date.now() + SECONDS * 1000;
  let reads = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        await pool.query('SELECT v FROM kv WHERE k = ?', [Math.floor(Math.random() * ROWS)]);
        reads++;
      }
    }),
  );
  await pool.close();
  console.log(String(reads));
}

function delays(histogram: ReturnType<typeof monitorEventLoopDelay>) {
  const ms = (nanoseconds: number) => (nanoseconds / 1e6).toFixed(1);
  return `p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms`;
}

async function main(): Promise<void> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'heartbeat-bench-'));
  const nodes: DqliteNode[] = [];
  try {
    const addresses = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    const [first] = addresses as [string];
    for (const [i, address] of addresses.entries()) {
      const join = i === 0 ? [] : [first];
      nodes.push(await createNode({ address, dataDir: path.join(directory, String(i)), join }));
    }
    const pool = createPool({ cluster: addresses, database: DATABASE });
    await pool.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)');
    await pool
      .exec(`INSERT INTO kv SELECT value, hex(randomblob(16)) FROM generate_series(0, ${ROWS - 1})`)
      .catch(async () => {
        // generate_series may be missing from this SQLite build: insert with a recursive CTE.
        await pool.exec(
          `WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < ${ROWS - 1}) INSERT INTO kv SELECT x, hex(randomblob(16)) FROM s`,
        );
      });
    await pool.close();
    while (nodes.filter((node) => node.cluster().every((m) => m.role === 'voter')).length < 3) {
      await sleep(100);
    }

    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await sleep(SECONDS * 1000);
    idle.disable();

    const leaderBefore = nodes.find((node) => node.isLeader())?.id;
    const leaders = new Set<number>();
    const watch = setInterval(() => {
      for (const node of nodes) if (node.isLeader()) leaders.add(node.id);
    }, 10);
    const busy = monitorEventLoopDelay({ resolution: 1 });
    busy.enable();
    const self = fileURLToPath(import.meta.url);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), self, '--load', addresses.join(',')],
      { env: process.env, timeout: (SECONDS + 60) * 1000 },
    );
    busy.disable();
    clearInterval(watch);
    const reads = Number(stdout.trim());
    console.log(
      `3 nodes in this process; load: ${CONCURRENCY} readers in another process, ${SECONDS} s`,
    );
    console.log(`| main-thread timer delay | p50 | p99 | max |`);
    console.log(`| --- | --- | --- | --- |`);
    for (const [name, histogram] of [
      ['idle (baseline)', idle],
      [`${Math.round(reads / SECONDS)} point reads/s`, busy],
    ] as const) {
      const [p50, p99, max] = delays(histogram).match(/[\d.]+ ms/g) ?? [];
      console.log(`| ${name} | ${p50} | ${p99} | ${max} |`);
    }
    const changed = leaders.size > 1 || (leaderBefore !== undefined && !leaders.has(leaderBefore));
    console.log(`leader changes during the load: ${changed ? leaders.size - 1 : 0}`);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

const loadIndex = process.argv.indexOf('--load');
if (loadIndex >= 0) await load((process.argv[loadIndex + 1] ?? '').split(','));
else await main();
