// How the C dqlite launcher (c-dqlite-cluster.ts) waits for its cluster: a probe polled under a
// deadline, and the two probes it polls (a node accepts TCP connections; CLUSTER through a
// leader names the expected voters). Kept apart because waiting is the one part of the launcher
// that talks to the nodes over the network; it holds no state and signals nothing.

import net from 'node:net';
import { connect } from '../drivers/client/index.js';
import type { NodeInfo } from '../drivers/client/index.js';
import { DEMO_DATABASE } from './c-dqlite-node.js';

const pollIntervalMs = 200;
/** Loopback answers at once; these only keep a hung node from stretching a probe. */
const probeConnectTimeoutMs = 1_000;
const probeRequestTimeoutMs = 2_000;

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly description: string;
  /** Throws to end the wait at once (a node died); called before every attempt. */
  readonly assertHopeful: () => void;
  /** Says what the probe saw last, for the timeout error. */
  readonly lastState?: () => string;
}

/**
 * Calls `probe` every pollIntervalMs until it resolves true, bounded by a deadline and by an
 * attempt count (in case the clock jumps). The probe gets the time left to bound its own work. A
 * probe that throws counts as "not yet"; its last error ends up in the timeout error.
 */
export async function waitUntil(
  probe: (remainingMs: number) => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const attemptsMax = Math.ceil(options.timeoutMs / pollIntervalMs) + 1;
  let lastError = '';
  for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt += 1) {
    options.assertHopeful();
    try {
      if (await probe(Math.max(1, deadline - Date.now()))) return;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    const pauseMs = Math.min(pollIntervalMs, Math.max(0, deadline - Date.now()));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  const seen = [lastError, options.lastState?.() ?? ''].filter((text) => text !== '').join('\n');
  throw new Error(
    `timed out after ${options.timeoutMs} ms waiting for ${options.description}` +
      (seen === '' ? '' : `; last seen:\n${seen}`),
  );
}

/** True when something accepts TCP connections at the address (connect, then close at once). */
export function acceptsConnections(address: string, timeoutMs: number): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  const target = { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const finish = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** The members, reached through a node that names itself leader (the connector checks that). */
export async function clusterMembers(
  addresses: readonly string[],
  timeoutMs: number,
): Promise<NodeInfo[]> {
  const client = await connect({
    cluster: addresses,
    database: DEMO_DATABASE,
    connectTimeoutMs: Math.min(probeConnectTimeoutMs, timeoutMs),
    leaderTimeoutMs: timeoutMs,
    requestTimeoutMs: Math.min(probeRequestTimeoutMs, timeoutMs),
  });
  try {
    return await client.cluster();
  } finally {
    await client.close();
  }
}

/** True when the members are exactly `addresses` and `voters` of them are voters. */
export function hasVoters(
  members: readonly NodeInfo[],
  addresses: readonly string[],
  voters: number,
): boolean {
  const memberAddresses = members.map((member) => member.address).sort();
  const voterCount = members.filter((member) => member.role === 'voter').length;
  return memberAddresses.join() === [...addresses].sort().join() && voterCount === voters;
}
