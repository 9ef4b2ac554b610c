// Where should a node's thread boundary sit? better-sqlite3 is synchronous, so a long query blocks
// whatever thread runs it, and Raft's timers must not starve (docs/architecture.md, "The event
// loop is sacred"). This measures, in one run with each baseline in the same run:
// 1. how late a 10 ms interval (standing in for Raft's tick) fires while a ~3 s query runs, with
//    the query and the timer on the same thread (A) or on different threads (B, C), against the
//    same timer on an idle main thread;
// 2. point SELECTs per second through a worker round trip, against the same SELECT in-process;
// 3. round trips per second of a 4 KiB page set to a worker and back, copied or transferred,
//    against a round trip of a message with no payload.
// Every measure is bounded: the query is calibrated to QUERY_DURATION_TARGET_MS, each throughput
// loop runs THROUGHPUT_DURATION_MS. The whole run takes about 25 s.
//
// Run: npm run bench:event-loop [-- --json PATH]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SELECT_SQL, recordTimerLag, timeCount } from './event-loop-worker.js';
import type { WorkerReply, WorkerRequest } from './event-loop-worker.js';

const TIMER_INTERVAL_MS = 10;
const QUERY_DURATION_TARGET_MS = 3_000;
const CALIBRATION_ROW_COUNT = 1_000_000;
const QUERY_ROW_COUNT_MAX = 1_000_000_000;
/** The timer runs this long before each query starts and after it ends. */
const SETTLE_MS = 100;
const IDLE_DURATION_MS = 1_000;
const THROUGHPUT_DURATION_MS = 2_000;
const WARMUP_ITERATION_COUNT = 1_000;
const TABLE_ROW_COUNT = 100_000;
const PAGE_SET_BYTES = 4096;

type Measure = {
  name: string;
  unit: 'ms' | 'per second';
  value: number;
  /** value / the baseline's value; the baseline itself has 1. */
  ratio: number;
  detail: string;
  /** Part 1 only: the whole lag distribution and the query's duration, for the JSON output. */
  lags?: LagSummary;
  queryMs?: number;
};

type LagSummary = { p50Ms: number; p99Ms: number; maxMs: number; sampleCount: number };

type Ask = <T extends WorkerReply['type']>(
  request: WorkerRequest,
  replyType: T,
  transfer?: readonly TransferListItem[],
) => Promise<Extract<WorkerReply, { type: T }>>;

/** Starts the worker and resolves once it listens. Requests are strictly one at a time. */
async function startWorker(): Promise<{ worker: Worker; ask: Ask }> {
  const workerUrl = new URL('./event-loop-worker.ts', import.meta.url).href;
  // tsx's loader does not reach worker threads on Node 20, so the worker loads through its API.
  const tsxApiUrl = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then((api) => api.tsImport(${JSON.stringify(workerUrl)}, ${JSON.stringify(import.meta.url)}));`;
  const worker = new Worker(bootstrap, { eval: true });
  let pending:
    { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | undefined;
  const next = () => new Promise<WorkerReply>((resolve, reject) => (pending = { resolve, reject }));
  worker.on('message', (reply: WorkerReply) => {
    const waiter = pending;
    pending = undefined;
    if (waiter === undefined) throw new Error(`unrequested reply ${reply.type}`);
    waiter.resolve(reply);
  });
  worker.on('error', (error) => {
    const waiter = pending;
    pending = undefined;
    // With no request waiting there is nobody to hand the error to: crash, it is a bug.
    if (waiter === undefined) throw error;
    waiter.reject(error);
  });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`worker started with ${ready.type}`);

  const ask: Ask = async (request, replyType, transfer) => {
    if (pending !== undefined) throw new Error('a request is already in flight');
    const reply = next();
    worker.postMessage(request, transfer);
    const answer = await reply;
    if (answer.type !== replyType) throw new Error(`expected ${replyType}, got ${answer.type}`);
    return answer as Extract<WorkerReply, { type: typeof replyType }>;
  };
  return { worker, ask };
}

function summarizeLags(lagsMs: number[]): LagSummary {
  if (lagsMs.length === 0) throw new Error('the timer never fired');
  const sorted = [...lagsMs].sort((a, b) => a - b);
  const rank = (quantile: number) => sorted[Math.ceil(quantile * sorted.length) - 1]!;
  return { p50Ms: rank(0.5), p99Ms: rank(0.99), maxMs: rank(1), sampleCount: sorted.length };
}

/** Row count for which COUNT_SQL takes about QUERY_DURATION_TARGET_MS on this machine. */
function calibrateRowCount(database: Database.Database): number {
  const durationMs = Math.max(1, timeCount(database, CALIBRATION_ROW_COUNT));
  const rowCount = Math.round((CALIBRATION_ROW_COUNT * QUERY_DURATION_TARGET_MS) / durationMs);
  return Math.min(QUERY_ROW_COUNT_MAX, Math.max(CALIBRATION_ROW_COUNT, rowCount));
}

/** The three shapes of part 1. Each returns the lags seen and how long the query took. */
type ShapeResult = { lags: LagSummary; queryMs?: number };

async function shapeSameThread(database: Database.Database, rowCount: number) {
  const stop = recordTimerLag(TIMER_INTERVAL_MS);
  await sleep(SETTLE_MS);
  const queryMs = timeCount(database, rowCount);
  await sleep(SETTLE_MS);
  return { lags: summarizeLags(stop()), queryMs } satisfies ShapeResult;
}

async function shapeQueryInWorker(ask: Ask, rowCount: number) {
  const stop = recordTimerLag(TIMER_INTERVAL_MS);
  await sleep(SETTLE_MS);
  const counted = await ask({ type: 'count', rowCount }, 'counted');
  await sleep(SETTLE_MS);
  return { lags: summarizeLags(stop()), queryMs: counted.durationMs } satisfies ShapeResult;
}

async function shapeTimerInWorker(ask: Ask, database: Database.Database, rowCount: number) {
  await ask({ type: 'timerStart', intervalMs: TIMER_INTERVAL_MS }, 'timerStarted');
  await sleep(SETTLE_MS);
  const queryMs = timeCount(database, rowCount);
  await sleep(SETTLE_MS);
  const stopped = await ask({ type: 'timerStop' }, 'timerLags');
  return { lags: summarizeLags(stopped.lagsMs), queryMs } satisfies ShapeResult;
}

function callsPerSecond(step: (index: number) => unknown): number {
  for (let index = 0; index < WARMUP_ITERATION_COUNT; index++) step(index);
  const startedMs = performance.now();
  let doneCount = 0;
  while (performance.now() - startedMs < THROUGHPUT_DURATION_MS) step(doneCount++);
  return doneCount / ((performance.now() - startedMs) / 1000);
}

async function roundTripsPerSecond(step: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < WARMUP_ITERATION_COUNT; index++) await step(index);
  const startedMs = performance.now();
  let doneCount = 0;
  while (performance.now() - startedMs < THROUGHPUT_DURATION_MS) await step(doneCount++);
  return doneCount / ((performance.now() - startedMs) / 1000);
}

/** Spreads successive point reads over the table instead of hitting one page. */
function rowId(index: number): number {
  return ((index * 7919) % TABLE_ROW_COUNT) + 1;
}

function createTable(file: string): Database.Database {
  const database = new Database(file);
  database.exec('CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  const insert = database.prepare('INSERT INTO bench (id, v) VALUES (?, ?)');
  database.transaction(() => {
    for (let id = 1; id <= TABLE_ROW_COUNT; id++) insert.run(id, `value-${id}`.padEnd(32, '.'));
  })();
  return database;
}

function lagMeasure(name: string, result: ShapeResult, baseline: LagSummary): Measure {
  const { p50Ms, p99Ms, maxMs, sampleCount } = result.lags;
  const query =
    result.queryMs === undefined ? '' : `; query ${(result.queryMs / 1000).toFixed(2)} s`;
  return {
    name,
    unit: 'ms',
    value: maxMs,
    ratio: maxMs / Math.max(baseline.maxMs, 0.001),
    lags: result.lags,
    queryMs: result.queryMs,
    detail: `max lag; p50 ${p50Ms.toFixed(2)}, p99 ${p99Ms.toFixed(2)} ms over ${sampleCount} ticks${query}`,
  };
}

function rateMeasure(name: string, perSecond: number, baselinePerSecond: number): Measure {
  return {
    name,
    unit: 'per second',
    value: perSecond,
    ratio: perSecond / baselinePerSecond,
    detail: `${(1_000_000 / perSecond).toFixed(1)} µs each`,
  };
}

async function measureTimers(ask: Ask): Promise<{ measures: Measure[]; rowCount: number }> {
  const database = new Database(':memory:');
  try {
    const rowCount = calibrateRowCount(database);
    const stopIdle = recordTimerLag(TIMER_INTERVAL_MS);
    await sleep(IDLE_DURATION_MS);
    const idle = summarizeLags(stopIdle());
    const same = await shapeSameThread(database, rowCount);
    const queryInWorker = await shapeQueryInWorker(ask, rowCount);
    const timerInWorker = await shapeTimerInWorker(ask, database, rowCount);
    const measures = [
      lagMeasure('timer lag, idle main thread (baseline)', { lags: idle }, idle),
      lagMeasure('timer lag, A: query and timer on main thread', same, idle),
      lagMeasure('timer lag, B: query in worker, timer on main', queryInWorker, idle),
      lagMeasure('timer lag, C: timer in worker, query on main', timerInWorker, idle),
    ];
    return { measures, rowCount };
  } finally {
    database.close();
  }
}

async function measureReads(ask: Ask, file: string): Promise<Measure[]> {
  const database = createTable(file);
  try {
    const select = database.prepare(SELECT_SQL);
    const inProcess = callsPerSecond((index) => select.get(rowId(index)));
    await ask({ type: 'open', path: file }, 'opened');
    const viaWorker = await roundTripsPerSecond((index) =>
      ask({ type: 'select', id: rowId(index) }, 'row'),
    );
    return [
      rateMeasure('point SELECT, in-process sync (baseline)', inProcess, inProcess),
      rateMeasure('point SELECT, worker round trip', viaWorker, inProcess),
    ];
  } finally {
    database.close();
  }
}

async function measurePageSets(ask: Ask): Promise<Measure[]> {
  const empty = await roundTripsPerSecond(() => ask({ type: 'ping' }, 'pong'));
  const copied = new Uint8Array(PAGE_SET_BYTES).fill(7);
  const copy = await roundTripsPerSecond(() =>
    ask({ type: 'bytes', bytes: copied, transfer: false }, 'bytes'),
  );
  let owned: Uint8Array = new Uint8Array(PAGE_SET_BYTES).fill(7);
  const transfer = await roundTripsPerSecond(async () => {
    const request: WorkerRequest = { type: 'bytes', bytes: owned, transfer: true };
    owned = (await ask(request, 'bytes', [owned.buffer as ArrayBuffer])).bytes;
  });
  if (owned.byteLength !== PAGE_SET_BYTES) throw new Error('page set lost in transfer');
  return [
    rateMeasure('empty message round trip (baseline)', empty, empty),
    rateMeasure('4 KiB page set round trip, copied', copy, empty),
    rateMeasure('4 KiB page set round trip, transferred', transfer, empty),
  ];
}

function formatNumber(value: number, unit: Measure['unit']): string {
  if (unit === 'ms') return `${value.toFixed(2)} ms`;
  return `${Math.round(value).toLocaleString('en-US')}/s`;
}

function formatRatio(ratio: number): string {
  if (ratio >= 100) return `${ratio.toFixed(0)}×`;
  if (ratio >= 10) return `${ratio.toFixed(1)}×`;
  return `${ratio.toFixed(3)}×`;
}

function renderMarkdown(environment: Record<string, string | number>, measures: Measure[]) {
  const header = Object.entries(environment).map(([key, value]) => `- ${key}: ${value}`);
  const rows = measures.map(
    (measure) =>
      `| ${measure.name} | ${formatNumber(measure.value, measure.unit)} | ${formatRatio(measure.ratio)} | ${measure.detail} |`,
  );
  const table = ['| measure | value | ratio to baseline | detail |', '| --- | ---: | ---: | --- |'];
  return [...header, '', ...table, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' } }, strict: true });
  const directory = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-event-loop-'));
  const { worker, ask } = await startWorker();
  try {
    const timers = await measureTimers(ask);
    const reads = await measureReads(ask, path.join(directory, 'bench.db'));
    const pageSets = await measurePageSets(ask);
    const environment = {
      node: process.version,
      cpuCount: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(),
      queryRowCount: timers.rowCount,
    };
    const measures = [...timers.measures, ...reads, ...pageSets];
    console.log(renderMarkdown(environment, measures));
    if (values.json !== undefined) {
      writeFileSync(values.json, `${JSON.stringify({ ...environment, measures }, null, 2)}\n`);
    }
  } finally {
    await worker.terminate();
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
