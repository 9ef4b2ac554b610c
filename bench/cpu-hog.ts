// A 3-node dqlite-ts cluster of processes beside CPU hogs (one busy process per core), with a
// steady writer and reader through the pool: does the cluster keep one leader when nothing
// fails? The hogs start first, so the cluster forms beside them; halfway through, every node is
// stopped (SIGTERM) and started again, as after a host reboot. For each phase (forming, steady,
// stopping, starting again, steady again) it reports how many times a node became
// pre-candidate, candidate or leader (the nodes log it at debug level): forming and starting
// again each need one leader, the steady phases none. Then the writes and reads that succeeded and
// failed, their p99 latency, and whether every replica holds the same data (dqlite-ts check).
// Every loop stops by itself after MINUTES; the hogs are killed by pid.
//
// Run: npm run bench:cpu-hog   (options: MINUTES=10 HOGS=<cores>)
// With DQLITE_TS_CLI=dist/bin/dqlite-ts.js (after npm run build) the nodes run the build.

import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { LocalCluster } from '../bin/local-cluster.js';
import { checkCluster, createPool } from '../index.js';

const MINUTES = Number(process.env.MINUTES ?? 10);
const HOGS = Number(process.env.HOGS ?? os.availableParallelism());

/** "2 (pre-candidate 1, candidate 1, leader 1)"-style summary of campaign lines. */
function describe(lines: readonly { role: string }[]): string {
  const count = (role: string) => lines.filter((line) => line.role === role).length;
  return `${lines.length} (pre-candidate ${count('pre-candidate')}, candidate ${count('candidate')}, leader ${count('leader')})`;
}

function p99(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

const hogs: ChildProcess[] = [];
for (let i = 0; i < HOGS; i++) {
  hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}
const cluster = await LocalCluster.start({ nodes: 3, nodeArgs: ['--log-level', 'debug'] });
// Phases by the time each line was logged (lines reach this process a little later).
const phases: { name: string; from: number; to: number }[] = [];
let phaseStart = 0;
/** Closes a phase: everything logged from the previous boundary until now. */
function endPhase(name: string): void {
  const now = Date.now();
  phases.push({ name, from: phaseStart, to: now });
  phaseStart = now;
}
endPhase('forming');

const pool = createPool({ cluster: cluster.addresses, database: 'hog', timeoutMs: 30_000 });
const writes = { ok: 0, failed: 0, ms: [] as number[] };
const reads = { ok: 0, failed: 0, ms: [] as number[] };
let key = 0;
async function runFor(ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const started = performance.now();
    try {
      await pool.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', [key++ % 1000, `v${key}`]);
      writes.ok++;
      writes.ms.push(performance.now() - started);
    } catch {
      writes.failed++;
    }
    const readStarted = performance.now();
    try {
      await pool.query('SELECT v FROM kv WHERE k = ?', [key % 1000]);
      reads.ok++;
      reads.ms.push(performance.now() - readStarted);
    } catch {
      reads.failed++;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let check: Awaited<ReturnType<typeof checkCluster>>;
try {
  await pool.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)');
  await runFor((MINUTES * 60_000) / 2);
  endPhase('steady');
  // A leader stopped with SIGTERM hands leadership to another voter first: while the nodes stop
  // one by one, leadership moves on purpose.
  for (const address of cluster.addresses) await cluster.kill(address, 'SIGTERM');
  endPhase('stopping every node (SIGTERM hands leadership on)');
  for (const address of cluster.addresses) await cluster.restart(address);
  // The restart's election is over once a write goes through again. A node that starts before
  // the others campaigns alone first: its pre-votes find no quorum and cost no term.
  await pool.exec('INSERT OR REPLACE INTO kv (k, v) VALUES (-1, ?)', ['after the restart']);
  endPhase('starting every node again');
  await runFor((MINUTES * 60_000) / 2);
  endPhase('steady after the restart');
  check = await checkCluster({ cluster: [...cluster.addresses] });
} finally {
  for (const hog of hogs) hog.kill('SIGKILL');
  await pool.close();
  await cluster.stop();
}
console.log(`${MINUTES} min beside ${HOGS} CPU hogs (${os.availableParallelism()} cores):`);
const logged = cluster.campaigns();
for (const phase of phases) {
  const lines = logged.filter((line) => line.time >= phase.from && line.time < phase.to);
  console.log(`  ${phase.name}: ${describe(lines)}`);
}
console.log(
  `  writes: ${writes.ok} ok, ${writes.failed} failed, p99 ${p99(writes.ms).toFixed(1)} ms`,
);
console.log(`  reads: ${reads.ok} ok, ${reads.failed} failed, p99 ${p99(reads.ms).toFixed(1)} ms`);
console.log(
  `  replicas agree: ${check.nodes.every((node) => !node.diverged && node.error === undefined)}`,
);
