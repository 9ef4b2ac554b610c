import {
  snapshotReadBytesMax,
  type ReadChunk,
  type ReadChunkDone,
  type SnapshotSource,
} from '../../../src/raft/state-machine.js';

/**
 * The snapshot halves of the state-machine contract for machines that keep their state in
 * memory (the test machines and the simulator's). Callbacks run at once unless `later` delays
 * them; either is allowed by the contract.
 */

/** Runs a callback now, or later (the simulator passes one that goes through its scheduler). */
export type Later = (label: string, run: () => void) => void;

const now: Later = (_label, run) => run();

/** A source over `data`, the state at `index`; each read completes through `later`. */
export function memorySource(index: number, data: Uint8Array, later: Later = now): SnapshotSource {
  let released = false;
  return {
    index,
    bytes: data.byteLength,
    read: (offset, length, done) => {
      if (released) throw new Error(`snapshot ${index} was read after its release`);
      const chunk = data.subarray(offset, offset + length);
      later('snapshot source read', () => done(undefined, chunk));
    },
    release: () => {
      released = true;
    },
  };
}

/**
 * Reads a whole snapshot of `bytes` through a restore's `read`, one chunk of at most `chunkBytes`
 * in flight, and hands the data to `done`.
 */
export function readWhole(
  bytes: number,
  read: ReadChunk,
  done: ReadChunkDone,
  chunkBytes = snapshotReadBytesMax,
): void {
  const whole = new Uint8Array(bytes);
  const readFrom = (offset: number): void => {
    if (offset >= bytes) return done(undefined, whole);
    const length = Math.min(chunkBytes, bytes - offset);
    read(offset, length, (error, chunk) => {
      if (error !== undefined || chunk === undefined) {
        return done(error ?? new Error('a snapshot read returned no data'));
      }
      whole.set(chunk, offset);
      readFrom(offset + length);
    });
  };
  readFrom(0);
}
