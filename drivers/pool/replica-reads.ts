import {
  ClosedError,
  ConnectionError,
  LeadershipLostError,
  NotLeaderError,
  ReadsUnsupportedError,
  TimeoutError,
  connectForReads,
} from '../client/index.js';
import type {
  NodeInfo,
  Parameter,
  QueryResult,
  ReadChoice,
  DqliteClient,
} from '../client/index.js';
import type { Deadline } from './backoff.js';
import { clientOptionsOf } from './options.js';
import type { ResolvedPoolOptions } from './options.js';

/** How a read may be served (docs/reads.md). */
export type ReadConsistency = 'leader' | 'read-index' | 'bounded';

/** The pool's `reads` option, and the same fields on one call. */
export interface ReadOptions {
  /**
   * 'leader' (default): every read goes to the leader, as in Dqlite. 'read-index': any member
   * serves it, once it applied what the leader had committed when asked; still linearizable.
   * 'bounded': any member serves it at once when it applied everything acknowledged up to
   * `maxStalenessMs` ago.
   */
  readonly consistency?: ReadConsistency;
  /** With 'bounded': how stale a read may be, in milliseconds. Default 1000. */
  readonly maxStalenessMs?: number;
}

/** `maxStalenessMs` when 'bounded' names none. */
export const MAX_STALENESS_MS_DEFAULT = 1000;
/** How long a member that failed a read is left out before it is tried again. */
const restMs = 1000;
/** How long a member that did not answer READ_CONSISTENCY is left alone; it doubles each time. */
const unsupportedRestMs = 10_000;
const unsupportedRestMaxMs = 600_000;
/** How long a probe waits for READ_CONSISTENCY's answer (C dqlite 1.11 never answers it). */
const probeAnswerMs = 2000;
/** How long the member list is trusted before it is asked for again. */
const membersTtlMs = 5000;
/** Idle connections kept per member and choice. */
const idlePerMemberMax = 8;

/** What the pool knows of one member's reads. */
interface MemberState {
  /** 'unknown' until a probe answered; 'probing' while one is out. */
  support: 'unknown' | 'probing' | 'yes' | 'no';
  /** Left out until then (Date.now()). */
  restingUntil: number;
  /** The next rest after a refused probe. */
  nextUnsupportedRestMs: number;
}

/** The replica choice `options` makes, or undefined for reads from the leader. */
export function replicaChoiceOf(
  options: ReadOptions | undefined,
  fallback: ReadOptions | undefined,
): ReadChoice | undefined {
  const consistency = options?.consistency ?? fallback?.consistency ?? 'leader';
  if (consistency === 'leader') return undefined;
  const maxStalenessMs =
    options?.maxStalenessMs ?? fallback?.maxStalenessMs ?? MAX_STALENESS_MS_DEFAULT;
  return { consistency, maxStalenessMs: consistency === 'bounded' ? maxStalenessMs : 0 };
}

/** Throws TypeError or RangeError for a `reads` option (or a call's) that makes no sense. */
export function checkReadOptions(options: ReadOptions | undefined, where: string): void {
  if (options === undefined) return;
  const { consistency, maxStalenessMs } = options;
  if (
    consistency !== undefined &&
    consistency !== 'leader' &&
    consistency !== 'read-index' &&
    consistency !== 'bounded'
  ) {
    throw new TypeError(
      `${where}: consistency must be 'leader', 'read-index' or 'bounded', got ${String(consistency)}`,
    );
  }
  if (
    maxStalenessMs !== undefined &&
    (!Number.isSafeInteger(maxStalenessMs) || maxStalenessMs < 0 || maxStalenessMs > 86_400_000)
  ) {
    throw new RangeError(
      `${where}: maxStalenessMs must be an integer from 0 to 86400000, got ${String(maxStalenessMs)}`,
    );
  }
}

/**
 * Reads served by any member of the cluster (docs/reads.md): each goes to the next member in
 * turn, over connections opened with READ_CONSISTENCY. A member is used only once it answered
 * that request: the first read that would go to a member not known yet goes to the leader while a
 * probe asks it in the background, so a cluster that does not serve such reads (canonical's C
 * dqlite, which never answers an unknown request) costs no read any time. A member that fails a
 * read (it could not confirm the read with its leader, its connection broke, it stopped) rests
 * for a second while the others serve; one that refused the request rests for minutes.
 * `query` returns undefined when no member can serve the read now: the pool then reads from the
 * leader, so a choice of consistency never makes a read fail that the leader would serve.
 */
export class ReplicaReads {
  readonly #options: ResolvedPoolOptions;
  readonly #members: () => Promise<readonly NodeInfo[]>;
  #known: { readonly addresses: readonly string[]; readonly atMs: number } | undefined;
  #turn = 0;
  readonly #states = new Map<string, MemberState>();
  /** Idle connections by member address and choice. */
  readonly #idle = new Map<string, IdleClient[]>();
  /** Closes connections idle past the pool's idleTimeoutMs, as the pool does with its own. */
  readonly #sweep: NodeJS.Timeout;
  #closed = false;
  /** Reads members served (the rest of those asked of this class went to the leader). */
  served = 0;

  /** `members` asks the cluster for its configuration (the pool asks its leader). */
  constructor(options: ResolvedPoolOptions, members: () => Promise<readonly NodeInfo[]>) {
    this.#options = options;
    this.#members = members;
    this.#sweep = setInterval(() => this.#closeIdle(), options.idleTimeoutMs);
    this.#sweep.unref();
  }

  /**
   * The rows of a read-only `sql`, served by a member as `choice` says, or undefined when the
   * caller must read from the leader. SQL errors (a missing table, a bad parameter) are thrown
   * as the leader would throw them.
   */
  async query(
    sql: string,
    params: readonly Parameter[] | undefined,
    choice: ReadChoice,
    deadline: Deadline,
  ): Promise<QueryResult | undefined> {
    if (this.#closed) return undefined;
    const addresses = await this.#addresses();
    for (let tried = 0; tried < addresses.length && !deadline.passed; tried++) {
      const address = addresses[this.#turn++ % addresses.length] as string;
      const state = this.#state(address);
      if (state.restingUntil > Date.now() || state.support === 'no') continue;
      if (state.support !== 'yes') {
        this.#probe(address, state, choice);
        continue;
      }
      const outcome = await this.#queryAt(address, state, sql, params, choice, deadline);
      if (outcome !== undefined) return outcome;
    }
    return undefined;
  }

  /** Closes every idle connection; later reads go to the leader. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    const clients = [...this.#idle.values()].flat();
    this.#idle.clear();
    await Promise.all(clients.map(({ client }) => client.close()));
  }

  #state(address: string): MemberState {
    let state = this.#states.get(address);
    if (state === undefined) {
      state = { support: 'unknown', restingUntil: 0, nextUnsupportedRestMs: unsupportedRestMs };
      this.#states.set(address, state);
    }
    if (state.support === 'no' && state.restingUntil <= Date.now()) state.support = 'unknown';
    return state;
  }

  /** Asks `address` in the background whether it serves reads; its connection is kept. */
  #probe(address: string, state: MemberState, choice: ReadChoice): void {
    if (state.support === 'probing') return;
    state.support = 'probing';
    void connectForReads(address, this.#clientOptions(address), choice, probeAnswerMs).then(
      (client) => {
        state.support = 'yes';
        state.nextUnsupportedRestMs = unsupportedRestMs;
        this.#giveBack(keyOf(address, choice), client);
      },
      (error: unknown) => {
        if (error instanceof ReadsUnsupportedError) {
          state.support = 'no';
          state.restingUntil = Date.now() + state.nextUnsupportedRestMs;
          state.nextUnsupportedRestMs = Math.min(
            2 * state.nextUnsupportedRestMs,
            unsupportedRestMaxMs,
          );
          this.#options.logger?.info?.('dqlite-ts pool: a member does not serve reads', {
            address,
            answer: error.message,
          });
        } else {
          state.support = 'unknown';
          state.restingUntil = Date.now() + restMs;
        }
      },
    );
  }

  async #queryAt(
    address: string,
    state: MemberState,
    sql: string,
    params: readonly Parameter[] | undefined,
    choice: ReadChoice,
    deadline: Deadline,
  ): Promise<QueryResult | undefined> {
    const key = keyOf(address, choice);
    let client: DqliteClient | undefined;
    try {
      client = this.#takeIdle(key);
      client ??= await connectForReads(
        address,
        this.#clientOptions(address),
        choice,
        probeAnswerMs,
      );
      const result = await withTimeout(client, deadline.remainingMs, () =>
        client!.query(sql, params),
      );
      this.#giveBack(key, client);
      this.served++;
      return result;
    } catch (error) {
      if (!memberFailure(error)) {
        if (client !== undefined) this.#giveBack(key, client);
        throw error; // the SQL's own error, as the leader would give it
      }
      void client?.close();
      // A member that stopped answering READ_CONSISTENCY (replaced by another release) is asked
      // again before it is used.
      if (error instanceof ReadsUnsupportedError) state.support = 'unknown';
      state.restingUntil = Date.now() + restMs;
      if (error instanceof ConnectionError) this.#known = undefined;
      return undefined;
    }
  }

  #clientOptions(address: string) {
    return clientOptionsOf(this.#options, [address]);
  }

  #giveBack(key: string, client: DqliteClient): void {
    const idle = this.#idle.get(key) ?? [];
    if (this.#closed || !client.isOpen || idle.length >= idlePerMemberMax) {
      void client.close();
      return;
    }
    idle.push({ client, since: Date.now() });
    this.#idle.set(key, idle);
  }

  /** The most recently used idle connection that is still fresh and open. */
  #takeIdle(key: string): DqliteClient | undefined {
    this.#closeIdle();
    for (
      let idle = this.#idle.get(key)?.pop();
      idle !== undefined;
      idle = this.#idle.get(key)?.pop()
    ) {
      if (idle.client.isOpen) return idle.client;
      void idle.client.close();
    }
    return undefined;
  }

  /** Closes the connections idle for longer than the pool's idleTimeoutMs. */
  #closeIdle(): void {
    const oldest = Date.now() - this.#options.idleTimeoutMs;
    for (const [key, idle] of this.#idle) {
      const stale = idle.filter((entry) => entry.since < oldest);
      if (stale.length === 0) continue;
      for (const { client } of stale) void client.close();
      this.#idle.set(
        key,
        idle.filter((entry) => entry.since >= oldest),
      );
    }
  }

  /** Members that replicate (voters and standbys), asked of the cluster every few seconds. */
  async #addresses(): Promise<readonly string[]> {
    const known = this.#known;
    if (known !== undefined && Date.now() - known.atMs < membersTtlMs) return known.addresses;
    try {
      const members = await this.#members();
      const addresses = members
        .filter((member) => member.role === 'voter' || member.role === 'standby')
        .map((member) => member.address);
      this.#known = { addresses, atMs: Date.now() };
      return addresses;
    } catch {
      return known?.addresses ?? this.#options.cluster;
    }
  }
}

interface IdleClient {
  readonly client: DqliteClient;
  /** When it was given back (Date.now()). */
  readonly since: number;
}

function keyOf(address: string, choice: ReadChoice): string {
  return `${address} ${choice.consistency} ${choice.maxStalenessMs}`;
}

/** A failure of the member, not of the SQL: another member (or the leader) may serve the read. */
function memberFailure(error: unknown): boolean {
  return (
    error instanceof NotLeaderError ||
    error instanceof LeadershipLostError ||
    error instanceof ConnectionError ||
    error instanceof TimeoutError ||
    error instanceof ClosedError ||
    error instanceof ReadsUnsupportedError
  );
}

/** Runs `work`, closing the connection if it outlasts `timeoutMs` (the call's deadline). */
async function withTimeout<T>(
  client: DqliteClient,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const timer = setTimeout(() => void client.close(), Math.max(0, timeoutMs));
  try {
    return await work();
  } finally {
    clearTimeout(timer);
  }
}
