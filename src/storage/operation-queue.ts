/** One file system action of an operation: a write, an fsync, a rename, a delete. */
export type Step = () => Promise<void>;

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
 */
export class OperationQueue {
  readonly #operationsQueuedMax: number;
  readonly #afterEachStep: (() => void) | undefined;
  readonly #operations: Operation[] = [];
  #draining = false;
  #failure: Error | undefined;

  constructor(operationsQueuedMax: number, afterEachStep: (() => void) | undefined) {
    this.#operationsQueuedMax = operationsQueuedMax;
    this.#afterEachStep = afterEachStep;
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
        await step();
        this.#afterEachStep?.();
      }
      return undefined;
    } catch (cause) {
      // Converted, not swallowed: the error reaches this operation's `done` and every later one.
      this.#failure = cause instanceof Error ? cause : new Error(String(cause));
      return this.#failure;
    }
  }
}
