// A writer that inserts 1, 2, 3, … into `counter (n)` through a pool until stopped: a backup (or
// any snapshot) of the table must then hold a gap-free prefix of what it acknowledged.
import type { LeaderPool } from '../../drivers/pool/index.js';

export interface CounterWriter {
  /** How many inserts were acknowledged so far. */
  readonly written: number;
  /** Resolves once at least `count` inserts were acknowledged. */
  waitFor(count: number): Promise<void>;
  /** Stops after the insert in flight; rejects with the writer's error if one failed. */
  stop(): Promise<void>;
}

export function startCounterWriter(pool: LeaderPool): CounterWriter {
  let written = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      await pool.exec('INSERT INTO counter (n) VALUES (?)', [written + 1]);
      written++;
    }
  })();
  loop.catch(() => undefined); // reported by stop()
  return {
    get written() {
      return written;
    },
    async waitFor(count) {
      while (written < count) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}
