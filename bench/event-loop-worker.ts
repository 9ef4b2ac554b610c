// The worker half of bench/event-loop.ts, plus the helpers both threads share. Importing this
// module on the main thread only defines those helpers; it serves requests only inside a Worker.

import { isMainThread, parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** A CPU-bound query whose duration grows linearly with its one parameter, a row count. */
export const COUNT_SQL =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c';

/** The point read of the read-path measures, on the table bench/event-loop.ts creates. */
export const SELECT_SQL = 'SELECT id, v FROM bench WHERE id = ?';

/** What the main thread asks of the worker. Each request gets exactly one reply. */
export type WorkerRequest =
  | { type: 'count'; rowCount: number }
  | { type: 'timerStart'; intervalMs: number }
  | { type: 'timerStop' }
  | { type: 'open'; path: string }
  | { type: 'select'; id: number }
  | { type: 'ping' }
  | { type: 'bytes'; bytes: Uint8Array; transfer: boolean };

/** The worker's answers; `ready` is sent once, unasked, when the worker is listening. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'counted'; durationMs: number }
  | { type: 'timerStarted' }
  | { type: 'timerLags'; lagsMs: number[] }
  | { type: 'opened' }
  | { type: 'row'; row: unknown }
  | { type: 'pong' }
  | { type: 'bytes'; bytes: Uint8Array };

/**
 * Starts a `setInterval` of `intervalMs` standing in for Raft's tick and records how late each
 * callback fires relative to the previous one. The returned function stops it and returns the lags.
 */
export function recordTimerLag(intervalMs: number): () => number[] {
  const lagsMs: number[] = [];
  let previousMs = performance.now();
  const timer = setInterval(() => {
    const nowMs = performance.now();
    // libuv's clock has millisecond granularity, so a callback can fire up to 1 ms early; that
    // counts as on time rather than as a negative lag.
    lagsMs.push(Math.max(0, nowMs - previousMs - intervalMs));
    previousMs = nowMs;
  }, intervalMs);
  return () => {
    clearInterval(timer);
    return lagsMs;
  };
}

/** Runs COUNT_SQL synchronously on `database`; returns how long it blocked the thread, in ms. */
export function timeCount(database: Database.Database, rowCount: number): number {
  const startedMs = performance.now();
  const counted = database.prepare(COUNT_SQL).pluck().get(rowCount);
  if (counted !== rowCount) throw new Error(`count query returned ${String(counted)}`);
  return performance.now() - startedMs;
}

function serve(port: MessagePort): void {
  const memory = new Database(':memory:');
  let select: Database.Statement | undefined;
  let stopTimer: (() => number[]) | undefined;
  const reply = (message: WorkerReply) => port.postMessage(message);

  port.on('message', (request: WorkerRequest) => {
    switch (request.type) {
      case 'count':
        reply({ type: 'counted', durationMs: timeCount(memory, request.rowCount) });
        return;
      case 'timerStart':
        stopTimer = recordTimerLag(request.intervalMs);
        reply({ type: 'timerStarted' });
        return;
      case 'timerStop':
        if (stopTimer === undefined) throw new Error('timerStop without timerStart');
        reply({ type: 'timerLags', lagsMs: stopTimer() });
        stopTimer = undefined;
        return;
      case 'open':
        select = new Database(request.path, { readonly: true }).prepare(SELECT_SQL);
        reply({ type: 'opened' });
        return;
      case 'select':
        if (select === undefined) throw new Error('select before open');
        reply({ type: 'row', row: select.get(request.id) });
        return;
      case 'ping':
        reply({ type: 'pong' });
        return;
      case 'bytes':
        if (request.transfer) {
          // Hand the buffer back rather than copy it, as the request did.
          const buffer = request.bytes.buffer as ArrayBuffer;
          port.postMessage({ type: 'bytes', bytes: request.bytes } satisfies WorkerReply, [buffer]);
        } else {
          reply({ type: 'bytes', bytes: request.bytes });
        }
        return;
      default: {
        const unknown: never = request;
        throw new Error(`unknown request ${JSON.stringify(unknown)}`);
      }
    }
  });
  reply({ type: 'ready' });
}

if (!isMainThread && parentPort !== null) serve(parentPort);
