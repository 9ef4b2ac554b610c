import type { ReadChunk, SnapshotSource, StateMachine } from '../../src/raft/state-machine.js';
import { EntryType, type Entry, type SnapshotMetadata } from '../../src/raft/types.js';
import { memorySource, readWhole, type Later } from '../unit/raft/memory-snapshot.js';
import { emptyHash, hashBytes, mixHash } from './hash-bytes.js';
import { InvariantViolation } from './invariant-violation.js';

/** One command the state machine applied. */
export interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/** What the invariant checker learns from a state machine. */
export interface StateMachineObserver {
  /** After each entry applied, with the hash after it. */
  applied(entry: Entry, hash: number): void;
  /** After a snapshot restored, with the hash it holds. */
  restored(metadata: SnapshotMetadata, hash: number): void;
}

export interface SimStateMachineOptions {
  readonly observer?: StateMachineObserver;
  /**
   * Runs a completion later, as production's engine answers from its own thread: snapshots,
   * source reads and the end of a restore go through it. Default: at once.
   */
  readonly later?: Later;
  /** Bytes a restore reads at a time (production reads `snapshotReadBytesMax`). */
  readonly restoreChunkBytes?: number;
}

const snapshotVersion = 1;
/** version, applied index, hash, command count: u32 each. */
const headerBytes = 16;
/** index, term, data length: u32 each. */
const commandHeaderBytes = 12;

/**
 * The replicated state machine of the simulation: it remembers every command it applied, in
 * order, and a rolling hash over them, so two nodes are equal exactly when their hashes are. It
 * checks what a host may assume of the driver: entries arrive one index at a time, and a snapshot
 * restores the state at its own index. It implements the same contract as production's engine:
 * a snapshot is the state when it was asked for, answered later; a restore reads in chunks.
 */
export class SimStateMachine implements StateMachine {
  /** Index of the last entry applied, of any type, or of the snapshot restored. */
  appliedIndex = 0;
  /** Rolling hash over (index, term, data) of every command applied. */
  hash = emptyHash;
  #commands: AppliedCommand[] = [];
  readonly #observer: StateMachineObserver | undefined;
  readonly #later: Later;
  readonly #restoreChunkBytes: number | undefined;

  constructor(options: SimStateMachineOptions = {}) {
    this.#observer = options.observer;
    this.#later = options.later ?? ((_label, run) => run());
    this.#restoreChunkBytes = options.restoreChunkBytes;
  }

  get commands(): readonly AppliedCommand[] {
    return this.#commands;
  }

  apply(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new InvariantViolation(
        'apply order',
        `entry ${entry.index} applied after ${this.appliedIndex}`,
      );
    }
    this.appliedIndex = entry.index;
    if (entry.type === EntryType.command) {
      this.#commands.push({ index: entry.index, term: entry.term, data: entry.data });
      this.hash = commandHash(this.hash, entry);
    }
    this.#observer?.applied(entry, this.hash);
  }

  /** Captures the state now (the index the driver asked at) and answers later. */
  snapshot(done: (error: Error | undefined, source?: SnapshotSource) => void): void {
    const source = memorySource(this.appliedIndex, this.#encode(), this.#later);
    this.#later('state machine snapshot', () => done(undefined, source));
  }

  /** Reads the snapshot in chunks, then replaces the state with it (`#install`) and is done. */
  restore(metadata: SnapshotMetadata, read: ReadChunk, done: (error?: Error) => void): void {
    const whole = (error: Error | undefined, data?: Uint8Array) => {
      if (error !== undefined || data === undefined) return done(error);
      this.#later('state machine restore', () => {
        this.#install(metadata, data);
        done();
      });
    };
    readWhole(metadata.bytes, read, whole, this.#restoreChunkBytes);
  }

  #encode(): Uint8Array {
    const size = this.#commands.reduce(
      (total, command) => total + commandHeaderBytes + command.data.length,
      headerBytes,
    );
    const buffer = Buffer.alloc(size);
    let offset = buffer.writeUInt32LE(snapshotVersion, 0);
    offset = buffer.writeUInt32LE(this.appliedIndex, offset);
    offset = buffer.writeUInt32LE(this.hash, offset);
    offset = buffer.writeUInt32LE(this.#commands.length, offset);
    for (const command of this.#commands) {
      offset = buffer.writeUInt32LE(command.index, offset);
      offset = buffer.writeUInt32LE(command.term, offset);
      offset = buffer.writeUInt32LE(command.data.length, offset);
      offset += Buffer.from(command.data).copy(buffer, offset);
    }
    return buffer;
  }

  /**
   * Replaces the state with a snapshot's. The data must describe the state at `metadata.index`
   * and its hash must match the commands it lists: a mismatch means a snapshot was taken at the
   * wrong point, labelled wrongly, or damaged on its way.
   */
  #install(metadata: SnapshotMetadata, data: Uint8Array): void {
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const fail = (detail: string): never => {
      throw new InvariantViolation('snapshot integrity', `snapshot ${metadata.index}: ${detail}`);
    };
    if (buffer.length < headerBytes || buffer.readUInt32LE(0) !== snapshotVersion)
      fail('bad header');
    const appliedIndex = buffer.readUInt32LE(4);
    const expectedHash = buffer.readUInt32LE(8);
    const count = buffer.readUInt32LE(12);
    if (appliedIndex !== metadata.index) fail(`data is the state at index ${appliedIndex}`);
    const commands: AppliedCommand[] = [];
    let hash = emptyHash;
    let offset = headerBytes;
    for (let position = 0; position < count; position++) {
      if (offset + commandHeaderBytes > buffer.length) fail('truncated command');
      const index = buffer.readUInt32LE(offset);
      const term = buffer.readUInt32LE(offset + 4);
      const length = buffer.readUInt32LE(offset + 8);
      offset += commandHeaderBytes;
      if (offset + length > buffer.length) fail('truncated command data');
      const command = {
        index,
        term,
        data: Uint8Array.from(buffer.subarray(offset, offset + length)),
      };
      offset += length;
      commands.push(command);
      hash = commandHash(hash, command);
    }
    if (offset !== buffer.length) fail('trailing bytes');
    if (hash !== expectedHash) fail(`hash ${hash} of its commands differs from ${expectedHash}`);
    this.#commands = commands;
    this.hash = hash;
    this.appliedIndex = metadata.index;
    this.#observer?.restored(metadata, hash);
  }
}

function commandHash(
  hash: number,
  command: { index: number; term: number; data: Uint8Array },
): number {
  return mixHash(mixHash(mixHash(hash, command.index), command.term), hashBytes(command.data));
}
