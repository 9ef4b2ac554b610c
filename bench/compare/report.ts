// Turns the measurements into the Markdown tables the command prints and the JSON it writes.
// Every ratio in the main table is dqlite-ts ÷ C dqlite, so above 1 is better for rates and worse
// for latencies; the monitoring table's are dqlite-ts with metrics ÷ without.

import type { ContentCheckCost } from './content-check.js';
import type { ClusterName } from './clusters.js';
import type { FailoverResult } from './failover.js';
import type { Floors } from './floors.js';
import type { LoadResult } from './load.js';
import { median, spread, type Spread } from './statistics.js';
import type { WorkloadName } from './workloads.js';

/** One workload run on one cluster in one round. */
export interface WorkloadRun extends LoadResult {
  /** CPU time of the cluster's three node processes during the run, per successful operation. */
  readonly clusterCpuMicrosPerOp: number;
}

export interface NodeUsage {
  readonly address: string;
  readonly peakRssMiB: number;
  readonly cpuSeconds: number;
}

export interface BenchResults {
  readonly machine: string;
  readonly date: string;
  readonly command: string;
  readonly rounds: number;
  readonly secondsPerRun: number;
  readonly rows: number;
  readonly clusters: readonly ClusterName[];
  readonly floors: Floors;
  readonly runs: Partial<Record<ClusterName, Partial<Record<WorkloadName, WorkloadRun[]>>>>;
  readonly failover: Partial<Record<ClusterName, FailoverResult[]>>;
  readonly nodes: Partial<Record<ClusterName, NodeUsage[]>>;
  /** What a content check (`dqlite-ts check`) cost on the loaded dqlite-ts cluster. */
  readonly contentCheck?: ContentCheckCost;
}

/** The medians and spreads across rounds, the form the JSON and the tables carry. */
export interface WorkloadSummary {
  readonly opsPerSecond: Spread;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly clusterCpuMicrosPerOp: number;
}

export function summarize(runs: readonly WorkloadRun[]): WorkloadSummary {
  const errorKinds: Record<string, number> = {};
  for (const run of runs)
    for (const [kind, count] of Object.entries(run.errorKinds))
      errorKinds[kind] = (errorKinds[kind] ?? 0) + count;
  return {
    opsPerSecond: spread(runs.map((run) => run.opsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    maxMs: median(runs.map((run) => run.maxMs)),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    errorKinds,
    clusterCpuMicrosPerOp: median(runs.map((run) => run.clusterCpuMicrosPerOp)),
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function rate(value: Spread | undefined): string {
  if (value === undefined) return 'n/a';
  if (value.min === value.max) return integer.format(value.median);
  return `${integer.format(value.median)} (${integer.format(value.min)}–${integer.format(value.max)})`;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : integer.format(value);
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined || !(theirs > 0)) return 'n/a';
  return `${(ours / theirs).toFixed(2)}×`;
}

function latencies(summary: WorkloadSummary | undefined): string {
  return summary === undefined
    ? 'n/a'
    : `${ms(summary.p50Ms)} / ${ms(summary.p99Ms)} / ${ms(summary.maxMs)}`;
}

/** The floor a workload's rate is bounded by on this machine, as a labelled figure. */
function floorOf(workload: WorkloadName, floors: Floors): string {
  if (workload.startsWith('kvread'))
    return `${integer.format(floors.sqliteReadsPerSecond)} in-process reads/s`;
  if (workload.startsWith('mixed-32')) return '–';
  return `${integer.format(floors.sqliteDurableWritesPerSecond)} in-process durable writes/s`;
}

export function renderMarkdown(results: BenchResults, workloads: readonly WorkloadName[]): string {
  const lines: string[] = [];
  const ts = results.runs['dqlite-ts'] ?? {};
  const c = results.runs['c-dqlite'] ?? {};
  lines.push(
    `${results.machine}; ${results.date}; \`${results.command}\`; ${results.rounds} round(s) of ` +
      `${results.secondsPerRun} s per workload and cluster, alternating; ${integer.format(results.rows)} rows.`,
    '',
    '| workload | dqlite-ts ops/s | C dqlite ops/s | ratio | dqlite-ts p50 / p99 / max ms | C p50 / p99 / max ms | errors (ts / C) | cluster CPU µs/op (ts / C) | floor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const workload of workloads) {
    const ours = ts[workload] === undefined ? undefined : summarize(ts[workload]);
    const theirs = c[workload] === undefined ? undefined : summarize(c[workload]);
    const errors = `${ours?.errors ?? 'n/a'} / ${theirs?.errors ?? 'n/a'}`;
    const cpu = `${ours === undefined ? 'n/a' : integer.format(ours.clusterCpuMicrosPerOp)} / ${theirs === undefined ? 'n/a' : integer.format(theirs.clusterCpuMicrosPerOp)}`;
    lines.push(
      `| ${workload} | ${rate(ours?.opsPerSecond)} | ${rate(theirs?.opsPerSecond)} | ` +
        `${ratio(ours?.opsPerSecond.median, theirs?.opsPerSecond.median)} | ${latencies(ours)} | ` +
        `${latencies(theirs)} | ${errors} | ${cpu} | ${floorOf(workload, results.floors)} |`,
    );
  }
  lines.push(...monitoringLines(results, workloads));
  const failoverLines = (['dqlite-ts', 'c-dqlite'] as const).flatMap((name) => {
    const runs = results.failover[name];
    if (runs === undefined || runs.length === 0) return [];
    const recovery = spread(runs.map((run) => run.recoveryMs));
    const sum = (pick: (run: FailoverResult) => number) =>
      runs.reduce((total, run) => total + pick(run), 0);
    return [
      `| ${name} | ${ms(recovery.median)} (${ms(recovery.min)}–${ms(recovery.max)}) | ` +
        `${integer.format(sum((run) => run.acknowledged))} | ${sum((run) => run.missing)} | ` +
        `${integer.format(sum((run) => run.failedWrites))} |`,
    ];
  });
  if (failoverLines.length > 0) {
    const ours = results.failover['dqlite-ts'];
    const theirs = results.failover['c-dqlite'];
    const recoveryRatio = ratio(
      ours === undefined ? undefined : median(ours.map((run) => run.recoveryMs)),
      theirs === undefined ? undefined : median(theirs.map((run) => run.recoveryMs)),
    );
    lines.push(
      '',
      `failover: 32 writers through the pool, leader SIGKILLed; recovery ratio ${recoveryRatio} (lower is better).`,
      '',
      '| cluster | recovery ms, median (range) | acknowledged writes | missing afterwards | failed writes (outcome unknown) |',
      '| --- | --- | --- | --- | --- |',
      ...failoverLines,
    );
  }
  const check = results.contentCheck;
  if (check !== undefined) {
    const mib = (check.pages * 4096) / 2 ** 20;
    lines.push(
      '',
      `content check (\`dqlite-ts check\`): every node hashed ${integer.format(check.pages)} pages ` +
        `(${mib.toFixed(1)} MiB) in ${ms(check.checkMs)} ms, median of 3; SHA-256 of as many bytes ` +
        `in one process: ${ms(check.hashFloorMs)} ms; ratio ${(check.checkMs / check.hashFloorMs).toFixed(1)}×.`,
    );
  }
  const nodeLines = results.clusters.flatMap((name) =>
    (results.nodes[name] ?? []).map(
      (node) =>
        `| ${name} | ${node.address} | ${integer.format(node.peakRssMiB)} | ${node.cpuSeconds.toFixed(1)} |`,
    ),
  );
  if (nodeLines.length > 0) {
    lines.push(
      '',
      '| cluster | node | peak RSS MiB | CPU s (whole run) |',
      '| --- | --- | --- | --- |',
      ...nodeLines,
    );
  }
  const floors = results.floors;
  lines.push(
    '',
    `floors (this machine, same run): better-sqlite3 in-process ${integer.format(floors.sqliteDurableWritesPerSecond)} ` +
      `durable writes/s (WAL, synchronous=FULL), ${integer.format(floors.sqliteWritesPerSecond)} writes/s without ` +
      `fsync, ${integer.format(floors.sqliteReadsPerSecond)} point reads/s; ${integer.format(floors.fdatasyncsPerSecond)} ` +
      `fdatasync/s (4 KiB) in the data directory; ${integer.format(floors.loopbackRoundTripsPerSecond)} loopback TCP round trips/s.`,
  );
  return lines.join('\n');
}

/**
 * What the HTTP endpoint costs, when the run had dqlite-ts both with it (scraped once a second)
 * and without: each workload's rate and CPU per operation, on ÷ off.
 */
function monitoringLines(results: BenchResults, workloads: readonly WorkloadName[]): string[] {
  const off = results.runs['dqlite-ts'];
  const on = results.runs['dqlite-ts+metrics'];
  if (off === undefined || on === undefined) return [];
  const rows = workloads.flatMap((workload) => {
    const without = off[workload] === undefined ? undefined : summarize(off[workload]);
    const withMetrics = on[workload] === undefined ? undefined : summarize(on[workload]);
    if (without === undefined || withMetrics === undefined) return [];
    const cpu = (summary: WorkloadSummary) => integer.format(summary.clusterCpuMicrosPerOp);
    return [
      `| ${workload} | ${rate(withMetrics.opsPerSecond)} | ` +
        `${ratio(withMetrics.opsPerSecond.median, without.opsPerSecond.median)} | ` +
        `${ms(withMetrics.p99Ms)} / ${ms(without.p99Ms)} | ${cpu(withMetrics)} / ${cpu(without)} | ` +
        `${ratio(withMetrics.clusterCpuMicrosPerOp, without.clusterCpuMicrosPerOp)} |`,
    ];
  });
  return [
    '',
    "monitoring: dqlite-ts with every node's HTTP endpoint on and /metrics scraped once a second " +
      '(dqlite-ts+metrics), against dqlite-ts without it, same run; ratios are on ÷ off.',
    '',
    '| workload | ops/s with metrics | ratio | p99 ms (on / off) | cluster CPU µs/op (on / off) | CPU ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ];
}

/** The JSON form: the raw rounds plus the same summaries the tables show. */
export function toJson(results: BenchResults, workloads: readonly WorkloadName[]): unknown {
  const summaries: Record<string, Record<string, WorkloadSummary>> = {};
  for (const cluster of results.clusters) {
    summaries[cluster] = {};
    for (const workload of workloads) {
      const runs = results.runs[cluster]?.[workload];
      if (runs !== undefined) summaries[cluster][workload] = summarize(runs);
    }
  }
  return { ...results, summaries };
}
