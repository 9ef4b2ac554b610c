import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { RaftCore } from '../../src/raft/raft-core.js';
import { bootstrapState } from '../../src/raft/raft-bootstrap.js';
import { RaftDriver } from '../../src/raft/raft-driver.js';
import type { ReadChunk, SnapshotSource, StateMachine } from '../../src/raft/state-machine.js';
import type { RaftConfig } from '../../src/raft/config.js';
import {
  EntryType,
  type Configuration,
  type Entry,
  type NodeId,
  type SnapshotMetadata,
} from '../../src/raft/types.js';
import { FileStorage } from '../../src/storage/index.js';
import { PeerTransport } from '../../src/transport/index.js';
import { memorySource, readWhole } from '../unit/raft/memory-snapshot.js';
import { acceptPeer } from '../unit/transport/peer-node.js';

/** Applies text commands into a list; snapshots are its JSON, taken and restored at once. */
export class ListStateMachine implements StateMachine {
  items: string[] = [];
  /** The last index applied or restored; the core's applied index can run ahead of it. */
  appliedIndex = 0;
  apply(entry: Entry): void {
    if (entry.type === EntryType.command) this.items.push(Buffer.from(entry.data).toString());
    this.appliedIndex = entry.index;
  }
  snapshot(done: (error: Error | undefined, source?: SnapshotSource) => void): void {
    done(undefined, memorySource(this.appliedIndex, Buffer.from(JSON.stringify(this.items))));
  }
  restore(metadata: SnapshotMetadata, read: ReadChunk, done: (error?: Error) => void): void {
    readWhole(metadata.bytes, read, (error, data) => {
      if (error !== undefined || data === undefined) return done(error);
      this.appliedIndex = metadata.index;
      this.items = JSON.parse(Buffer.from(data).toString()) as string[];
      done();
    });
  }
}

/**
 * One Raft node as a real host runs it: file storage with fsync, peers over loopback TCP behind
 * the Dqlite handshake, and a wall-clock tick. Only the SQL layer of a real node is missing.
 */
export class RaftHost {
  readonly id: NodeId;
  readonly address: string;
  readonly directory: string;
  readonly stateMachine = new ListStateMachine();
  #driver!: RaftDriver;
  #storage!: FileStorage;
  #transport!: PeerTransport;
  #server!: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #timer: NodeJS.Timeout | undefined;
  readonly #commitWaiters = new Map<number, () => void>();

  private constructor(id: NodeId, address: string, directory: string) {
    this.id = id;
    this.address = address;
    this.directory = directory;
  }

  static async start(options: {
    id: NodeId;
    port: number;
    directory: string;
    bootstrap?: Configuration;
    config?: Partial<RaftConfig>;
    snapshotThresholdEntries?: number;
  }): Promise<RaftHost> {
    const host = new RaftHost(options.id, `127.0.0.1:${options.port}`, options.directory);
    mkdirSync(options.directory, { recursive: true });
    const storage = FileStorage.open({ directory: options.directory });
    let initial = storage.load();
    if (initial.entries.length === 0 && initial.snapshot === undefined && options.bootstrap) {
      const boot = bootstrapState(options.bootstrap);
      await new Promise<void>((resolve, reject) =>
        storage.persist({ hardState: boot.hardState, entries: boot.entries }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      initial = boot;
    }
    host.#storage = storage;
    const core = new RaftCore({
      id: options.id,
      initialState: initial,
      config: options.config,
      random: Math.random,
    });
    host.#transport = new PeerTransport({
      id: options.id,
      address: host.address,
      onMessage: (message) => host.#driver.receive(message),
    });
    host.#driver = new RaftDriver({
      core,
      storage,
      transport: host.#transport,
      stateMachine: host.stateMachine,
      snapshotThresholdEntries: options.snapshotThresholdEntries ?? 100,
    });
    host.#transport.setPeers(core.status().configuration.servers);
    host.#server = net.createServer((socket) => acceptPeer(socket, host.#transport, host.#sockets));
    await new Promise<void>((resolve) => host.#server.listen(options.port, '127.0.0.1', resolve));
    host.#timer = setInterval(() => host.#tick(), core.config.tickMilliseconds);
    return host;
  }

  #tick(): void {
    this.#driver.tick();
    this.#transport.setPeers(this.#driver.core.status().configuration.servers);
    // The state machine's own index: after a snapshot install the core's applied index jumps
    // before the driver has read the snapshot and restored it.
    const applied = this.stateMachine.appliedIndex;
    for (const [index, resolve] of this.#commitWaiters) {
      if (index <= applied) {
        this.#commitWaiters.delete(index);
        resolve();
      }
    }
  }

  get status() {
    return this.#driver.core.status();
  }

  propose(text: string) {
    return this.#driver.propose(Buffer.from(text));
  }

  /** Resolves once this node's state machine applied `index` (checked on each tick). */
  applied(index: number): Promise<void> {
    return new Promise((resolve) => this.#commitWaiters.set(index, resolve));
  }

  /** Stops at once, as kill -9 would, without waiting for writes in flight. */
  async crash(): Promise<void> {
    clearInterval(this.#timer);
    this.#driver.stop();
    this.#transport.close();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#storage.close().catch(() => undefined); // writes in flight may fail: a crash
  }
}
