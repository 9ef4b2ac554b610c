import type { TransferListItem } from 'node:worker_threads';
import type {
  EngineFatal,
  EngineReply,
  EngineRequest,
  EngineSpaceWait,
} from '../../../src/server/sql/engine-messages.js';
import { hostEngine } from '../../../src/server/sql/engine-host.js';
import type { EnginePort, EngineShared } from '../../../src/server/sql/engine-link.js';
import { SqlEngine, type SqlEngineOptions } from '../../../src/server/sql/sql-engine.js';
import type { Prng } from '../prng.js';
import type { SimProcess } from './sim-process.js';

type FromEngine = EngineReply | EngineFatal | EngineSpaceWait;

/**
 * The SQL engine's worker thread, simulated: the real SqlEngine, hosted by the real engine-host,
 * on this thread. Messages cross as production's do (structured clone, transferred buffers
 * detached) and each direction keeps its order, with a random delay that stands for the other
 * thread being busy. Everything runs through the node's process, so a paused node's engine stops
 * too and a crashed one's is gone.
 */
export class SimEnginePort implements EnginePort {
  readonly #process: SimProcess;
  readonly #prng: Prng;
  readonly #delayMaxMs: number;
  readonly #handle: (request: EngineRequest) => void;
  readonly #engine: SqlEngine;
  readonly #listeners: { message: ((message: FromEngine) => void)[] } = { message: [] };
  /** Virtual time the last message each way is handled; the next is no earlier (FIFO). */
  #toEngineAt = 0;
  #toMainAt = 0;
  #terminated = false;
  #stalledUntil = 0;
  #repliesStalledUntil = 0;

  constructor(options: {
    readonly process: SimProcess;
    readonly prng: Prng;
    readonly delayMaxMs: number;
    readonly engine: SqlEngineOptions;
    readonly shared: EngineShared;
  }) {
    this.#process = options.process;
    this.#prng = options.prng;
    this.#delayMaxMs = options.delayMaxMs;
    const engine = (this.#engine = new SqlEngine(
      { ...options.engine, ...options.shared },
      (ms, run) =>
        this.#process.schedule(ms, 'busy-timeout', () => {
          if (!this.#terminated) run();
        }),
    ));
    this.#handle = hostEngine(engine, (message, transfer) => {
      const copy = structuredClone(message, { transfer: transfer as never[] });
      this.#toMainAt = this.#later(
        this.#toMainAt,
        Math.max(this.#stalledUntil, this.#repliesStalledUntil),
      );
      this.#at(this.#toMainAt, 'engine->main', () => {
        for (const listener of this.#listeners.message) listener(copy);
      });
    });
  }

  postMessage(message: EngineRequest, transfer: TransferListItem[]): void {
    if (this.#terminated) return;
    const copy = structuredClone(message, { transfer: transfer as never[] });
    this.#toEngineAt = this.#later(this.#toEngineAt);
    this.#at(this.#toEngineAt, `main->engine ${message.op}`, () => this.#handle(copy));
  }

  on(event: 'message' | 'error' | 'exit', listener: (value: never) => void): void {
    // The simulated worker never errors or exits by itself.
    if (event === 'message')
      this.#listeners.message.push(listener as (message: FromEngine) => void);
  }

  /** The worker ends: its connections close with it (SqlEngine.close). */
  terminate(): Promise<void> {
    if (!this.#terminated) this.#engine.close();
    this.#terminated = true;
    return Promise.resolve();
  }

  /**
   * Holds every message either way until `until` (virtual ms): the engine is busy with a long
   * statement, or the main thread with a burst of work, while the other side goes on.
   */
  stall(until: number): void {
    this.#stalledUntil = Math.max(this.#stalledUntil, until);
  }

  /**
   * Holds the engine's replies only, until `until`: the engine has committed a transaction and
   * its reply, with the proposal, is still on its way while the main thread goes on serving.
   */
  stallReplies(until: number): void {
    this.#repliesStalledUntil = Math.max(this.#repliesStalledUntil, until);
  }

  #later(last: number, stalledUntil = this.#stalledUntil): number {
    const now = this.#process.scheduler.now;
    return Math.max(last, stalledUntil, now + this.#prng.next() * this.#delayMaxMs);
  }

  #at(time: number, what: string, run: () => void): void {
    this.#process.scheduler.at(time, `${this.#process.label} ${what}`, () =>
      this.#process.enter(() => {
        if (!this.#terminated) run();
      }),
    );
  }
}
