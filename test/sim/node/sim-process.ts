import type { Clock } from '../../../src/server/clock.js';
import type { Scheduler } from '../scheduler.js';

export type ProcessState = 'running' | 'paused' | 'dead';

/** Most inputs a paused process queues; a full socket buffer would drop the rest. */
const pausedInputsMax = 100_000;

/**
 * One incarnation of a simulated node's process: everything it does (timers, deliveries, its
 * SQL engine's work) enters through `enter`, which runs it now, queues it while the process is
 * paused (SIGSTOP, a long GC) or drops it once the process died. A restart is a new SimProcess.
 */
export class SimProcess {
  #state: ProcessState = 'running';
  #queued: (() => void)[] = [];
  readonly clock: Clock;

  /** `rate`: virtual milliseconds per local millisecond; below 1 this clock runs fast. */
  constructor(
    readonly scheduler: Scheduler,
    readonly rate: number,
    readonly label: string,
  ) {
    this.clock = virtualClock(this);
  }

  get state(): ProcessState {
    return this.#state;
  }

  enter(run: () => void): void {
    if (this.#state === 'running') return run();
    if (this.#state === 'dead') return;
    if (this.#queued.length < pausedInputsMax) this.#queued.push(run);
  }

  /**
   * Schedules `run` after `localMs` of this process's clock, through `enter`. Cancelling stops it
   * even once it is due and waiting in a paused process's queue, as clearTimeout stops a timer
   * whose turn came while the event loop was busy.
   */
  schedule(localMs: number, what: string, run: () => void): () => void {
    let cancelled = false;
    const event = this.scheduler.schedule(
      Math.max(0, localMs) * this.rate,
      `${this.label} ${what}`,
      () =>
        this.enter(() => {
          if (!cancelled) run();
        }),
    );
    return () => {
      cancelled = true;
      this.scheduler.cancel(event);
    };
  }

  pause(): void {
    if (this.#state === 'running') this.#state = 'paused';
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    const queued = this.#queued;
    this.#queued = [];
    for (const run of queued) {
      if (this.#state !== 'running') {
        this.#queued.push(run);
        continue;
      }
      run();
    }
  }

  kill(): void {
    this.#state = 'dead';
    this.#queued = [];
  }
}

/**
 * The process's clock: monotonic time at its own rate, running on through pauses (as
 * performance.now does), and timers that fire through the process (late, after a pause).
 */
function virtualClock(process: SimProcess): Clock {
  return {
    now: () => process.scheduler.now / process.rate,
    after: (ms, run) => process.schedule(ms, 'timer', run),
    every(ms, run) {
      let cancel = () => {};
      let stopped = false;
      const next = () => {
        cancel = process.schedule(ms, 'interval', () => {
          if (stopped) return;
          next();
          run();
        });
      };
      next();
      return () => {
        stopped = true;
        cancel();
      };
    },
    defer: (run) => void process.schedule(0, 'deferred', run),
  };
}
