// What a node runs on: disk, SQL engine, network, time and randomness, as one value. It is the
// seam the whole-node simulator replaces, so it is kept apart from ReplicatedEngine, which only
// consumes it: the simulator imports these contracts without the engine, and production's
// choices are written down once, in `productionEnvironment`.

import type net from 'node:net';
import type { RaftStorage, RaftTransport } from '../raft/index.js';
import { FileStorage, type LogFiles, type StorageStall } from '../storage/index.js';
import { PeerTransport, type PeerAddress, type PeerTransportOptions } from '../transport/index.js';
import { systemClock, type Clock } from './clock.js';
import { diskFiles, type SnapshotFiles } from './engine-state-machine.js';
import { EngineLink, type EngineLinkOptions } from './sql/engine-link.js';

/** The Raft log's storage as the node uses it: FileStorage in production. */
export interface NodeStorage extends RaftStorage {
  /** Why writes stall now (no space, no write access), or undefined. */
  readonly stall: StorageStall | undefined;
  /** The log's files, for monitoring; absent where storage has none (the simulator's). */
  logFiles?(): LogFiles;
  close(): Promise<void>;
}

/** The peer network as the node uses it: PeerTransport in production. */
export interface NodeTransport extends RaftTransport {
  setPeers(peers: readonly PeerAddress[]): void;
  accept(socket: net.Socket, rest: Buffer, peer: PeerAddress): void;
  close(): void;
}

/**
 * What a node runs on: disk, SQL engine, network, time and randomness. Production's come from
 * `productionEnvironment`; the whole-node simulator passes simulated ones, so that everything
 * above them (ReplicatedEngine, Raft, the SQL engine's code, SQLite) runs as in production.
 */
export interface NodeEnvironment {
  readonly clock: Clock;
  readonly random: () => number;
  openStorage(directory: string, onStall: (stall: StorageStall | undefined) => void): NodeStorage;
  startEngine(options: EngineLinkOptions): EngineLink;
  startTransport(options: PeerTransportOptions): NodeTransport;
  /** How the snapshot files the engine writes are read here. */
  readonly snapshotFiles: SnapshotFiles;
}

export const productionEnvironment: NodeEnvironment = {
  clock: systemClock,
  random: Math.random,
  openStorage: (directory, onStall) => FileStorage.open({ directory, onStall }),
  startEngine: (options) => EngineLink.start(options),
  startTransport: (options) => new PeerTransport(options),
  snapshotFiles: diskFiles,
};
