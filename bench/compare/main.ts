// `dqlite-ts bench`: dqlite-ts against canonical's C dqlite, side by side, in one run. Starts a
// 3-node cluster of each (separate processes on loopback), measures the floors of this machine,
// then runs every workload on each cluster in turn, alternating which goes first each round, and
// prints Markdown tables (optionally JSON too). See docs/benchmarks.md.

import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  CLUSTER_NAMES,
  cDqliteMissing,
  startCDqlite,
  startDqliteTs,
  type BenchCluster,
  type ClusterName,
} from './clusters.js';
import { measureContentCheck, type ContentCheckCost } from './content-check.js';
import { runFailover } from './failover.js';
import { measureFloors } from './floors.js';
import { cpuSeconds, peakRssMiB, totalCpuSeconds } from './process-stats.js';
import {
  renderMarkdown,
  toJson,
  type BenchResults,
  type NodeUsage,
  type WorkloadRun,
} from './report.js';
import { preload, runWorkload, WORKLOAD_NAMES, type WorkloadName } from './workloads.js';

const BENCH_USAGE = `dqlite-ts bench [--quick] [--json PATH] [--rounds N] [--seconds S] [--rows N]
                [--workloads kvwrite-1,...] [--clusters ${CLUSTER_NAMES.join(',')}]
                [--no-failover]
  Benchmarks a 3-node dqlite-ts cluster against a 3-node C dqlite cluster (Debian's go-dqlite,
  dqlite-demo) on this machine, with the same load generator; dqlite-ts+metrics is dqlite-ts
  with every node's HTTP endpoint (--http) scraped once a second, to show what monitoring costs. Defaults: 3 rounds, 5 s per
  workload, 100,000 rows. --quick: 1 round of 1.5 s on 10,000 rows, about a minute.
  Workloads: ${WORKLOAD_NAMES.join(', ')}, failover.`;

interface BenchOptions {
  readonly help: boolean;
  readonly quick: boolean;
  readonly json: string | undefined;
  readonly rounds: number;
  readonly seconds: number;
  readonly rows: number;
  readonly workloads: readonly WorkloadName[];
  readonly clusters: readonly ClusterName[];
  readonly failover: boolean;
}

class BenchUsageError extends Error {}

function positive(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max)
    throw new BenchUsageError(`--${name} must be a number above 0 and at most ${max}, got ${text}`);
  return value;
}

function listOf<T extends string>(
  name: string,
  text: string | undefined,
  known: readonly T[],
): T[] {
  if (text === undefined) return [...known];
  const items = text.split(',').map((item) => item.trim());
  for (const item of items)
    if (!known.includes(item as T))
      throw new BenchUsageError(`--${name}: unknown "${item}" (known: ${known.join(', ')})`);
  return items as T[];
}

export function parseBenchArgs(args: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      rows: { type: 'string' },
      workloads: { type: 'string' },
      clusters: { type: 'string' },
      'no-failover': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick === true;
  return {
    help: values.help === true,
    quick,
    json: values.json,
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3, 20)),
    seconds: positive('seconds', values.seconds, quick ? 1.5 : 5, 600),
    rows: Math.round(positive('rows', values.rows, quick ? 10_000 : 100_000, 10_000_000)),
    workloads: listOf('workloads', values.workloads, WORKLOAD_NAMES),
    clusters: listOf('clusters', values.clusters, CLUSTER_NAMES),
    failover: values['no-failover'] !== true,
  };
}

/** Peak RSS and CPU seconds per node, sampled between workloads (a killed process keeps its last). */
class NodeUsageTracker {
  readonly #peakRss = new Map<string, number>();
  readonly #cpuByPid = new Map<number, { address: string; seconds: number }>();

  sample(cluster: BenchCluster): void {
    for (const [address, pid] of cluster.pids()) {
      const rss = peakRssMiB(pid);
      if (rss !== undefined)
        this.#peakRss.set(address, Math.max(rss, this.#peakRss.get(address) ?? 0));
      const seconds = cpuSeconds(pid);
      if (seconds !== undefined) this.#cpuByPid.set(pid, { address, seconds });
    }
  }

  usage(cluster: BenchCluster): NodeUsage[] {
    return cluster.addresses.map((address) => ({
      address,
      peakRssMiB: this.#peakRss.get(address) ?? Number.NaN,
      cpuSeconds: [...this.#cpuByPid.values()]
        .filter((entry) => entry.address === address)
        .reduce((sum, entry) => sum + entry.seconds, 0),
    }));
  }
}

function machineDescription(): string {
  const cpus = os.cpus();
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${memoryGiB} GiB, Linux ${os.release()}, Node ${process.version}`;
}

async function runOne(
  cluster: BenchCluster,
  workload: WorkloadName,
  options: BenchOptions,
): Promise<WorkloadRun> {
  const pids = [...cluster.pids().values()];
  const cpuBefore = totalCpuSeconds(pids);
  const result = await runWorkload(
    workload,
    { addresses: cluster.addresses, rows: options.rows },
    options.seconds * 1000,
  );
  const cpu = totalCpuSeconds(pids) - cpuBefore;
  return {
    ...result,
    clusterCpuMicrosPerOp: result.ok === 0 ? Number.NaN : (cpu / result.ok) * 1e6,
  };
}

function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

export async function runBench(options: BenchOptions, command: string): Promise<BenchResults> {
  const clusterNames = [...options.clusters];
  if (clusterNames.includes('c-dqlite')) {
    const missing = cDqliteMissing();
    if (missing !== null) {
      if (process.env.CI === 'true') throw new Error(`C dqlite is needed in CI: ${missing}`);
      progress(`!!! SKIPPING the C dqlite cluster: ${missing}`);
      clusterNames.splice(clusterNames.indexOf('c-dqlite'), 1);
    }
  }
  progress(`floors (${machineDescription()})`);
  const floorMs = options.quick ? 300 : 1000;
  const floors = await measureFloors(os.tmpdir(), options.rows, floorMs);
  const clusters: BenchCluster[] = [];
  const runs: BenchResults['runs'] = {};
  const failover: BenchResults['failover'] = {};
  const nodes: BenchResults['nodes'] = {};
  const usage = new NodeUsageTracker();
  let contentCheck: ContentCheckCost | undefined;
  try {
    for (const name of clusterNames) {
      progress(`starting a 3-node ${name} cluster`);
      const cluster =
        name === 'c-dqlite'
          ? await startCDqlite()
          : await startDqliteTs(name === 'dqlite-ts+metrics');
      clusters.push(cluster);
      progress(`${name}: loading ${options.rows} rows`);
      await preload(cluster.addresses, options.rows);
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? clusters : [...clusters].reverse();
      for (const workload of options.workloads) {
        for (const cluster of order) {
          const run = await runOne(cluster, workload, options);
          usage.sample(cluster);
          const byWorkload = (runs[cluster.name] ??= {});
          (byWorkload[workload] ??= []).push(run);
          progress(
            `round ${round + 1} ${workload} ${cluster.name}: ${Math.round(run.opsPerSecond)} ops/s, ` +
              `p99 ${run.p99Ms.toFixed(2)} ms, ${run.errors} errors`,
          );
        }
      }
      if (!options.failover) continue;
      // Failover is the same code with metrics on or off: measured on the two it compares.
      for (const cluster of order.filter((each) => each.name !== 'dqlite-ts+metrics')) {
        usage.sample(cluster);
        const result = await runFailover(cluster, `round${round}`);
        (failover[cluster.name] ??= []).push(result);
        progress(
          `round ${round + 1} failover ${cluster.name}: recovered in ${Math.round(result.recoveryMs)} ms, ` +
            `${result.missing} of ${result.acknowledged} acknowledged writes missing`,
        );
      }
    }
    for (const cluster of clusters) {
      usage.sample(cluster);
      nodes[cluster.name] = usage.usage(cluster);
    }
    const ours = clusters.find((cluster) => cluster.name === 'dqlite-ts');
    if (ours !== undefined) {
      contentCheck = await measureContentCheck(ours.addresses);
      progress(
        `dqlite-ts content check: ${contentCheck.pages} pages in ${Math.round(contentCheck.checkMs)} ms`,
      );
    }
  } finally {
    for (const cluster of clusters) await cluster.stop();
  }
  return {
    machine: machineDescription(),
    date: new Date().toISOString().slice(0, 10),
    command,
    rounds: options.rounds,
    secondsPerRun: options.seconds,
    rows: options.rows,
    clusters: clusterNames,
    floors,
    runs,
    failover,
    nodes,
    ...(contentCheck === undefined ? {} : { contentCheck }),
  };
}

async function main(args: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(args);
  } catch (error) {
    if (!(error instanceof BenchUsageError) && !(error instanceof TypeError)) throw error;
    console.error(`${error.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const command = ['npx dqlite-ts bench', ...args].join(' ');
  const results = await runBench(options, command);
  console.log(renderMarkdown(results, options.workloads));
  if (options.json !== undefined) {
    const json = JSON.stringify(toJson(results, options.workloads), null, 2);
    fs.writeFileSync(options.json, `${json}\n`);
    progress(`wrote ${options.json}`);
  }
  const lost = Object.values(results.failover)
    .flat()
    .reduce((sum, run) => sum + (run?.missing ?? 0), 0);
  if (lost > 0) {
    console.error(`${lost} acknowledged writes were missing after failover`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
