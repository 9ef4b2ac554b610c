// Raft as this node runs it on its main thread: the driver, the peer transport and who it may
// send to, the tick, and the membership changes and leadership transfers that resolve once they
// are in force. Kept apart from ReplicatedEngine, which serves SQL on top of it: this half knows
// nothing of SQL, answers or leadership epochs, only of Raft and its peers.

import type net from 'node:net';
import {
  RaftDriver,
  Role,
  type Configuration,
  type MembershipChange,
  type NodeId,
  type ProposeAllResult,
  type ProposeResult,
  type RaftCore,
  type RaftEvent,
  type RaftStatus,
  type ReadState,
  type Refusal,
  type Server,
  type StateMachine,
} from '../raft/index.js';
import type { NodeTls, PeerAddress } from '../transport/index.js';
import type { AppliedIndex } from './applied-index.js';
import type { Clock } from './clock.js';
import { MembershipError } from './membership-error.js';
import type { NodeEnvironment, NodeStorage, NodeTransport } from './node-environment.js';
import { LeadershipLost } from './outcomes.js';
import { handedOver, promoted, type RaftObserver } from './raft-waits.js';

/** Longest a leadership transfer may take before TRANSFER fails. */
const transferWaitMs = 5000;

export interface NodeRaftOptions {
  readonly id: NodeId;
  readonly address: string;
  /** Dial peers over mutual TLS. Default plain TCP. */
  readonly tls?: NodeTls;
  readonly snapshotThresholdEntries?: number;
  readonly environment: NodeEnvironment;
  readonly storage: NodeStorage;
  readonly core: RaftCore;
  readonly stateMachine: StateMachine;
  /** What the state machine applied; a membership change resolves once it is applied. */
  readonly applied: Pick<AppliedIndex, 'index' | 'reached'>;
  readonly onReadState: (read: ReadState) => void;
  /** Sees every Raft event first, before the listeners added with `onEvent`. */
  readonly onEvent: (event: RaftEvent) => void;
  /** Runs after every tick. */
  readonly afterTick: () => void;
  /** Whether this node refuses to take leadership over: a TimeoutNow is then dropped. */
  readonly refusesTakeOver: () => boolean;
  /** Storage failed: the node cannot stay safe and must stop. */
  readonly onFatal: (error: Error) => void;
}

/**
 * The Raft driver, its transport and its tick, until `stop`. The transport may send to the
 * configuration's servers and to nodes that dialled us but are not in our configuration yet: a
 * node that just joined knows no configuration until the leader's first entries arrive, and must
 * still answer them.
 */
export class NodeRaft {
  readonly #options: NodeRaftOptions;
  readonly #clock: Clock;
  readonly #transport: NodeTransport;
  readonly #driver: RaftDriver;
  readonly #stopTicks: () => void;
  readonly #eventListeners = new Set<(event: RaftEvent) => void>();
  /** Waits to end when this node stops: no Raft event will ever settle them after that. */
  readonly #stopListeners = new Set<() => void>();
  /** Nodes that dialled us with CONNECT, by id, until our configuration names them. */
  readonly #announcedPeers = new Map<NodeId, string>();
  #stopped = false;

  constructor(options: NodeRaftOptions) {
    const { environment, core } = options;
    this.#options = options;
    this.#clock = environment.clock;
    this.#transport = environment.startTransport({
      id: options.id,
      address: options.address,
      tls: options.tls,
      onMessage: (message) => {
        if (this.#stopped) return;
        if (message.type === 'TimeoutNow' && options.refusesTakeOver()) return;
        this.#driver.receive(message);
      },
      random: environment.random,
    });
    this.#driver = new RaftDriver({
      core,
      storage: options.storage,
      transport: this.#transport,
      stateMachine: options.stateMachine,
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      onReadState: options.onReadState,
      defer: (run) => this.#clock.defer(run),
      onEvent: (event) => {
        options.onEvent(event);
        for (const listener of this.#eventListeners) listener(event);
      },
      onFatal: options.onFatal,
    });
    this.#transport.setPeers(this.#peers());
    this.#stopTicks = this.#clock.every(core.config.tickMilliseconds, () => this.#tick());
  }

  status(): RaftStatus {
    return this.#driver.core.status();
  }

  configuration(): Configuration {
    return this.status().configuration;
  }

  /** A leader's match index per other server; empty on other roles (RaftCore.matchIndexes). */
  matchIndexes(): Map<NodeId, number> {
    return this.#driver.core.matchIndexes();
  }

  /** Raft leader, and not stopped. */
  isLeader(): boolean {
    return !this.#stopped && this.status().role === 'leader';
  }

  /** The leader this node knows, or undefined during an election. */
  leader(): Server | undefined {
    const status = this.status();
    if (status.leaderId === 0) return undefined;
    return status.configuration.servers.find((server) => server.id === status.leaderId);
  }

  /** Voters in the configuration other than this node. */
  otherVoters(): number {
    return this.configuration().servers.filter(
      (server) => server.role === Role.voter && server.id !== this.#options.id,
    ).length;
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** A peer dialled us (the listener read its CONNECT): the socket now carries Raft messages. */
  acceptPeer(socket: net.Socket, rest: Buffer, peer: PeerAddress): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    this.#announcedPeers.set(peer.id, peer.address);
    this.#transport.accept(socket, rest, peer);
    this.#transport.setPeers(this.#peers());
  }

  propose(data: Uint8Array): ProposeResult {
    return this.#driver.propose(data);
  }

  /** Consecutive entries in one input (RaftCore.proposeAll): a transaction's parts. */
  proposeAll(data: readonly Uint8Array[]): ProposeAllResult {
    return this.#driver.proposeAll(data);
  }

  proposeBarrier(): ProposeResult {
    return this.#driver.proposeBarrier();
  }

  /** Starts a ReadIndex round; `onReadState` says when it is served. */
  readIndex(
    requestId: number,
    options: { follower?: boolean } = {},
  ): { readonly ok: true } | Refusal {
    return this.#driver.readIndex(requestId, options);
  }

  /** RaftDriver.readConfirmedNow: a leader's read needs no round now. */
  readConfirmedNow(): boolean {
    return this.#driver.readConfirmedNow();
  }

  /** What the waits in raft-waits.ts watch. */
  readonly #observer: RaftObserver = {
    id: () => this.#options.id,
    status: () => this.status(),
    appliedIndex: () => this.#options.applied.index,
    onEvent: (listener) => this.onEvent(listener),
    onStop: (listener) => {
      if (this.#stopped) {
        listener();
        return () => {};
      }
      this.#stopListeners.add(listener);
      return () => this.#stopListeners.delete(listener);
    },
    clock: () => this.#clock,
  };

  /** Applies a membership change through Raft; resolves once it is in force here. */
  async changeMembership(change: MembershipChange): Promise<void> {
    try {
      const result = this.#driver.changeMembership(change);
      if (!result.ok) throw new MembershipError(result.code, result.message);
      if ('catchingUp' in result) {
        await promoted(this.#observer, change.id, this.#driver.core.config.tickMilliseconds);
        return;
      }
      await this.#options.applied.reached(result.index);
    } catch (error) {
      if (error instanceof LeadershipLost) {
        throw new MembershipError('not-leader', `leadership lost: ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Hands leadership to `target` (or the best voter); resolves once this node stepped down and
   * knows the new leader, so a LEADER request right after names it (as dqlite's does).
   */
  async transferLeadership(target?: NodeId, timeoutMs = transferWaitMs): Promise<void> {
    const result = this.#driver.transferLeadership(target);
    if (!result.ok) throw new MembershipError(result.code, result.message);
    await handedOver(this.#observer, timeoutMs);
  }

  /** Stops ticking, driving and talking to peers at once; later completions are dropped. */
  stop(): void {
    this.#stopped = true;
    this.#stopTicks();
    this.#driver.stop();
    this.#transport.close();
    const waits = [...this.#stopListeners];
    this.#stopListeners.clear();
    for (const listener of waits) listener();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#driver.tick();
    this.#transport.setPeers(this.#peers());
    this.#options.afterTick();
  }

  /** Who the transport may send to (see the class comment); forgets announced peers it names. */
  #peers(): PeerAddress[] {
    const servers = this.configuration().servers;
    const peers: PeerAddress[] = servers.map((server) => ({
      id: server.id,
      address: server.address,
    }));
    for (const [id, address] of this.#announcedPeers) {
      if (servers.some((server) => server.id === id)) this.#announcedPeers.delete(id);
      else peers.push({ id, address });
    }
    return peers;
  }
}
