// The nemesis: faults injected into a cluster of `dqlite-ts node` processes while a workload
// runs. Only processes the cluster started are signalled, by the pid it holds. Every loop is
// bounded by time and count.

import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../../bin/local-cluster.js';
import { connect } from '../../drivers/client/index.js';
import type { PartitionProxy } from '../cluster/partition-proxy.js';
import type { NodeDisks } from './disks.js';
import type { History } from './history.js';

export type Fault =
  | 'kill-leader'
  | 'kill-follower'
  | 'pause-leader'
  | 'pause-follower'
  /** The leader cut off from both followers (clients still reach it). */
  | 'partition-leader'
  /** One follower cut off from the other two. */
  | 'partition-follower'
  /** The leader's messages to one follower are dropped; the other way still works. */
  | 'partition-one-way'
  /** The leader and fewer than half of the rest on one side, the majority on the other. */
  | 'partition-leader-minority'
  /** A follower removed from the cluster, then restarted to join again (as a spare, promoted). */
  | 'remove-follower'
  /** The node's disk filled to the last byte, then given its space back. */
  | 'fill-disk-leader'
  | 'fill-disk-follower'
  /** Every fsync and O_DSYNC write of the node sleeps `slowDiskMs` first. */
  | 'slow-disk-leader'
  | 'slow-disk-follower';

export const processFaults: readonly Fault[] = [
  'kill-leader',
  'pause-leader',
  'kill-follower',
  'pause-follower',
];
export const partitionFaults: readonly Fault[] = [
  'partition-leader',
  'partition-follower',
  'partition-one-way',
  'partition-leader-minority',
];
export const membershipFaults: readonly Fault[] = ['remove-follower'];
/** Need the cluster started with its own disks (startProxiedCluster's `disks`). */
export const diskFaults: readonly Fault[] = [
  'fill-disk-leader',
  'slow-disk-follower',
  'fill-disk-follower',
  'slow-disk-leader',
];

/** How slow a slow disk is: each sync costs this, a hundred times a healthy one's. */
const slowDiskMs = 40;

/** Longest a removed node may take to be a voter again before the run fails. */
const rejoinWaitMs = 30_000;

export interface NemesisOptions {
  readonly faults: readonly Fault[];
  readonly durationMs: number;
  /** Quiet time between faults, and how long a fault lasts. */
  readonly intervalMs: number;
  readonly faultMs: number;
  readonly seed: number;
  /** The proxy in front of each node, by the address it advertises: needed for partitions. */
  readonly proxies?: ReadonlyMap<string, PartitionProxy>;
  /** The nodes' own disks: needed for disk faults. */
  readonly disks?: NodeDisks;
}

/** The leader's address as the cluster reports it, or undefined during an election. */
async function leaderOf(cluster: LocalCluster): Promise<string | undefined> {
  try {
    const client = await connect({
      cluster: cluster.addresses,
      database: 'nemesis',
      leaderTimeoutMs: 2000,
    });
    await client.close();
    return client.address;
  } catch {
    return undefined;
  }
}

/** Injects faults in turn until the time is up; every fault is healed before it returns. */
export async function runNemesis<I, O>(
  cluster: LocalCluster,
  history: History<I, O>,
  options: NemesisOptions,
): Promise<number> {
  const deadline = performance.now() + options.durationMs;
  let injected = 0;
  for (let round = 0; round < 1000 && performance.now() + options.faultMs < deadline; round++) {
    await sleep(options.intervalMs);
    const fault = options.faults[(options.seed + round) % options.faults.length] as Fault;
    const leader = await leaderOf(cluster);
    if (leader === undefined) continue;
    const followers = cluster.addresses.filter((address) => address !== leader);
    const target = fault.endsWith('leader')
      ? leader
      : (followers[(options.seed + round) % followers.length] as string);
    history.fault(fault, target);
    if (fault.startsWith('kill')) {
      await cluster.kill(target);
      await sleep(options.faultMs);
      await cluster.restart(target);
    } else if (fault === 'remove-follower') {
      await removeAndRejoin(cluster, target, options.faultMs);
    } else if (fault.startsWith('pause')) {
      cluster.pause(target);
      await sleep(options.faultMs);
      cluster.resume(target);
    } else if (fault.startsWith('fill-disk') || fault.startsWith('slow-disk')) {
      const disks = options.disks;
      if (disks === undefined) throw new Error(`${fault} needs the cluster's own disks`);
      const dataDir = cluster.node(target).dataDir;
      if (fault.startsWith('fill-disk')) disks.fill(dataDir);
      else disks.slow(dataDir, slowDiskMs);
      await sleep(options.faultMs);
      disks.free(dataDir);
      disks.slow(dataDir, 0);
    } else {
      const proxies = options.proxies;
      if (proxies === undefined) throw new Error(`${fault} needs the cluster's proxies`);
      const cut = (from: string, to: string) => proxies.get(to)?.block(from);
      const split = (side: readonly string[]) => {
        for (const inside of side) {
          for (const outside of cluster.addresses.filter((address) => !side.includes(address))) {
            cut(inside, outside);
            cut(outside, inside);
          }
        }
      };
      if (fault === 'partition-one-way') cut(leader, target);
      else if (fault === 'partition-leader-minority') {
        const companions = Math.floor((cluster.addresses.length - 1) / 2) - 1;
        split([leader, ...followers.slice(0, Math.max(0, companions))]);
      } else split([target]);
      await sleep(options.faultMs);
      for (const proxy of proxies.values()) proxy.unblockAll();
    }
    history.fault(`healed ${fault}`, target);
    injected++;
  }
  return injected;
}

/**
 * Removes `address` through the leader, lets the cluster run without it, then restarts it with
 * the others to join through, and waits until it is a voter again, so the next fault meets three.
 */
async function removeAndRejoin(
  cluster: LocalCluster,
  address: string,
  faultMs: number,
): Promise<void> {
  const admin = await connect({
    cluster: cluster.addresses,
    database: 'nemesis',
    leaderTimeoutMs: 5000,
  });
  try {
    const member = (await admin.cluster()).find((node) => node.address === address);
    if (member === undefined) return;
    await admin.remove(member.id);
  } finally {
    await admin.close();
  }
  await sleep(faultMs);
  await cluster.kill(address);
  await cluster.restart(
    address,
    cluster.addresses.filter((other) => other !== address),
  );
  const deadline = performance.now() + rejoinWaitMs;
  while (performance.now() < deadline) {
    try {
      const client = await connect({
        cluster: cluster.addresses,
        database: 'nemesis',
        leaderTimeoutMs: 2000,
      });
      try {
        const members = await client.cluster();
        if (members.some((node) => node.address === address && node.role === 'voter')) return;
      } finally {
        await client.close();
      }
    } catch {
      // An election, or the leader busy with the change: ask again.
    }
    await sleep(200);
  }
  throw new Error(`${address} was not a voter again ${rejoinWaitMs} ms after it rejoined`);
}
