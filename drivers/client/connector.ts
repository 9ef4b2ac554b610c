import { setTimeout as sleep } from 'node:timers/promises';
import { backoffJitteredMs, type Backoff } from '../../src/retry/backoff.js';
import { openConnection } from './connection.js';
import type { Connection, ConnectionOptions } from './connection.js';
import { ConnectionError, HandshakeError, NoLeaderError, errorFromFailure } from './errors.js';
import type { LeaderAttempt } from './errors.js';

/** How long leader discovery may take and how it paces its rounds. */
export interface ConnectorOptions extends ConnectionOptions {
  /** Total time to find a leader before NoLeaderError. */
  readonly leaderTimeoutMs: number;
  /** Per-request timeout for the LEADER and CLIENT requests. */
  readonly requestTimeoutMs: number;
  /** Stops discovery between attempts (a pool closing); rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Told each node's answer as it comes (the pool reports them if a call times out meanwhile). */
  readonly onLeaderAttempt?: (attempt: LeaderAttempt) => void;
}

/**
 * Pauses between discovery rounds: from 50 ms, doubling each round, with jitter. Capped low on
 * purpose at 250 ms: during an election every round finds no leader, and the rounds are cheap
 * (one LEADER round trip per node), so a short cap lets a client reach the new leader within a
 * fraction of a second of its election (go-dqlite caps at 1 s).
 */
const ROUND_BACKOFF: Backoff = { firstMs: 50, maxMs: 250 };
/**
 * Rounds in a row in which every node refused the connection (HandshakeError) before discovery
 * gives up with that error: a TLS mismatch does not heal by waiting. Two, not one, so that a node
 * closing its connections as it stops does not end discovery.
 */
const REFUSED_ROUNDS_MAX = 2;
/**
 * How long discovery goes on while no node accepts a connection at all (nothing listens: the
 * connection is refused, or the socket file is missing). Long enough for a node to restart,
 * short enough that a wrong address or a stopped cluster is reported in seconds, not at
 * `leaderTimeoutMs`. Any other answer (no leader yet, a timeout, a node that is not the leader)
 * is hope: discovery then goes on until `leaderTimeoutMs`.
 */
export const UNREACHABLE_GIVE_UP_MS = 5000;
/** Connection errors that mean nothing listens at the address. */
const NOTHING_LISTENS = new Set(['ECONNREFUSED', 'ENOENT', 'EADDRNOTAVAIL']);

/** A connection to the leader, and what it said about itself. */
export interface LeaderConnection {
  readonly connection: Connection;
  readonly leaderId: bigint;
  readonly heartbeatTimeoutMs: number;
}

/**
 * Finds the leader the way Dqlite clients do (docs/wire-protocol.md §9): ask each known node with
 * LEADER; a node naming itself is the leader; a node naming another is followed once; then
 * register with CLIENT. Rounds repeat with growing pauses until `leaderTimeoutMs` has passed.
 *
 * `preferred` (the last leader seen) is asked first, which usually makes discovery one round trip.
 * It stops early when there is no hope: when every node refused the handshake (TLS, or not a
 * Dqlite node at all) in REFUSED_ROUNDS_MAX rounds in a row, with the last HandshakeError; when no
 * node accepted a connection for UNREACHABLE_GIVE_UP_MS, with a NoLeaderError that says so.
 */
export async function connectToLeader(
  cluster: readonly string[],
  options: ConnectorOptions,
  preferred?: string,
): Promise<LeaderConnection> {
  const started = Date.now();
  const order = preferred ? [preferred, ...cluster.filter((a) => a !== preferred)] : [...cluster];
  // The latest answer of each node, kept across rounds so the final error names every node.
  const answers = new Map<string, string>();
  let refusedRounds = 0;
  /** Since when no node has accepted a connection; undefined once one did. */
  let unreachableSince: number | undefined;
  let round: { refusal?: HandshakeError; accepted: boolean; otherOutcome: boolean } = {
    accepted: false,
    otherOutcome: false,
  };
  const record: RecordAttempt = (address, outcome, error) => {
    answers.set(address, outcome);
    options.onLeaderAttempt?.({ address, outcome });
    if (error instanceof HandshakeError) round.refusal = error;
    else round.otherOutcome = true;
    if (!nothingListens(error)) round.accepted = true;
  };
  const attempts = () => [...answers].map(([address, outcome]) => ({ address, outcome }));
  for (let roundNumber = 1; ; roundNumber++) {
    const roundStarted = Date.now();
    round = { accepted: false, otherOutcome: false };
    for (const address of order) {
      options.signal?.throwIfAborted();
      const found = await askNode(address, options, record);
      if (found) return found;
      if (Date.now() - started >= options.leaderTimeoutMs) break;
    }
    refusedRounds = round.refusal !== undefined && !round.otherOutcome ? refusedRounds + 1 : 0;
    if (round.refusal !== undefined && refusedRounds >= REFUSED_ROUNDS_MAX) throw round.refusal;
    unreachableSince = round.accepted ? undefined : (unreachableSince ?? roundStarted);
    const elapsedMs = Date.now() - started;
    if (unreachableSince !== undefined && Date.now() - unreachableSince >= UNREACHABLE_GIVE_UP_MS) {
      const why = `no node of the cluster accepted a connection in ${Date.now() - unreachableSince} ms`;
      throw new NoLeaderError(attempts(), elapsedMs, why);
    }
    const remainingMs = options.leaderTimeoutMs - elapsedMs;
    if (remainingMs <= 0) throw new NoLeaderError(attempts(), elapsedMs);
    // Jitter spreads the rounds of many clients (a pool refilling after a failover) apart.
    const delayMs = backoffJitteredMs(ROUND_BACKOFF, roundNumber, Math.random);
    await sleep(Math.min(delayMs, remainingMs), undefined, {
      signal: options.signal,
    });
  }
}

/** Notes what `address` said; `error` when the attempt failed with one. */
type RecordAttempt = (address: string, outcome: string, error?: unknown) => void;

/** Asks one node; follows its answer at most once. Records what each node said. */
async function askNode(
  address: string,
  options: ConnectorOptions,
  record: RecordAttempt,
): Promise<LeaderConnection | undefined> {
  const first = await tryLeaderQuery(address, options, record);
  if (!first) return undefined;
  if (first.leaderAddress === address)
    return register(first.connection, first.leaderId, options, record);
  first.connection.close();
  const redirected = await tryLeaderQuery(first.leaderAddress, options, record);
  if (!redirected) return undefined;
  if (redirected.leaderAddress === first.leaderAddress) {
    return register(redirected.connection, redirected.leaderId, options, record);
  }
  redirected.connection.close();
  record(
    first.leaderAddress,
    `named by ${address} as leader, but it names ${redirected.leaderAddress || 'no leader'}`,
  );
  return undefined;
}

interface LeaderAnswer {
  readonly connection: Connection;
  readonly leaderId: bigint;
  readonly leaderAddress: string;
}

/** Connects and sends LEADER; undefined (with the reason recorded) if no leader is named. */
async function tryLeaderQuery(
  address: string,
  options: ConnectorOptions,
  record: RecordAttempt,
): Promise<LeaderAnswer | undefined> {
  let connection: Connection | undefined;
  try {
    connection = await openConnection(address, options);
    const response = await connection.request(
      { type: 'LEADER', unused: 0n },
      options.requestTimeoutMs,
    );
    if (response.type === 'FAILURE') {
      throw errorFromFailure(response.code, response.message, { address, request: 'LEADER' });
    }
    if (response.type !== 'SERVER') throw unexpected(response.type, address, 'LEADER');
    if (response.address === '') {
      connection.close();
      record(address, 'knows no leader (election running, or not a voter)');
      return undefined;
    }
    // A node that answers is hope, whomever it names: right after a leader dies, followers name
    // it until they elect another.
    if (response.address !== address) record(address, `names ${response.address} as the leader`);
    return { connection, leaderId: response.id, leaderAddress: response.address };
  } catch (error) {
    connection?.close();
    record(address, describeError(error), error);
    return undefined;
  }
}

async function register(
  connection: Connection,
  leaderId: bigint,
  options: ConnectorOptions,
  record: RecordAttempt,
): Promise<LeaderConnection | undefined> {
  try {
    const response = await connection.request({ type: 'CLIENT', id: 0n }, options.requestTimeoutMs);
    if (response.type === 'FAILURE') {
      throw errorFromFailure(response.code, response.message, {
        address: connection.address,
        request: 'CLIENT',
      });
    }
    if (response.type !== 'WELCOME') throw unexpected(response.type, connection.address, 'CLIENT');
    return { connection, leaderId, heartbeatTimeoutMs: response.heartbeatTimeoutMs };
  } catch (error) {
    connection.close();
    record(connection.address, describeError(error), error);
    return undefined;
  }
}

function unexpected(type: string, address: string, request: string): ConnectionError {
  return new ConnectionError(`unexpected ${type} response`, address, { request });
}

/** True when the attempt failed because nothing listens at the address. */
function nothingListens(error: unknown): boolean {
  if (!(error instanceof ConnectionError) || error instanceof HandshakeError) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NOTHING_LISTENS.has(code);
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
