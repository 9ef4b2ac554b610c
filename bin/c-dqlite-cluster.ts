// A local cluster of canonical's C dqlite 1.11 server, run through Debian's `dqlite-demo`
// (go-dqlite's demo app: a dqlite node plus an HTTP API). Each node is a separate process on
// loopback with its own temporary data directory (c-dqlite-node.ts); this file decides when they
// start, join, restart and stop, and waits for them (c-dqlite-waits.ts). It lives in bin/ so that
// commands shipped in dist can start one; the interop suites use it through
// test/interop/c-cluster.ts. Processes left behind by a crashed run are killed by the hooks of
// c-dqlite-orphans.ts.
//
// Facts about dqlite-demo 1.11.5 this file relies on (checked by running it; those about its
// flags, directory and output are in c-dqlite-node.ts):
// * Node 1 bootstraps a one-voter cluster with id 0x2dc171858c3155be; joiners enter as spares
//   and the app promotes them to voters ~1-2 s later (3 voters ~2-3 s after spawning node 1).
//   The go-dqlite app only keeps an odd number of voters, at most 3: with 2 nodes the second
//   stays a spare (watched for 30 s), with 5 nodes two become standbys. So n voters can only be
//   had for n = 1 or 3, and start() refuses other sizes instead of timing out.
// * Restart: once DIR/<addr>/info.yaml exists the app ignores --join (go-dqlite's app package
//   only reads it for a brand-new node) and rejoins from its stored id and cluster.yaml.
//   Restarting a killed node 1 with or without `--join <other node>` both worked; we restart
//   every node WITHOUT --join so node 1 and the joiners are treated alike and nothing depends on
//   which other node happens to be alive. A restarted node serves again in < 1 s.
// * SIGTERM makes a node hand over leadership and exit, ~0.1-2 s. But when the whole cluster gets
//   SIGTERM at once, the leader can lose its quorum mid-handover and retry "no known leader"
//   (the app bounds that at one minute), so stop() SIGKILLs after a short grace; a clean exit is
//   moot as the data directories are deleted anyway.
// * While running, the leader's app re-balances roles every 30 s (promotes spares/standbys to
//   reach 3 voters), so a role a caller assigns by hand may be undone later.

import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { rm } from 'node:fs/promises';
import { DEMO_BINARY, createNodes, type CDqliteNode, type DemoNode } from './c-dqlite-node.js';
import { installExitHooks, releaseDirectory } from './c-dqlite-orphans.js';
import { acceptsConnections, clusterMembers, hasVoters, waitUntil } from './c-dqlite-waits.js';

/** Cluster sizes where dqlite-demo ends up with every node a voter (see the notes above). */
const supportedSizes: readonly number[] = [1, 3];
const startTimeoutMs = 30_000;
/** One CLUSTER probe must not eat the whole budget: leader discovery retries while there is none. */
const probeTimeoutMs = 5_000;
const listenTimeoutMs = 15_000;
const listenProbeTimeoutMs = 1_000;
const terminateGraceMs = 2_000;
const killWaitMs = 5_000;
const helpTimeoutMs = 5_000;
const installHint = 'install it with: apt-get update && apt-get install -y go-dqlite';

/** Options of `CDqliteCluster.start`. */
export interface CDqliteClusterOptions {
  /** Nodes to start, 1 or 3 (the sizes where dqlite-demo makes every node a voter). Default 3. */
  readonly nodes?: number;
}

/**
 * Null when dqlite-demo is installed and runs, else a sentence saying what is missing and how to
 * install it. Runs `dqlite-demo --help` (up to 5 s), so call it once, not per cluster.
 */
export function cDqliteUnavailableReason(): string | null {
  try {
    accessSync(DEMO_BINARY, fsConstants.X_OK);
  } catch {
    return `${DEMO_BINARY} is missing or not executable (${installHint})`;
  }
  try {
    // Present is not enough: a missing libdqlite0/libraft shows up only when the binary runs.
    execFileSync(DEMO_BINARY, ['--help'], { stdio: 'ignore', timeout: helpTimeoutMs });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `${DEMO_BINARY} --help fails (${message}); ${installHint}`;
  }
  return null;
}

/**
 * A running C dqlite cluster of dqlite-demo processes. If this process exits or gets SIGTERM,
 * SIGINT or SIGHUP before stop(), the nodes are SIGKILLed and their directories removed.
 *
 * @example
 * const cluster = await CDqliteCluster.start({ nodes: 3 });
 * try {
 *   const client = await connect({ cluster: cluster.addresses, database: DEMO_DATABASE });
 *   await client.close();
 * } finally {
 *   await cluster.stop();
 * }
 */
export class CDqliteCluster {
  readonly #nodes: readonly DemoNode[];
  #stopping: Promise<void> | undefined;

  private constructor(nodes: readonly DemoNode[]) {
    this.#nodes = nodes;
  }

  /**
   * Starts node 1 (which bootstraps), then the others joining it; resolves once every node is a
   * voter and there is a leader (within 30 s). On failure everything started is stopped.
   */
  static async start(options: CDqliteClusterOptions = {}): Promise<CDqliteCluster> {
    for (const key of Object.keys(options)) {
      if (key !== 'nodes') throw new TypeError(`CDqliteCluster.start: unknown option "${key}"`);
    }
    const count = options.nodes ?? 3;
    if (!supportedSizes.includes(count))
      throw new RangeError(
        `CDqliteCluster.start: nodes must be ${supportedSizes.join(' or ')} (got ${count}): ` +
          'dqlite-demo keeps an odd number of voters, at most 3, and leaves other nodes non-voters',
      );
    installExitHooks();
    const cluster = new CDqliteCluster(await createNodes(count));
    const [first, ...others] = cluster.#nodes;
    try {
      if (first === undefined) throw new Error('no nodes created');
      // Node 1 must be up before anyone joins it; joiners then start together.
      first.spawn([]);
      await cluster.#waitForListening(first);
      for (const node of others) node.spawn([first.address]);
      await cluster.waitForVoters(count);
      return cluster;
    } catch (error) {
      // The start failure matters more than a failure to clean up after it.
      await cluster.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Dqlite (wire protocol) addresses, "127.0.0.1:PORT", in node order. */
  get addresses(): readonly string[] {
    return this.#nodes.map((node) => node.address);
  }

  get nodes(): readonly CDqliteNode[] {
    return this.#nodes;
  }

  /** Captured output of every node, for failure messages. */
  logs(): string {
    return this.#nodes.map((node) => node.describe()).join('\n');
  }

  /** SIGKILLs a node's process (ours, by pid) and waits until it is gone. */
  async kill(address: string): Promise<void> {
    const node = this.#liveNode(address);
    if (!(await node.signalAndWait('SIGKILL', killWaitMs)))
      throw new Error(`node ${address} survived SIGKILL for ${killWaitMs} ms`);
  }

  /** Restarts a killed node with its data directory and address; resolves when it listens. */
  async restart(address: string): Promise<void> {
    const node = this.#liveNode(address);
    if (node.pid !== undefined) throw new Error(`node ${address} is still running; kill it first`);
    // No --join: the data directory already holds the node's identity and cluster config.
    node.spawn([]);
    await this.#waitForListening(node);
  }

  /** SIGTERM every node, SIGKILL what is left after 2 s, remove the data directories. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  /**
   * Waits until the members are exactly our addresses and `voters` of them are voters, as told by
   * CLUSTER through our client. The client's connector only returns a connection to a node that
   * names itself leader, so success also proves there is a leader. Fails at once if a node we did
   * not kill exited.
   */
  async waitForVoters(voters: number, timeoutMs = startTimeoutMs): Promise<void> {
    if (!Number.isSafeInteger(voters) || voters < 1 || voters > this.#nodes.length)
      throw new RangeError(`waitForVoters: voters must be 1 to ${this.#nodes.length}`);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
      throw new RangeError(`waitForVoters: timeoutMs must be a positive integer`);
    if (this.#stopping !== undefined) throw new Error('cluster has been stopped');
    let lastMembers = '';
    const probe = async (remainingMs: number): Promise<boolean> => {
      const members = await clusterMembers(this.addresses, Math.min(probeTimeoutMs, remainingMs));
      lastMembers = members.map((member) => `${member.address} ${member.role}`).join(', ');
      return hasVoters(members, this.addresses, voters);
    };
    try {
      await waitUntil(probe, {
        timeoutMs,
        description: `${voters} voters among ${this.addresses.join(', ')}`,
        assertHopeful: () => this.#nodes.forEach((node) => node.assertAlive()),
        lastState: () => (lastMembers === '' ? '' : `members: ${lastMembers}`),
      });
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** Waits until the node accepts connections on its dqlite address (or died, or timed out). */
  async #waitForListening(node: DemoNode): Promise<void> {
    const probe = () => acceptsConnections(node.address, listenProbeTimeoutMs);
    try {
      await waitUntil(probe, {
        timeoutMs: listenTimeoutMs,
        description: `${node.address} to listen`,
        assertHopeful: () => node.assertAlive(),
      });
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** Wraps an error with every node's captured output, so a CI failure is diagnosable. */
  #failure(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`${message}\n${this.logs()}`);
  }

  #liveNode(address: string): DemoNode {
    if (this.#stopping !== undefined) throw new Error('cluster has been stopped');
    const node = this.#nodes.find((candidate) => candidate.address === address);
    if (node === undefined) throw new Error(`no node with address ${address} in this cluster`);
    return node;
  }

  async #stopAll(): Promise<void> {
    // SIGTERM first so nodes shut down cleanly; SIGKILL whatever is left after the grace period.
    const terminated = await Promise.all(
      this.#nodes.map((node) => node.signalAndWait('SIGTERM', terminateGraceMs)),
    );
    const stubborn = this.#nodes.filter((_node, index) => terminated[index] !== true);
    const killed = await Promise.all(
      stubborn.map((node) => node.signalAndWait('SIGKILL', killWaitMs)),
    );
    await Promise.all(
      this.#nodes.map(async (node) => {
        await rm(node.dataDirectory, { recursive: true, force: true });
        releaseDirectory(node.dataDirectory);
      }),
    );
    if (killed.includes(false)) throw this.#failure(new Error('some nodes survived SIGKILL'));
  }
}
