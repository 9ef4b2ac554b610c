// A closed-loop load generator: each worker runs one operation after another until the time is
// up. It counts successes and errors (by message) and records the latency of every success.

import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyRecorder } from './statistics.js';

/** What one worker does per operation; a throw counts as an error. */
export type Operation = () => Promise<unknown>;

export interface LoadResult {
  readonly ok: number;
  readonly errors: number;
  /** Error messages (first line, truncated) and how often each was seen. */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Backstop on operations per worker, beside the time limit. */
const OPERATIONS_MAX = 10_000_000;
/** After an error, so a server that fails instantly cannot turn a worker into a busy loop. */
const PAUSE_AFTER_ERROR_MS = 1;
const ERROR_KIND_LENGTH_MAX = 80;

/** Runs every worker's operation in a loop for `durationMs`; resolves when all have stopped. */
export async function runClosedLoop(
  operations: readonly Operation[],
  durationMs: number,
): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const errorKinds: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  const startedMs = performance.now();
  const deadlineMs = startedMs + durationMs;
  const worker = async (operation: Operation): Promise<void> => {
    for (let count = 0; count < OPERATIONS_MAX && performance.now() < deadlineMs; count++) {
      const operationStartedMs = performance.now();
      try {
        await operation();
        latencies.record(performance.now() - operationStartedMs);
        ok++;
      } catch (error) {
        errors++;
        const kind = errorKind(error);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        await sleep(PAUSE_AFTER_ERROR_MS);
      }
    }
  };
  await Promise.all(operations.map(worker));
  const seconds = (performance.now() - startedMs) / 1000;
  const { p50, p99, max } = latencies.percentiles();
  return {
    ok,
    errors,
    errorKinds,
    seconds,
    opsPerSecond: ok / seconds,
    p50Ms: p50,
    p99Ms: p99,
    maxMs: max,
  };
}

function errorKind(error: unknown): string {
  const message =
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
  return message.split('\n')[0]!.slice(0, ERROR_KIND_LENGTH_MAX);
}
