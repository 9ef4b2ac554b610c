import { EventEmitter, defaultMaxListeners, setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClosedError, HandshakeError, NoLeaderError, connect } from '../client/index.js';
import type { DqliteClient } from '../client/index.js';
import { clientOptionsOf, pragmaStatements } from './options.js';
import type { ResolvedPoolOptions } from './options.js';

/** How long an open() refused because the pool is closing takes to fail. */
const CLOSED_OPEN_DELAY_MS = 50;

/** A pooled connection, tagged with the leader generation it was opened in. */
export interface Lease {
  readonly client: DqliteClient;
  readonly generation: number;
}

/** Payload of the pool's 'leaderChange' event. */
export interface LeaderChange {
  readonly previous: string | null;
  readonly leader: string;
  readonly generation: number;
}

/**
 * Opens connections to the current leader and keeps the leader generation: a counter bumped
 * when a connection of the current generation sees the leader go (NOT_LEADER, LEADERSHIP_LOST,
 * a dead socket). Connections of older generations are retired when next borrowed, so one
 * failure retires every connection to the old leader without touching each.
 */
export class LeaderConnections extends EventEmitter {
  readonly #options: ResolvedPoolOptions;
  #generation = 0;
  #leader: string | null = null;
  /** The generation in which `#leader` was first seen; a new leader in it starts the next one. */
  #leaderGeneration = 0;
  /** Why the last attempt to open a connection failed, for the error of a caller who waited. */
  lastOpenError: unknown;
  /** What each node answered since the last connection opened: the search in progress. */
  readonly #answers = new Map<string, string>();
  #searchStarted: number | undefined;
  /** The last open that failed for good (see hopelessSince), and when. */
  #hopeless: { readonly error: Error; readonly at: number } | undefined;
  /** Aborted when the pool closes, so that leader discovery in progress stops at once. */
  readonly #closing = new AbortController();

  constructor(options: ResolvedPoolOptions) {
    super();
    this.#options = options;
    // Every open() in progress listens on the signal: up to `max` at once is expected, not a leak.
    setMaxListeners(Math.max(defaultMaxListeners, options.max * 2), this.#closing.signal);
  }

  get generation(): number {
    return this.#generation;
  }

  get leader(): string | null {
    return this.#leader;
  }

  /**
   * Finds the leader (asking the last known one first: one round trip when nothing changed),
   * connects, applies the configured PRAGMAs.
   */
  async open(): Promise<Lease> {
    if (this.#closing.signal.aborted) {
      // generic-pool calls create again at once after a failure while requests still wait;
      // failing instantly would spin the event loop until they time out.
      await sleep(CLOSED_OPEN_DELAY_MS);
      throw new ClosedError('the pool is closed');
    }
    const generation = this.#generation;
    const known = this.#leader;
    const cluster = known
      ? [known, ...this.#options.cluster.filter((a) => a !== known)]
      : this.#options.cluster;
    this.#searchStarted ??= Date.now();
    const onLeaderAttempt = (attempt: { address: string; outcome: string }) =>
      this.#answers.set(attempt.address, attempt.outcome);
    try {
      const client = await connect({
        ...clientOptionsOf(this.#options, cluster, this.#closing.signal),
        onLeaderAttempt,
      });
      this.#answers.clear();
      this.#searchStarted = undefined;
      this.#hopeless = undefined;
      await applyPragmas(client, this.#options);
      // A generation that moved on while we connected may have been the leader we reached:
      // hand the connection out stale (it is retired on borrow) rather than trust it.
      if (this.#generation !== generation) return { client, generation };
      this.#noteLeader(client.address);
      return { client, generation: this.#generation };
    } catch (error) {
      this.lastOpenError = error;
      // No leader to be had by waiting: nothing listens at any address, or every node refused
      // the handshake (TLS, or not a Dqlite node). Callers waiting now are told at once.
      const hopeless =
        (error instanceof NoLeaderError && error.unreachable) || error instanceof HandshakeError;
      if (hopeless) this.#hopeless = { error, at: Date.now() };
      throw error;
    }
  }

  /** The error of an open that failed for good after `since`: a caller waiting since then gets it. */
  hopelessSince(since: number): Error | undefined {
    const hopeless = this.#hopeless;
    return hopeless !== undefined && hopeless.at >= since ? hopeless.error : undefined;
  }

  /** The search for the leader so far, as an error, while no connection could be opened. */
  searchSoFar(): NoLeaderError | undefined {
    if (this.#answers.size === 0 || this.#searchStarted === undefined) return undefined;
    const attempts = [...this.#answers].map(([address, outcome]) => ({ address, outcome }));
    return new NoLeaderError(attempts, Date.now() - this.#searchStarted);
  }

  /** Stops every open() in progress: the pool is closing. */
  abort(): void {
    this.#closing.abort(new ClosedError('the pool is closed'));
  }

  /** True while the lease's connection is alive and its leader is still the current one. */
  isCurrent(lease: Lease): boolean {
    return lease.generation === this.#generation && lease.client.isOpen;
  }

  /** A lease saw its leader go: start a new generation (once per generation). */
  leaderLost(lease: Lease, reason: unknown): void {
    if (lease.generation !== this.#generation) return;
    this.#generation++;
    this.#options.logger?.warn?.('dqlite-ts pool: leader lost, retiring its connections', {
      leader: lease.client.address,
      generation: this.#generation,
      reason: reason instanceof Error ? reason.message : String(reason),
    });
  }

  /** A connection reached `address` as leader; a different leader than before starts a generation. */
  #noteLeader(address: string): void {
    if (address === this.#leader) return;
    if (this.#leader !== null && this.#leaderGeneration === this.#generation) this.#generation++;
    this.#leaderGeneration = this.#generation;
    const change: LeaderChange = {
      previous: this.#leader,
      leader: address,
      generation: this.#generation,
    };
    this.#leader = address;
    this.#options.logger?.info?.('dqlite-ts pool: leader', { ...change });
    this.emit('leaderChange', change);
  }
}

async function applyPragmas(client: DqliteClient, options: ResolvedPoolOptions): Promise<void> {
  try {
    for (const statement of pragmaStatements(options.pragmas)) await client.exec(statement);
  } catch (error) {
    await client.close();
    throw error;
  }
}
