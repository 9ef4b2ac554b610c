import { backoffCeilingMs, type Backoff } from '../retry/backoff.js';
import { isWaitableStorageError, type StorageStall } from './space-errors.js';

/** One file system action of an operation: a write, an fsync, a rename, a delete. */
export type Step = () => Promise<void>;

/** First and longest wait before a step that failed for lack of space is tried again. */
const stallRetryBackoff: Backoff = { firstMs: 50, maxMs: 1000 };

interface Operation {
  readonly steps: readonly Step[];
  readonly done: (error?: Error) => void;
}

/**
 * Runs storage operations one at a time, in the order they were queued, each step awaited before
 * the next starts, so the effects reach the disk in that order and `done` callbacks run in that
 * order. The event loop never waits for the disk: steps use asynchronous file system calls.
 *
 * Fail-stop: after a step fails, the state of the files is unknown (a failed fsync may have
 * dropped dirty pages), so every later operation fails too, and the node has to restart and
 * recover from what is durable.
 *
 * Except for lack of space or write access (`isWaitableStorageError`): the step is tried again,
 * with backoff, until it succeeds, and everything queued after it waits. Raft sees a slow disk,
 * which it tolerates (a follower stops acknowledging; a leader's followers carry the majority),
 * and the node carries on when space returns. `onStall` reports the wait and its end.
 */
export class OperationQueue {
  readonly #operationsQueuedMax: number;
  readonly #afterEachStep: (() => void) | undefined;
  readonly #operations: Operation[] = [];
  readonly #onStall: ((stall: StorageStall | undefined) => void) | undefined;
  #draining = false;
  #failure: Error | undefined;
  #stall: StorageStall | undefined;
  /** Set by `abandonWaits`: a stalled step gives up instead of waiting on. */
  #abandoned: Error | undefined;
  #wakeStalled: (() => void) | undefined;

  constructor(
    operationsQueuedMax: number,
    afterEachStep: (() => void) | undefined,
    onStall?: (stall: StorageStall | undefined) => void,
  ) {
    this.#operationsQueuedMax = operationsQueuedMax;
    this.#afterEachStep = afterEachStep;
    this.#onStall = onStall;
  }

  /** What the queue is waiting out now, if anything. */
  get stall(): StorageStall | undefined {
    return this.#stall;
  }

  /** A step waiting for space fails with `reason` instead (the node is closing). */
  abandonWaits(reason: Error): void {
    this.#abandoned = reason;
    this.#wakeStalled?.();
  }

  /** Throws a RangeError, before anything is queued, when `operationsQueuedMax` are waiting. */
  checkCapacity(): void {
    if (this.#operations.length >= this.#operationsQueuedMax) {
      throw new RangeError(
        `FileStorage: ${this.#operations.length} operations already queued (operationsQueuedMax)`,
      );
    }
  }

  enqueue(steps: readonly Step[], done: (error?: Error) => void): void {
    this.checkCapacity();
    this.#operations.push({ steps, done });
    // A `done` that throws rejects this promise; Node's default for an unhandled rejection stops
    // the process, which is what a bug in the caller deserves.
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let operation = this.#operations[0]; operation !== undefined;) {
        const error = await this.#run(operation);
        this.#operations.shift();
        operation.done(error);
        operation = this.#operations[0];
      }
    } finally {
      this.#draining = false;
    }
  }

  async #run(operation: Operation): Promise<Error | undefined> {
    if (this.#failure !== undefined) {
      return new Error(`FileStorage stopped after an earlier failure: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
    try {
      for (const step of operation.steps) {
        await this.#runWaitingOutSpace(step);
        this.#afterEachStep?.();
      }
      return undefined;
    } catch (cause) {
      // Converted, not swallowed: the error reaches this operation's `done` and every later one.
      this.#failure = cause instanceof Error ? cause : new Error(String(cause));
      return this.#failure;
    }
  }

  async #runWaitingOutSpace(step: Step): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        if (this.#stall !== undefined) {
          this.#stall = undefined;
          this.#onStall?.(undefined);
        }
        return;
      } catch (error) {
        if (!isWaitableStorageError(error)) throw error;
        if (this.#abandoned !== undefined) {
          throw new Error(`${this.#abandoned.message} while waiting: ${error.message}`, {
            cause: error,
          });
        }
        if (this.#stall === undefined) {
          this.#stall = { error, sinceMs: Date.now() };
          this.#onStall?.(this.#stall);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffCeilingMs(stallRetryBackoff, attempt));
          this.#wakeStalled = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeStalled = undefined;
      }
    }
  }
}
