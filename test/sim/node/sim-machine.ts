import fs from 'node:fs';
import type { Message, NodeId, RaftInitialState } from '../../../src/raft/index.js';
import type {
  NodeEnvironment,
  NodeStorage,
  NodeTransport,
} from '../../../src/server/node-environment.js';
import { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import { EngineLink, engineShared } from '../../../src/server/sql/engine-link.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../../src/transport/raft-message-codec.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import type { SimNetwork } from '../sim-network.js';
import { SimEnginePort } from './sim-engine-port.js';
import { SimProcess } from './sim-process.js';

export interface SimMachineOptions {
  readonly id: NodeId;
  readonly address: string;
  readonly scheduler: Scheduler;
  readonly prng: Prng;
  readonly network: SimNetwork;
  /** Virtual milliseconds per local millisecond of this machine's clock. */
  readonly clockRate: number;
  readonly dataDir: string;
  readonly raft: { readonly tickMilliseconds: number; readonly electionTimeoutTicks: number };
  readonly snapshotThresholdEntries: number;
  /** Most bytes of one entry of a transaction (ReplicatedEngineOptions). */
  readonly transactionEntryBytes: number;
  readonly fsyncMaxMilliseconds: number;
  readonly tornPersistProbability: number;
  readonly engineDelayMaxMs: number;
  readonly trace: (text: string) => void;
  /** The node stopped itself (ReplicatedEngine's onFatal): a broken invariant or unproven change. */
  readonly onFatal: (machine: SimMachine, error: Error) => void;
}

/**
 * One simulated machine running the real node: ReplicatedEngine with its Raft, its SQL engine
 * (SqlEngine on real SQLite files in `dataDir`), its point reads and its waits. Simulated
 * underneath: the Raft log's disk (MemoryStorage: what was not synced is lost, a persist may be
 * torn), the engine's thread (SimEnginePort), the network and the clock. The disk and the
 * database files survive a crash; the process does not.
 */
export class SimMachine {
  readonly id: NodeId;
  readonly disk: MemoryStorage;
  process: SimProcess | undefined;
  engine: ReplicatedEngine | undefined;
  /** The current process's simulated engine thread. */
  enginePort: SimEnginePort | undefined;
  incarnation = 0;
  readonly #options: SimMachineOptions;
  #deliver: ((message: Message) => void) | undefined;

  constructor(options: SimMachineOptions) {
    this.id = options.id;
    this.#options = options;
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.disk = new MemoryStorage({
      scheduler: options.scheduler,
      prng: options.prng.fork('disk'),
      fsyncMinMilliseconds: 0,
      fsyncMaxMilliseconds: options.fsyncMaxMilliseconds,
      tornPersistProbability: options.tornPersistProbability,
      gate: (callback) => this.process?.enter(callback),
    });
  }

  get running(): boolean {
    return this.process?.state === 'running' && this.engine !== undefined;
  }

  get paused(): boolean {
    return this.process?.state === 'paused';
  }

  bootstrap(state: RaftInitialState): void {
    this.disk.bootstrap(state);
  }

  /** Starts a new process on what the disk and the data directory hold. */
  async start(): Promise<void> {
    if (this.process !== undefined && this.process.state !== 'dead') {
      throw new Error(`machine ${this.id} is already running`);
    }
    this.incarnation++;
    const options = this.#options;
    const process = new SimProcess(options.scheduler, options.clockRate, `node ${this.id}`);
    this.process = process;
    const random = options.prng.fork(`process-${this.incarnation}`);
    const environment: NodeEnvironment = {
      clock: process.clock,
      random: () => random.next(),
      openStorage: () => this.#storage(),
      startEngine: (linkOptions) => {
        const { onFatal, onSpaceWait, ...engineOptions } = linkOptions;
        const shared = engineShared();
        const port = (this.enginePort = new SimEnginePort({
          process,
          prng: random.fork('engine'),
          delayMaxMs: options.engineDelayMaxMs,
          engine: engineOptions,
          shared,
        }));
        return new EngineLink(port, onFatal, shared, onSpaceWait);
      },
      startTransport: (transportOptions) => this.#transport(process, transportOptions.onMessage),
      snapshotFiles: {
        // Read within the schedule: a real asynchronous read would finish at a moment no seed
        // decides.
        read: (file, offset, length) => {
          const chunk = Buffer.alloc(length);
          const descriptor = fs.openSync(file, 'r');
          try {
            const read = fs.readSync(descriptor, chunk, 0, length, offset);
            if (read !== length) throw new Error(`snapshot file ${file} ended early`);
          } finally {
            fs.closeSync(descriptor);
          }
          return Promise.resolve(chunk);
        },
        remove: (file) => fs.rmSync(file, { force: true }),
      },
    };
    this.engine = await ReplicatedEngine.start(
      {
        id: this.id,
        address: options.address,
        dataDir: options.dataDir,
        raft: options.raft,
        busyTimeoutMs: 2000,
        snapshotThresholdEntries: options.snapshotThresholdEntries,
        transactionEntryBytes: options.transactionEntryBytes,
        onFatal: (error) => options.onFatal(this, error),
      },
      environment,
    );
  }

  /** The process dies (kill -9, or power loss for the Raft log's unsynced writes). */
  crash(): void {
    if (this.process === undefined || this.process.state === 'dead') return;
    this.process.kill();
    this.engine?.abandon();
    this.engine = undefined;
    this.#deliver = undefined;
    this.disk.crash();
  }

  pause(): void {
    this.process?.pause();
  }

  resume(): void {
    this.process?.resume();
  }

  /** The network hands this machine a message. */
  deliver(message: Message): void {
    const deliver = this.#deliver;
    if (deliver !== undefined) this.process?.enter(() => deliver(message));
  }

  #storage(): NodeStorage {
    const disk = this.disk;
    return {
      stall: undefined,
      close: () => Promise.resolve(),
      load: () => disk.load(),
      persist: (write, done) => disk.persist(write, done),
      writeSnapshotChunk: (metadata, offset, data, done) =>
        disk.writeSnapshotChunk(metadata, offset, data, done),
      installSnapshot: (metadata, options, done) => disk.installSnapshot(metadata, options, done),
      readSnapshotChunk: (metadata, offset, length, done) =>
        disk.readSnapshotChunk(metadata, offset, length, done),
    };
  }

  #transport(process: SimProcess, onMessage: (message: Message) => void): NodeTransport {
    this.#deliver = onMessage;
    const network = this.#options.network;
    return {
      // Through the real codec, as on the wire: no object is shared between nodes.
      send: (message) => {
        if (process.state !== 'dead') network.send(decodeRaftMessage(encodeRaftMessage(message)));
      },
      setPeers: () => {},
      accept: () => {
        throw new Error('simulated nodes take no sockets');
      },
      close: () => {
        if (this.process === process) this.#deliver = undefined;
      },
    };
  }
}
