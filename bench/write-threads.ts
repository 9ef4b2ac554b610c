// Where one write's CPU goes, thread by thread: a 3-node cluster of processes and one client
// writing 1 KiB rows one at a time (the kvwrite-1 shape) over ROWS keys (the bench's preload),
// after a warm-up of as many writes.
// For the leader and for a follower it reports, per write, the CPU time and the voluntary context
// switches (a thread going to sleep: each costs a wake-up later) of the main thread, of the
// busiest other thread (the SQL engine's worker), and of all the other threads together (libuv's
// thread pool, where the Raft log's O_DSYNC writes run, and V8's helpers), read from
// /proc/<pid>/task/*/stat and status before and after. Linux only.
//
// Run: npm run build && DQLITE_TS_CLI=dist/bin/dqlite-ts.js npm run bench:write-threads
//      (options: WRITES=3000 ROWS=1000; `dqlite-ts bench` loads 100000)

import fs from 'node:fs';
import { LocalCluster } from '../bin/local-cluster.js';
import { connect } from '../drivers/client/index.js';
import { threadCpuSeconds, threadVoluntarySwitches } from './compare/process-stats.js';
import { LatencyRecorder } from './compare/statistics.js';
import { DATABASE, keyOf, preload } from './compare/workloads.js';

const WRITES = Number(process.env.WRITES ?? 3000);
const ROWS = Number(process.env.ROWS ?? 1000);
interface ThreadCounters {
  readonly cpuMs: number;
  readonly switches: number;
}

/** Every thread of `pid` still running: CPU (user + system) and voluntary context switches. */
function threadsOf(pid: number): Map<number, ThreadCounters> {
  const threads = new Map<number, ThreadCounters>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`).map(Number)) {
    const cpuSeconds = threadCpuSeconds(pid, tid);
    const switches = threadVoluntarySwitches(pid, tid);
    // A thread that ended between the listing and the reads is left out.
    if (cpuSeconds === undefined || switches === undefined) continue;
    threads.set(tid, { cpuMs: cpuSeconds * 1000, switches });
  }
  return threads;
}

interface Share {
  readonly cpuUs: number;
  readonly switches: number;
}

/** Per write: the main thread, the busiest other thread, and the rest together. */
function perWrite(
  pid: number,
  before: Map<number, ThreadCounters>,
  after: Map<number, ThreadCounters>,
): { main: Share; busiest: Share; rest: Share } {
  const deltas = [...after].map(([tid, counters]) => {
    const start = before.get(tid) ?? { cpuMs: 0, switches: 0 };
    return {
      tid,
      cpuUs: ((counters.cpuMs - start.cpuMs) * 1000) / WRITES,
      switches: (counters.switches - start.switches) / WRITES,
    };
  });
  const main = deltas.find((delta) => delta.tid === pid) ?? { cpuUs: 0, switches: 0 };
  const others = deltas.filter((delta) => delta.tid !== pid).sort((a, b) => b.cpuUs - a.cpuUs);
  const busiest = others[0] ?? { cpuUs: 0, switches: 0 };
  const rest = others
    .slice(1)
    .reduce(
      (sum, delta) => ({ cpuUs: sum.cpuUs + delta.cpuUs, switches: sum.switches + delta.switches }),
      { cpuUs: 0, switches: 0 },
    );
  return { main, busiest, rest };
}

const cluster = await LocalCluster.start({ nodes: 3 });
try {
  await preload(cluster.addresses, ROWS);
  const client = await connect({ cluster: cluster.addresses, database: DATABASE });
  const insert = await client.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  const value = Buffer.alloc(1024, 7);
  const leader = cluster.nodes.find((node) => node.address === client.address);
  const follower = cluster.nodes.find((node) => node.address !== client.address);
  if (leader?.pid === undefined || follower?.pid === undefined) throw new Error('no leader pid');
  const nodes = [
    { role: 'leader', pid: leader.pid },
    { role: 'follower', pid: follower.pid },
  ];
  const run = async () => {
    const latencies = new LatencyRecorder();
    for (let i = 0; i < WRITES; i++) {
      const started = performance.now();
      // Keys in a fixed scattered order, as the bench's random ones: each write its own leaf.
      await insert.exec([keyOf((i * 7919) % ROWS), value]);
      latencies.record(performance.now() - started);
    }
    return latencies.percentiles();
  };
  await run(); // warm-up: JIT, page cache, log segments
  const before = nodes.map((node) => threadsOf(node.pid));
  const started = performance.now();
  const { p50, p99 } = await run();
  const seconds = (performance.now() - started) / 1000;
  const after = nodes.map((node) => threadsOf(node.pid));
  await client.close();
  console.log(
    `${WRITES} writes of 1 KiB, one at a time: ${Math.round(WRITES / seconds)} writes/s, ` +
      `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms\n`,
  );
  console.log('| node | thread | CPU µs per write | voluntary context switches per write |');
  console.log('| --- | --- | --- | --- |');
  for (const [i, node] of nodes.entries()) {
    const shares = perWrite(node.pid, before[i]!, after[i]!);
    for (const [thread, share] of [
      ['main', shares.main],
      ['busiest other (SQL engine)', shares.busiest],
      ['all others (thread pool, V8)', shares.rest],
    ] as const) {
      console.log(
        `| ${node.role} | ${thread} | ${Math.round(share.cpuUs)} | ${share.switches.toFixed(2)} |`,
      );
    }
  }
} finally {
  await cluster.stop();
}
