import { backoffCeilingMs, type Backoff } from '../retry/backoff.js';
import { isWaitableStorageError } from '../storage/index.js';

/** First and longest pause before a write that found no space is tried again. */
const retryBackoff: Backoff = { firstMs: 50, maxMs: 1000 };
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let listener: ((waiting: string | undefined) => void) | undefined;

/**
 * Tells `onWait` when this thread starts waiting for space (with why) and stops (undefined): the
 * SQL engine's worker passes it on, so the node knows it cannot serve meanwhile.
 */
export function onSpaceWait(onWait: (waiting: string | undefined) => void): void {
  listener = onWait;
}

/**
 * Runs `write` until it does not fail for lack of space or write access (space-errors.ts),
 * sleeping between tries; any other error is thrown. For the SQL engine's own thread, where a
 * follower's apply must happen, in order, before anything after it: the thread waits, Raft on the
 * main thread carries on, and a closing node ends the thread. `write` must be idempotent (page
 * images written at their offsets are). Tells the `onSpaceWait` listener when it starts and stops
 * waiting; the node logs both.
 */
export function retryWhileNoSpace<T>(
  what: string,
  write: () => T,
  isWaitable: (error: unknown) => boolean = isWaitableStorageError,
): T {
  let waiting = false;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = write();
      if (waiting) listener?.(undefined);
      return result;
    } catch (error) {
      if (!isWaitable(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (!waiting) {
        waiting = true;
        listener?.(`${what}: ${message}`);
      }
      Atomics.wait(sleeper, 0, 0, backoffCeilingMs(retryBackoff, attempt));
    }
  }
}

/**
 * True for SQLite's answer to a full disk or a read-only file system (SQLITE_FULL,
 * SQLITE_READONLY_*, SQLITE_IOERR_*): a checkpoint or snapshot that met it can wait for later,
 * since the WAL keeps every frame the files lack.
 */
export function isSqliteSpaceError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    typeof code === 'string' &&
    (code === 'SQLITE_FULL' ||
      code.startsWith('SQLITE_READONLY') ||
      code.startsWith('SQLITE_IOERR'))
  );
}

/** SQLite's own "no space" and "read-only" answers, which only space or write access cure. */
export function isSqliteFullOrReadOnly(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_READONLY'));
}
