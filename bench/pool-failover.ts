// Failover and single-client write rate, dqlite-ts against canonical's C dqlite in one run: each
// cluster in turn, the same writer and the same kills.
//
// A 3-node cluster (dqlite-ts: `dqlite-ts node` processes; C: Debian's dqlite-demo) runs under a
// steady writer: one `pool.exec('INSERT ...')` after
// another, on a pool with default options. Each run SIGKILLs the leader and measures, from the
// kill:
// - election: until a survivor answers as leader (probed every PROBE_INTERVAL_MS with `connect`
//   from drivers/client, leaderTimeoutMs 50, asking only the survivors): the cluster's own cost;
// - leaderChange: until the pool emits 'leaderChange' for the new leader;
// - recovery: until the first write that started after the old leader was gone succeeds (it can
//   only have run on the new leader).
// Then the killed node is restarted and the run waits until it is a voter that knows the leader
// again, plus SETTLE_MS, before the next kill. Per-run numbers are printed, then the median of
// each and the ratio recovery / election (1.00 would mean the pool adds nothing to the election).
//
// Before the first kill the writer runs alone for RATE_MS to measure its steady write rate. At the
// end every acknowledged row must be in the table ("lost" counts those that are not).
//
// Run: npx tsx bench/pool-failover.ts   (options: RUNS=5, RATE_MS=5000, PROVIDERS=dqlite-ts,c-dqlite)

import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../drivers/client/index.js';
import { createPool } from '../drivers/pool/index.js';
import type { LeaderChange, LeaderPool } from '../drivers/pool/index.js';
import { cDqliteProvider } from '../test/interop/c-cluster.js';
import type { ClusterHandle, ClusterProvider } from '../test/interop/cluster-provider.js';
import { dqliteTsProvider } from '../test/interop/dqlite-ts-cluster.js';
import { pollUntil } from '../test/interop/poll-until.js';

const RUNS = Number(process.env.RUNS ?? 5);
const RATE_MS = Number(process.env.RATE_MS ?? 5000);
const PROVIDERS: readonly ClusterProvider[] = (process.env.PROVIDERS ?? 'dqlite-ts,c-dqlite')
  .split(',')
  .map((name) => {
    const provider = [dqliteTsProvider, cDqliteProvider].find((known) => known.name === name);
    if (provider === undefined) throw new RangeError(`unknown provider ${name}`);
    return provider;
  });
const RUNS_MAX = 50;
const DATABASE = 'failover';
const PROBE_INTERVAL_MS = 20;
/** An election after SIGKILL takes ~5-6 s here; this bounds every wait for one. */
const RECOVERY_WAIT_MS = 60_000;
const REJOIN_WAIT_MS = 30_000;
/** Time for the restarted node to catch up before the next kill. */
const SETTLE_MS = 3_000;
/** Writes before the first kill, so connections and caches are warm. */
const WARM_UP_WRITES = 200;
/** The writer's own bounds: a backstop count and a time limit covering every run. */
const WRITES_MAX = 10_000_000;
const WRITER_TIME_MAX_MS = RUNS_MAX * 120_000;
/** After a failed write, so a pool that fails instantly cannot spin the loop. */
const PAUSE_AFTER_FAILURE_MS = 5;
const SHUTDOWN_WAIT_MS = 35_000;

/** One write loop; tells waiters when the first write started after a given time succeeds. */
class Writer {
  readonly failures = new Map<string, number>();
  successes = 0;
  /** Sequence numbers of every acknowledged insert. */
  readonly acknowledged: number[] = [];
  readonly #pool: LeaderPool;
  readonly #waiters = new Set<{ sinceMs: number; resolve: (doneMs: number) => void }>();
  #stopped = false;
  readonly done: Promise<void>;

  constructor(pool: LeaderPool) {
    this.#pool = pool;
    this.done = this.#loop();
  }

  /** Completion time of the first successful write that started at or after `sinceMs`. */
  firstSuccessSince(sinceMs: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const waiter = {
        sinceMs,
        resolve: (doneMs: number) => {
          clearTimeout(timer);
          resolve(doneMs);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no successful write within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  stop(): void {
    this.#stopped = true;
  }

  async #loop(): Promise<void> {
    const startedMs = performance.now();
    for (let count = 0; count < WRITES_MAX && !this.#stopped; count++) {
      if (performance.now() - startedMs > WRITER_TIME_MAX_MS) return;
      const writeStartedMs = performance.now();
      try {
        await this.#pool.exec('INSERT INTO ticks (seq, at_ms) VALUES (?, ?)', [count, Date.now()]);
        this.successes++;
        this.acknowledged.push(count);
        this.#notify(writeStartedMs, performance.now());
      } catch (error) {
        const name = error instanceof Error ? error.constructor.name : typeof error;
        this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
        await sleep(PAUSE_AFTER_FAILURE_MS);
      }
    }
  }

  #notify(writeStartedMs: number, doneMs: number): void {
    for (const waiter of this.#waiters) {
      if (writeStartedMs < waiter.sinceMs) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(doneMs);
    }
  }
}

/** Polls the survivors until one answers as leader; returns when and who. */
function electedAfter(survivors: readonly string[], killMs: number) {
  const probe = async () => {
    const client = await connect({
      cluster: survivors,
      database: DATABASE,
      leaderTimeoutMs: 50,
      connectTimeoutMs: 500,
      requestTimeoutMs: 500,
    });
    const electedMs = performance.now() - killMs;
    await client.close();
    return { electedMs, leader: client.address };
  };
  const options = {
    timeoutMs: RECOVERY_WAIT_MS,
    intervalMs: PROBE_INTERVAL_MS,
    description: `a leader among ${survivors.join(', ')}`,
  };
  return pollUntil(probe, options);
}

/** Waits until `address` is a voter that knows the current leader (it follows it again). */
function rejoined(cluster: ClusterHandle, address: string): Promise<true> {
  const probe = async (remainingMs: number) => {
    // Asking only the restarted node: connecting succeeds once it names a reachable leader.
    const client = await connect({
      cluster: [address],
      database: DATABASE,
      leaderTimeoutMs: Math.min(2000, remainingMs),
    });
    try {
      const nodes = await client.cluster();
      const voter = nodes.some((node) => node.address === address && node.role === 'voter');
      return voter && nodes.length === cluster.addresses.length ? (true as const) : undefined;
    } finally {
      await client.close();
    }
  };
  const options = { timeoutMs: REJOIN_WAIT_MS, intervalMs: 200, description: `${address} back` };
  return pollUntil(probe, options);
}

interface RunResult {
  readonly killed: string;
  readonly newLeader: string;
  readonly electionMs: number;
  readonly leaderChangeMs: number;
  readonly recoveryMs: number;
  readonly writerFailures: string;
}

async function measureRun(
  cluster: ClusterHandle,
  pool: LeaderPool,
  writer: Writer,
  changes: readonly { atMs: number; change: LeaderChange }[],
): Promise<RunResult> {
  const killed = pool.stats().leader;
  if (killed === null) throw new Error('the pool knows no leader');
  const failuresBefore = new Map(writer.failures);
  const survivors = cluster.addresses.filter((address) => address !== killed);
  const killMs = performance.now();
  await cluster.kill(killed);
  // Writes that start now cannot reach the old leader: its process is gone.
  const recovery = writer.firstSuccessSince(performance.now(), RECOVERY_WAIT_MS);
  recovery.catch(() => undefined); // awaited below; this only keeps it from going unhandled
  const election = await electedAfter(survivors, killMs);
  const recoveryMs = (await recovery) - killMs;
  const change = await pollUntil(async () => changes.find((seen) => seen.atMs >= killMs), {
    timeoutMs: RECOVERY_WAIT_MS,
    intervalMs: 50,
    description: 'a leaderChange event',
  });
  await cluster.restart(killed);
  await rejoined(cluster, killed);
  await sleep(SETTLE_MS);
  return {
    killed,
    newLeader: election.leader,
    electionMs: election.electedMs,
    leaderChangeMs: change.atMs - killMs,
    recoveryMs,
    writerFailures: describeNewFailures(failuresBefore, writer.failures),
  };
}

function describeNewFailures(before: Map<string, number>, after: Map<string, number>): string {
  const grown = [...after].filter(([name, count]) => count > (before.get(name) ?? 0));
  const parts = grown.map(([name, count]) => `${name} ${count - (before.get(name) ?? 0)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Summary {
  readonly provider: string;
  readonly writesPerSecond: number;
  readonly electionMs: number;
  readonly recoveryMs: number;
  readonly lost: number;
}

function printResults(results: readonly RunResult[]): void {
  const ms = (value: number) => `${Math.round(value)} ms`.padStart(8);
  results.forEach((result, index) => {
    console.log(
      `run ${index + 1}: killed ${result.killed}, new leader ${result.newLeader}; ` +
        `election ${ms(result.electionMs)}, leaderChange ${ms(result.leaderChangeMs)}, ` +
        `recovery ${ms(result.recoveryMs)} (${(result.recoveryMs / result.electionMs).toFixed(2)} x); ` +
        `writer failures: ${result.writerFailures}`,
    );
  });
  const election = median(results.map((result) => result.electionMs));
  const leaderChange = median(results.map((result) => result.leaderChangeMs));
  const recovery = median(results.map((result) => result.recoveryMs));
  console.log(
    `median of ${results.length}: election ${ms(election)}, leaderChange ${ms(leaderChange)}, ` +
      `recovery ${ms(recovery)}; recovery / election ${(recovery / election).toFixed(2)} ` +
      `(the pool adds ${Math.round(recovery - election)} ms)`,
  );
}

/** Ends `work` or gives up after `timeoutMs`, so a stuck shutdown cannot hang the benchmark. */
async function within(work: Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeoutMs);
  });
  const outcome = await Promise.race([work, expired]);
  clearTimeout(timer);
  if (outcome === 'expired') console.error(`${what} still pending after ${timeoutMs} ms`);
}

async function measure(provider: ClusterProvider): Promise<Summary> {
  const missing = provider.unavailableReason();
  if (missing) throw new Error(`cannot benchmark ${provider.name}: ${missing}`);
  const cluster = await provider.start({ nodes: 3 });
  const pool = createPool({ cluster: [...cluster.addresses], database: DATABASE });
  pool.on('error', () => undefined); // failed connection attempts; the writer sees the outcome
  const changes: { atMs: number; change: LeaderChange }[] = [];
  pool.on('leaderChange', (change: LeaderChange) =>
    changes.push({ atMs: performance.now(), change }),
  );
  let writer: Writer | undefined;
  try {
    await pool.exec(
      'CREATE TABLE ticks (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL)',
    );
    writer = new Writer(pool);
    await pollUntil(async () => (writer!.successes >= WARM_UP_WRITES ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: `${WARM_UP_WRITES} warm-up writes`,
    });
    const before = writer.successes;
    const rateStartedMs = performance.now();
    await sleep(RATE_MS);
    const rate = (writer.successes - before) / ((performance.now() - rateStartedMs) / 1000);
    console.log(
      `${provider.name}: one client writes ${rate.toFixed(0)} rows/s; ${RUNS} failover runs`,
    );
    const results: RunResult[] = [];
    for (let run = 0; run < RUNS; run++)
      results.push(await measureRun(cluster, pool, writer, changes));
    printResults(results);
    writer.stop();
    await within(writer.done, SHUTDOWN_WAIT_MS, 'the writer');
    const { rows } = await pool.query('SELECT seq FROM ticks', [], { rowMode: 'array' });
    const stored = new Set(rows.map((row) => Number((row as unknown[])[0])));
    return {
      provider: provider.name,
      writesPerSecond: rate,
      electionMs: median(results.map((result) => result.electionMs)),
      recoveryMs: median(results.map((result) => result.recoveryMs)),
      lost: writer.acknowledged.filter((seq) => !stored.has(seq)).length,
    };
  } finally {
    writer?.stop();
    await within(writer?.done ?? Promise.resolve(), SHUTDOWN_WAIT_MS, 'the writer');
    await within(pool.close(), SHUTDOWN_WAIT_MS, 'pool.close()');
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  if (!Number.isSafeInteger(RUNS) || RUNS < 1 || RUNS > RUNS_MAX)
    throw new RangeError(`RUNS must be an integer from 1 to ${RUNS_MAX}`);
  const summaries: Summary[] = [];
  for (const provider of PROVIDERS) summaries.push(await measure(provider));
  const baseline = summaries.find((summary) => summary.provider === 'c-dqlite');
  console.log('');
  console.log(
    '| cluster | one-client writes/s | ratio | election (median) | pool recovery (median) | ratio | acknowledged writes lost |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const summary of summaries) {
    const writeRatio = baseline
      ? (summary.writesPerSecond / baseline.writesPerSecond).toFixed(2)
      : '-';
    const recoveryRatio = baseline ? (summary.recoveryMs / baseline.recoveryMs).toFixed(3) : '-';
    console.log(
      `| ${summary.provider} | ${summary.writesPerSecond.toFixed(0)} | ${writeRatio} | ${Math.round(summary.electionMs)} ms | ${Math.round(summary.recoveryMs)} ms | ${recoveryRatio} | ${summary.lost} |`,
    );
  }
}

await main();
