// The pool's chaos specification: money moves between accounts in exactly-once transactions from
// many concurrent callers while the leader is killed (SIGKILL) twice and leadership is handed over
// once. Whatever the faults, every call ends by its deadline with a result or a typed error, no
// transfer is applied twice, every acknowledged transfer is applied once, money is conserved and
// the pool never holds more connections than `max`.
//
// Randomness (accounts, amounts, pauses) comes from one seed, printed at the start and in the
// summary; set CHAOS_SEED to replay the same choices. The interleaving with the faults is not
// reproducible (real processes, real time), so a seed narrows a failure down, it does not replay it.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusyError, connect } from '../../drivers/client/index.js';
import {
  createPool,
  OutcomeUnknownError,
  PoolQueueFullError,
  PoolTimeoutError,
  TransactionRetriesExhaustedError,
} from '../../drivers/pool/index.js';
import type {
  LeaderChange,
  LeaderPool,
  PoolStats,
  RetryEvent,
  Transaction,
} from '../../drivers/pool/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';
import { pollUntil } from './poll-until.js';
import { seeded } from '../faults/seeded.js';

const DATABASE = 'chaos';
const ACCOUNT_COUNT = 20;
const BALANCE_INITIAL = 1000;
const AMOUNT_MAX = 100;
const CALLER_COUNT = 32;
const POOL_SIZE_MAX = 8;
const POOL_TIMEOUT_MS = 60_000;
/** Each transfer's own deadline, below the pool's so the check is about the call, not the pool. */
const CALL_TIMEOUT_MS = 30_000;
/** A call may end this much after its deadline (timers, event-loop lag on a loaded machine). */
const DEADLINE_MARGIN_MS = 2_000;
/** A call still pending this long after its deadline is recorded as hung and its caller stops. */
const HUNG_AFTER_MS = CALL_TIMEOUT_MS + 15_000;
/** Callers stop starting transfers when this has passed since the workload began. */
const WORKLOAD_BUDGET_MS = 90_000;
/** Backstop on each caller's count; callers normally stop a few transfers after the faults end. */
const TRANSFERS_PER_CALLER_MAX = 200;
/** Transfers each caller still makes after the last fault, proving the pool recovered. */
const TRANSFERS_AFTER_FAULTS = 3;
/** Think time between one caller's transfers, so the workload spans the whole fault script. */
const PAUSE_MIN_MS = 20;
const PAUSE_MAX_MS = 200;
const STATS_INTERVAL_MS = 20;
/** A failover (election ~5-6 s) or a transfer must show up in the pool within this. */
const LEADER_WAIT_MS = 30_000;
const POOL_CLOSE_WAIT_MS = 10_000;
const TEST_TIMEOUT_MS = 180_000;

/** Failures a caller may see; anything else (a plain Error, a raw client error) is a pool bug. */
const TYPED_FAILURES = [
  OutcomeUnknownError,
  PoolTimeoutError,
  TransactionRetriesExhaustedError,
  BusyError,
  PoolQueueFullError,
] as const;
/** Of those, the ones that say the transaction did not commit. */
const NOT_COMMITTED_FAILURES = new Set(['TransactionRetriesExhaustedError', 'BusyError']);

interface PlannedTransfer {
  readonly id: string;
  readonly source: number;
  readonly destination: number;
  readonly amount: number;
}

interface TransferOutcome {
  readonly transfer: PlannedTransfer;
  readonly status: 'committed' | 'failed' | 'hung';
  readonly elapsedMs: number;
  /** When the call ended, in ms since the workload started (to line failures up with faults). */
  readonly endedMs: number;
  readonly error?: unknown;
}

interface LogRow {
  readonly id: string;
  readonly source: number;
  readonly destination: number;
  readonly amount: number;
}

function randomInteger(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

function planTransfer(random: () => number, id: string): PlannedTransfer {
  const source = randomInteger(random, 1, ACCOUNT_COUNT);
  const offset = randomInteger(random, 1, ACCOUNT_COUNT - 1);
  const destination = ((source - 1 + offset) % ACCOUNT_COUNT) + 1;
  return { id, source, destination, amount: randomInteger(random, 1, AMOUNT_MAX) };
}

/** Read-modify-write, so a lost update or a double apply would unbalance the books. */
async function applyTransfer(tx: Transaction, transfer: PlannedTransfer): Promise<void> {
  const { rows } = await tx.query('SELECT id, balance FROM accounts WHERE id IN (?, ?)', [
    transfer.source,
    transfer.destination,
  ]);
  const balances = new Map(rows.map((row) => [Number(row.id), Number(row.balance)]));
  const source = balances.get(transfer.source);
  const destination = balances.get(transfer.destination);
  if (source === undefined || destination === undefined)
    throw new Error(`transfer ${transfer.id}: accounts missing from ${JSON.stringify(rows)}`);
  const update = 'UPDATE accounts SET balance = ? WHERE id = ?';
  await tx.exec(update, [source - transfer.amount, transfer.source]);
  await tx.exec(update, [destination + transfer.amount, transfer.destination]);
  await tx.exec('INSERT INTO transfers_log (transfer_id, src, dst, amount) VALUES (?, ?, ?, ?)', [
    transfer.id,
    transfer.source,
    transfer.destination,
    transfer.amount,
  ]);
}

/** The typed failure class an error belongs to, or undefined for anything else. */
function typedFailureName(error: unknown): string | undefined {
  return TYPED_FAILURES.find((type) => error instanceof type)?.name;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

/** One transfer through the pool, timed, with a watchdog that turns a hang into a record. */
async function timedTransfer(
  workload: Workload,
  transfer: PlannedTransfer,
): Promise<TransferOutcome> {
  const startedMs = performance.now();
  let watchdog: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    watchdog = setTimeout(() => resolve('hung'), HUNG_AFTER_MS);
  });
  const call = workload.pool
    .transaction((tx) => applyTransfer(tx, transfer), {
      behavior: 'immediate',
      idempotent: true,
      timeoutMs: CALL_TIMEOUT_MS,
    })
    .then(
      () => ({ status: 'committed' as const }),
      (error: unknown) => ({ status: 'failed' as const, error }),
    );
  const result = await Promise.race([call, hung]);
  clearTimeout(watchdog);
  const endedMs = performance.now();
  const timing = { elapsedMs: endedMs - startedMs, endedMs: endedMs - workload.startedMs };
  return result === 'hung'
    ? { transfer, status: 'hung', ...timing }
    : { transfer, ...timing, ...result };
}

interface Workload {
  readonly pool: LeaderPool;
  readonly seed: number;
  readonly startedMs: number;
  readonly outcomes: TransferOutcome[];
  /** Totals seen by reads running beside the transfers; a transfer is atomic, so all equal. */
  readonly readTotals: number[];
  /** Reads that failed, by error class; only typed pool errors are acceptable. */
  readonly readFailures: string[];
  faultsDone: boolean;
}

/**
 * A read beside the writes: it uses other connections than the writers (which queue at the
 * pool's write gate), and it must never see a transfer half applied.
 */
async function readTotal(workload: Workload): Promise<void> {
  try {
    const { rows } = await workload.pool.query('SELECT sum(balance) AS total FROM accounts', [], {
      timeoutMs: CALL_TIMEOUT_MS,
    });
    workload.readTotals.push(rows[0]!.total as number);
  } catch (error) {
    workload.readFailures.push(typedFailureName(error) ?? describeError(error));
  }
}

async function runCaller(workload: Workload, caller: number): Promise<void> {
  const random = seeded(workload.seed + Math.imul(caller + 1, 0x9e3779b9));
  let afterFaults = 0;
  for (let index = 0; index < TRANSFERS_PER_CALLER_MAX; index++) {
    if (performance.now() - workload.startedMs > WORKLOAD_BUDGET_MS) return;
    if (workload.faultsDone && afterFaults++ >= TRANSFERS_AFTER_FAULTS) return;
    const transfer = planTransfer(random, `${workload.seed}-${caller}-${index}`);
    const [outcome] = await Promise.all([timedTransfer(workload, transfer), readTotal(workload)]);
    workload.outcomes.push(outcome);
    if (outcome.status === 'hung') return;
    await sleep(randomInteger(random, PAUSE_MIN_MS, PAUSE_MAX_MS));
  }
}

/** Waits until the pool reports a leader other than `previous`; returns it. */
function waitForNewLeader(pool: LeaderPool, previous: string): Promise<string> {
  const probe = async () => {
    const leader = pool.stats().leader;
    return leader !== null && leader !== previous ? leader : undefined;
  };
  const options = {
    timeoutMs: LEADER_WAIT_MS,
    intervalMs: 50,
    description: `the pool to leave leader ${previous}`,
  };
  return pollUntil(probe, options);
}

/** SIGKILLs the pool's leader, waits for the pool to move on, restarts the node. */
async function killLeader(pool: LeaderPool, cluster: ClusterHandle, note: Note): Promise<string> {
  const leader = pool.stats().leader;
  if (leader === null) throw new Error('the pool knows no leader to kill');
  const killedMs = performance.now();
  await cluster.kill(leader);
  note(`killed leader ${leader}`);
  const next = await waitForNewLeader(pool, leader);
  note(`pool moved to ${next} ${Math.round(performance.now() - killedMs)} ms after the kill`);
  await cluster.restart(leader);
  note(`restarted ${leader}`);
  return leader;
}

/** Hands leadership to a voter that stayed up throughout (not `restarted`, which may lag). */
async function transferLeadership(
  pool: LeaderPool,
  cluster: ClusterHandle,
  restarted: string,
  note: Note,
): Promise<void> {
  const client = await connect({
    cluster: [...cluster.addresses],
    database: DATABASE,
    leaderTimeoutMs: 15_000,
  });
  let target: string;
  try {
    const voters = (await client.cluster()).filter(
      (node) => node.role === 'voter' && node.address !== client.address,
    );
    const chosen = voters.find((node) => node.address !== restarted) ?? voters[0];
    if (chosen === undefined) throw new Error(`no other voter than ${client.address}`);
    target = chosen.address;
    await client.transfer(chosen.id);
    note(`transferred leadership from ${client.address} to ${target}`);
  } finally {
    await client.close();
  }
  const probe = async () => (pool.stats().leader === target ? true : undefined);
  const options = { timeoutMs: LEADER_WAIT_MS, intervalMs: 50, description: `pool on ${target}` };
  await pollUntil(probe, options);
  note(`pool moved to ${target}`);
}

type Note = (event: string) => void;

async function runFaults(pool: LeaderPool, cluster: ClusterHandle, note: Note): Promise<void> {
  await sleep(1000);
  const firstKilled = await killLeader(pool, cluster, note);
  await sleep(2000);
  await transferLeadership(pool, cluster, firstKilled, note);
  await sleep(2000);
  await killLeader(pool, cluster, note);
}

/** Samples stats() every STATS_INTERVAL_MS; stop() returns what was seen. */
function watchPoolSize(pool: LeaderPool) {
  const oversized: PoolStats[] = [];
  let sizeMax = 0;
  let sampleCount = 0;
  const timer = setInterval(() => {
    const stats = pool.stats();
    sampleCount++;
    sizeMax = Math.max(sizeMax, stats.size);
    if (stats.size > stats.max && oversized.length < 10) oversized.push(stats);
  }, STATS_INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      return { sizeMax, sampleCount, oversized };
    },
  };
}

/** Pushes each item's key into `counts`. */
function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function readLedger(pool: LeaderPool) {
  const accounts = await pool.query('SELECT id, balance FROM accounts ORDER BY id');
  const balances = new Map(accounts.rows.map((row) => [Number(row.id), Number(row.balance)]));
  const logged = await pool.query('SELECT transfer_id, src, dst, amount FROM transfers_log');
  const log: LogRow[] = logged.rows.map((row) => ({
    id: String(row.transfer_id),
    source: Number(row.src),
    destination: Number(row.dst),
    amount: Number(row.amount),
  }));
  return { balances, log };
}

/** Each account's balance as the log says it should be: initial, minus outgoing, plus incoming. */
function balancesFromLog(log: readonly LogRow[]): Map<number, number> {
  const expected = new Map<number, number>();
  for (let id = 1; id <= ACCOUNT_COUNT; id++) expected.set(id, BALANCE_INITIAL);
  for (const row of log) {
    expected.set(row.source, (expected.get(row.source) ?? NaN) - row.amount);
    expected.set(row.destination, (expected.get(row.destination) ?? NaN) + row.amount);
  }
  return expected;
}

async function createSchema(pool: LeaderPool): Promise<void> {
  await pool.exec(
    'CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);' +
      // No UNIQUE on transfer_id: a double apply must show up as a second row, not an error.
      'CREATE TABLE transfers_log (transfer_id TEXT NOT NULL, src INTEGER, dst INTEGER, amount INTEGER)',
  );
  const values = Array.from({ length: ACCOUNT_COUNT }, () => '(?, ?)').join(', ');
  const params = Array.from({ length: ACCOUNT_COUNT }, (_, index) => [index + 1, BALANCE_INITIAL]);
  await pool.exec(`INSERT INTO accounts (id, balance) VALUES ${values}`, params.flat());
}

function seedOf(environment: string | undefined): number {
  const seed = environment === undefined ? Date.now() % 2 ** 32 : Number(environment);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`CHAOS_SEED must be an integer`);
  return seed >>> 0;
}

/** Everything one chaos run saw, for the summary and the checks. */
interface ChaosReport {
  readonly seed: number;
  readonly workloadMs: number;
  readonly outcomes: readonly TransferOutcome[];
  readonly faultNotes: readonly string[];
  readonly faultError: unknown;
  readonly changes: readonly LeaderChange[];
  readonly retries: readonly RetryEvent[];
  /** 'error' events: failures to open a connection to the leader. */
  readonly openErrorCount: number;
  readonly sizes: ReturnType<ReturnType<typeof watchPoolSize>['stop']>;
  readonly balances: Map<number, number>;
  readonly log: readonly LogRow[];
  readonly readTotals: readonly number[];
  readonly readFailures: readonly string[];
}

/** Runs the callers and the fault script together, then reads the books back. */
async function runChaos(
  pool: LeaderPool,
  cluster: ClusterHandle,
  seed: number,
): Promise<ChaosReport> {
  const changes: LeaderChange[] = [];
  const retries: RetryEvent[] = [];
  pool.on('leaderChange', (change: LeaderChange) => changes.push(change));
  pool.on('retry', (event: RetryEvent) => retries.push(event));
  let openErrorCount = 0;
  pool.on('error', () => openErrorCount++);
  const sizes = watchPoolSize(pool);
  try {
    await createSchema(pool);
    const workload: Workload = {
      pool,
      seed,
      startedMs: performance.now(),
      outcomes: [],
      readTotals: [],
      readFailures: [],
      faultsDone: false,
    };
    const faultNotes: string[] = [];
    const note: Note = (event) =>
      faultNotes.push(`${Math.round(performance.now() - workload.startedMs)} ms: ${event}`);
    const faults = runFaults(pool, cluster, note)
      .then(
        () => undefined,
        (error: unknown) => error,
      )
      .finally(() => (workload.faultsDone = true));
    await Promise.all(Array.from({ length: CALLER_COUNT }, (_, c) => runCaller(workload, c)));
    const faultError = await faults;
    const workloadMs = performance.now() - workload.startedMs;
    const { outcomes } = workload;
    const seen = sizes.stop();
    const books = await readLedger(pool);
    return {
      seed,
      workloadMs,
      outcomes,
      faultNotes,
      faultError,
      changes,
      retries,
      openErrorCount,
      sizes: seen,
      readTotals: workload.readTotals,
      readFailures: workload.readFailures,
      ...books,
    };
  } finally {
    sizes.stop();
  }
}

function summarize(report: ChaosReport): string {
  const { outcomes, retries, changes } = report;
  const failed = outcomes.filter((outcome) => outcome.status === 'failed');
  const committed = outcomes.filter((outcome) => outcome.status === 'committed').length;
  const logged = new Set(report.log.map((row) => row.id));
  const failedButApplied = failed.filter((outcome) => logged.has(outcome.transfer.id)).length;
  const slowestMs = Math.max(0, ...outcomes.map((outcome) => outcome.elapsedMs));
  const failures = countBy(failed, (outcome) => className(outcome.error));
  const untyped = failed.filter((outcome) => typedFailureName(outcome.error) === undefined);
  return [
    `pool chaos summary: seed ${report.seed}; workload ${Math.round(report.workloadMs)} ms`,
    `reads beside the transfers ${report.readTotals.length}, failed ${report.readFailures.length} ` +
      `${JSON.stringify(countBy(report.readFailures, (name) => name))}`,
    `transfers attempted ${outcomes.length}, committed ${committed}, failed ${failed.length} ` +
      `${JSON.stringify(failures)} (of which applied after all: ${failedButApplied}), ` +
      `hung ${outcomes.length - committed - failed.length}; slowest call ${Math.round(slowestMs)} ms`,
    `leader changes ${changes.filter((change) => change.previous !== null).length}: ` +
      changes.map((change) => change.leader).join(' -> '),
    `retries ${retries.length} ${JSON.stringify(countBy(retries, (retry) => className(retry.error)))}; ` +
      `'error' events ${report.openErrorCount}`,
    `pool size max ${report.sizes.sizeMax}/${POOL_SIZE_MAX} over ${report.sizes.sampleCount} samples`,
    `faults: ${report.faultNotes.join('; ')}`,
    ...untyped.map(
      (outcome) =>
        `untyped failure at ${Math.round(outcome.endedMs)} ms (${outcome.transfer.id}): ` +
        describeError(outcome.error),
    ),
  ].join('\n  ');
}

/** The call contract: every call ended by its deadline, with a result or a typed error. */
function checkCalls(report: ChaosReport, unhandled: readonly unknown[]): void {
  const { outcomes } = report;
  expect(report.faultError, 'the fault script').toBeUndefined();
  const leaderChanges = report.changes.filter((change) => change.previous !== null);
  expect(leaderChanges.length, 'leader changes the pool followed').toBeGreaterThanOrEqual(3);
  const hung = outcomes.filter((outcome) => outcome.status === 'hung');
  expect(
    hung.map((outcome) => outcome.transfer.id),
    'calls that never ended',
  ).toEqual([]);
  const late = outcomes.filter((o) => o.elapsedMs > CALL_TIMEOUT_MS + DEADLINE_MARGIN_MS);
  expect(late.map((o) => `${o.transfer.id}: ${Math.round(o.elapsedMs)} ms`)).toEqual([]);
  const untyped = outcomes.filter(
    (outcome) => outcome.status === 'failed' && typedFailureName(outcome.error) === undefined,
  );
  expect(
    untyped.map((outcome) => describeError(outcome.error)),
    'untyped failures',
  ).toEqual([]);
  expect(report.sizes.oversized, 'stats() with size > max').toEqual([]);
  expect(unhandled.map(describeError), 'unhandled rejections').toEqual([]);
  expect(outcomes.some((outcome) => outcome.status === 'committed')).toBe(true);
}

/** The books: exactly-once transfers and conserved money. */
function checkBooks(report: ChaosReport): void {
  const { outcomes, log, balances } = report;
  const attempted = new Set(outcomes.map((outcome) => outcome.transfer.id));
  expect(
    log.filter((row) => !attempted.has(row.id)),
    'log rows nobody wrote',
  ).toEqual([]);
  const logCounts = countBy(log, (row) => row.id);
  const duplicates = Object.entries(logCounts).filter(([, count]) => count > 1);
  expect(duplicates, 'transfers applied more than once').toEqual([]);
  const committed = outcomes.filter((outcome) => outcome.status === 'committed');
  const lost = committed.filter((outcome) => logCounts[outcome.transfer.id] !== 1);
  expect(
    lost.map((o) => o.transfer.id),
    'acknowledged but not applied',
  ).toEqual([]);
  const deniedButApplied = outcomes.filter(
    (outcome) =>
      outcome.status === 'failed' &&
      NOT_COMMITTED_FAILURES.has(typedFailureName(outcome.error) ?? '') &&
      logCounts[outcome.transfer.id] !== undefined,
  );
  expect(
    deniedButApplied.map((o) => describeError(o.error)),
    'failed yet applied',
  ).toEqual([]);
  const total = [...balances.values()].reduce((sum, balance) => sum + balance, 0);
  expect(balances.size).toBe(ACCOUNT_COUNT);
  expect(total).toBe(ACCOUNT_COUNT * BALANCE_INITIAL);
  expect(balances).toEqual(balancesFromLog(log));
  expect(report.readTotals.length).toBeGreaterThan(0);
  const torn = report.readTotals.filter((seen) => seen !== ACCOUNT_COUNT * BALANCE_INITIAL);
  expect(torn, 'reads that saw a transfer half applied').toEqual([]);
  const untyped = report.readFailures.filter(
    (name) => !TYPED_FAILURES.some((type) => type.name === name),
  );
  expect(untyped, 'reads that failed with an untyped error').toEqual([]);
}

function className(error: unknown): string {
  return error instanceof Error ? error.constructor.name : typeof error;
}

/** close() waits for borrowed connections; a hung call would hold one forever, so bound it. */
async function closeWithin(pool: LeaderPool, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeoutMs);
  });
  const outcome = await Promise.race([pool.close(), expired]);
  clearTimeout(timer);
  if (outcome === 'expired')
    console.error(`pool chaos: pool.close() pending after ${timeoutMs} ms`);
}

export function definePoolChaosSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`pool chaos against ${provider.name}`, () => {
    let cluster: ClusterHandle;

    beforeAll(async () => {
      cluster = await provider.start({ nodes: 3 });
    }, 90_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 60_000);

    it(
      'moves money exactly once through two leader kills and a leadership transfer',
      async () => {
        const seed = seedOf(process.env.CHAOS_SEED);
        console.log(`pool chaos: seed ${seed} (replay the choices with CHAOS_SEED=${seed})`);
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        const pool = createPool({
          cluster: [...cluster.addresses],
          database: DATABASE,
          max: POOL_SIZE_MAX,
          timeoutMs: POOL_TIMEOUT_MS,
        });
        try {
          const report = await runChaos(pool, cluster, seed);
          console.log(summarize(report));
          checkCalls(report, unhandled);
          checkBooks(report);
        } finally {
          process.off('unhandledRejection', onUnhandled);
          await closeWithin(pool, POOL_CLOSE_WAIT_MS);
        }
      },
      TEST_TIMEOUT_MS,
    );
  });
}
