// A churn client uses the cluster the way short-lived programs and quiet applications do: each
// operation on a session of its own, opened for it and closed after, and now and then a quiet
// spell longer than a pool's idle timeout. On the leader, the last session of a database closing
// is the moment SQLite may checkpoint and delete the WAL (test/cluster/one-shot-clients.test.ts).
// Fault runs whose clients all shared one long-lived pool never reached that moment, and a
// 30-minute soak passed while acknowledged writes went unreplicated.
//
// Churn clients work in a database of their own. On a database a long-lived pool also uses, the
// pool's sessions stay open and the last one never closes: run against the build before the fix,
// churn clients there (two of six, and six of six) passed, while two churn clients alone on a
// database failed the convergence check within 12 seconds.

import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createPool, type DqliteClient, type LeaderPool } from '../../index.js';
import {
  clientConnection,
  poolConnection,
  type WorkloadConnection,
} from './workload-connection.js';

/** The idle timeout of a churn client's pools: short, so a quiet spell closes their sessions. */
export const CHURN_IDLE_TIMEOUT_MS = 200;
/** A quiet spell lasts from the first to the second, longer than CHURN_IDLE_TIMEOUT_MS. */
const quietMsMin = 300;
const quietMsMax = 600;
/** The share of operations followed by a quiet spell. */
const quietShare = 0.25;
/**
 * Longest a quiet pool waits for its idle timeout to close its connection: the pool looks for
 * idle connections once a second, so a quiet spell alone may end before it looked.
 */
const evictionWaitMsMax = 2000;
const evictionPollMs = 50;
/** Finding the leader, and each call: the same bound as the fault runs' shared pool. */
const callTimeoutMs = 10_000;

/**
 * Where churn clients connect: the cluster, and a database that only churn clients use (see the
 * top of this file for why it must not be the pool's).
 */
export interface ChurnTarget {
  readonly cluster: readonly string[];
  readonly database: string;
}

/** The options of a workload that turn churn clients on. */
export interface ChurnOptions {
  /**
   * How many of the workload's clients churn instead of using the pool: the ones with the highest
   * ids. Default 0; more needs `churnTarget`.
   */
  readonly churnClients?: number;
  readonly churnTarget?: ChurnTarget;
}

/** Which of a workload's clients churn, and where. */
export interface ChurnPlan {
  readonly target: ChurnTarget;
  /** Client ids from this one up to the workload's `clients` churn. */
  readonly firstId: number;
}

/** Checks `options` against the workload's `clients`; undefined when no client churns. */
export function churnPlanOf(clients: number, options: ChurnOptions): ChurnPlan | undefined {
  const count = options.churnClients ?? 0;
  if (!Number.isSafeInteger(count) || count < 0 || count > clients) {
    throw new RangeError(`churnClients must be an integer from 0 to clients (${clients})`);
  }
  if (count === 0) return undefined;
  if (options.churnTarget === undefined) throw new TypeError('churnClients needs churnTarget');
  return { target: options.churnTarget, firstId: clients - count + 1 };
}

/**
 * Client `id`'s ChurnClient, drawing from the client's generator, or undefined for a client of
 * the pool. `deadline` is the workload's.
 */
export function churnClientOf(
  plan: ChurnPlan | undefined,
  id: number,
  random: () => number,
  deadline: number,
): ChurnClient | undefined {
  if (plan === undefined || id < plan.firstId) return undefined;
  return new ChurnClient(plan.target, random, deadline);
}

/**
 * Runs `work` once on a session of its own in the churn database, closed after: a workload's
 * table before its churn clients start, and the final read after they stopped.
 */
export async function onceInChurnDatabase<T>(
  target: ChurnTarget,
  work: (connection: WorkloadConnection) => Promise<T>,
): Promise<T> {
  const client = await connect({ ...target, requestTimeoutMs: callTimeoutMs });
  try {
    return await work(clientConnection(client));
  } finally {
    await client.close();
  }
}

/**
 * No session could be opened: `connect` failed before the operation's request was sent, so the
 * operation certainly had no effect. `cause` is connect's error.
 */
export class NotSentError extends Error {
  override name = 'NotSentError';

  constructor(cause: unknown) {
    super(`no session was opened: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** The session of one operation: a client of its own, or a pool of its own. */
type Session =
  | { readonly kind: 'client'; readonly client: DqliteClient }
  | { readonly kind: 'pool'; readonly pool: LeaderPool };

/**
 * One churn client. Each operation is `run` then `rest`; the choice between `connect` and a
 * fresh pool, and the quiet spells, come from the client's seeded generator.
 */
export class ChurnClient {
  readonly #target: ChurnTarget;
  readonly #random: () => number;
  /** performance.now() past which a quiet spell is cut short, so the run ends on time. */
  readonly #deadline: number;
  /** Invariant: set from `run` to the following `rest`, so at most one session is open. */
  #session: Session | undefined;

  constructor(target: ChurnTarget, random: () => number, deadline: number) {
    if (target.cluster.length === 0) throw new RangeError('ChurnClient: target.cluster is empty');
    this.#target = target;
    this.#random = random;
    this.#deadline = deadline;
  }

  /**
   * Opens a session, `connect` or a fresh pool, and runs `work` on it. A failed `connect` throws
   * NotSentError; a fresh pool connects inside `work`, so its failures are the pool's own. The
   * session stays open until `rest`, so the caller records the answer before the close.
   */
  async run<T>(work: (connection: WorkloadConnection) => Promise<T>): Promise<T> {
    if (this.#session !== undefined) throw new Error('ChurnClient: run before rest');
    if (this.#random() < 0.5) {
      const client = await this.#connect();
      this.#session = { kind: 'client', client };
      return work(clientConnection(client));
    }
    const pool = createPool({
      cluster: this.#target.cluster,
      database: this.#target.database,
      timeoutMs: callTimeoutMs,
      idleTimeoutMs: CHURN_IDLE_TIMEOUT_MS,
    });
    this.#session = { kind: 'pool', pool };
    return work(poolConnection(pool));
  }

  /**
   * Ends the last operation's session, sometimes with a quiet spell: a client closes before it;
   * a pool after it, once its own idle timeout closed its connection, as an application's quiet
   * pool does. Never waits past the deadline.
   */
  async rest(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    const quiet = this.#random() < quietShare;
    const quietMs = quiet ? quietMsMin + this.#random() * (quietMsMax - quietMsMin) : 0;
    if (session?.kind === 'client') await session.client.close();
    await sleep(Math.max(0, Math.min(quietMs, this.#deadline - performance.now())));
    if (session?.kind !== 'pool') return;
    const evictedBy = Math.min(this.#deadline, performance.now() + evictionWaitMsMax);
    while (quiet && session.pool.stats().size > 0 && performance.now() < evictedBy) {
      await sleep(evictionPollMs);
    }
    await session.pool.close();
  }

  async #connect(): Promise<DqliteClient> {
    try {
      return await connect({
        cluster: this.#target.cluster,
        database: this.#target.database,
        leaderTimeoutMs: callTimeoutMs,
        requestTimeoutMs: callTimeoutMs,
      });
    } catch (error) {
      // Converted: nothing was sent, which the workload's classification needs to know.
      throw new NotSentError(error);
    }
  }
}
