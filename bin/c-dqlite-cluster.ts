// A local cluster of canonical's C dqlite 1.11 server, run through Debian's `dqlite-demo`
// (go-dqlite's demo app: a dqlite node plus an HTTP API). Each node is a separate process on
// loopback with its own temporary data directory. It lives in bin/ so that commands shipped in
// dist can start one; the interop suites use it through test/interop/c-cluster.ts. Only processes
// this module spawned are ever signalled, by the pid it holds.
//
// Facts about dqlite-demo 1.11.5 this file relies on (checked by running it):
// * Flags: --api ADDR (HTTP API), --db ADDR (dqlite address), -D/--dir DIR (default
//   /tmp/dqlite-demo), --join ADDR[,ADDR] (existing nodes), -v/--verbose. Nothing else.
// * The node keeps its state in DIR/<db address>/ (info.yaml, cluster.yaml, raft segments), so
//   a restart must reuse both the directory and the address.
// * The demo database is called "demo" (the app opens it and its HTTP API uses table "model").
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
// * Without --verbose it prints nothing; with it, a few DEBUG lines per minute, so we log verbose.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../drivers/client/index.js';
import type { NodeInfo } from '../drivers/client/index.js';
import { freePorts } from './local-cluster.js';

/** Where Debian's go-dqlite package installs the demo app. */
export const DEMO_BINARY = '/usr/bin/dqlite-demo';
/** The database dqlite-demo opens; clients of this cluster can use it too. */
export const DEMO_DATABASE = 'demo';

/** Cluster sizes where dqlite-demo ends up with every node a voter (see the notes above). */
const supportedSizes: readonly number[] = [1, 3];
const logBytesMax = 64 * 1024;
const startTimeoutMs = 30_000;
const pollIntervalMs = 200;
/** One CLUSTER probe must not eat the whole budget: leader discovery retries while there is none. */
const probeTimeoutMs = 5_000;
/** Loopback answers at once; these only keep a hung node from stretching a probe. */
const probeConnectTimeoutMs = 1_000;
const probeRequestTimeoutMs = 2_000;
const listenTimeoutMs = 15_000;
const listenProbeTimeoutMs = 1_000;
const terminateGraceMs = 2_000;
const killWaitMs = 5_000;
const helpTimeoutMs = 5_000;
const installHint = 'install it with: apt-get update && apt-get install -y go-dqlite';

/** One dqlite-demo node: fixed addresses and directory, a process that comes and goes. */
export interface CDqliteNode {
  /** Dqlite (wire protocol) address, "127.0.0.1:PORT". */
  readonly address: string;
  /** Address of the demo app's HTTP API. */
  readonly apiAddress: string;
  readonly dataDirectory: string;
  /** pid of the current process, undefined while the node is down. */
  readonly pid: number | undefined;
  /** Every pid this node has had, oldest first (all gone after stop()). */
  readonly pids: readonly number[];
  /** The last 64 KiB of the node's output, with the launcher's own notes. */
  logs(): string;
}

/** Options of `CDqliteCluster.start`. */
export interface CDqliteClusterOptions {
  /** Nodes to start, 1 or 3 (the sizes where dqlite-demo makes every node a voter). Default 3. */
  readonly nodes?: number;
}

// --- orphan protection ------------------------------------------------------------------------

/** Children still running; the hooks below SIGKILL them so a crashed run leaves no orphans. */
const runningChildren = new Set<ChildProcess>();
/** Data directories of clusters not yet stopped; the hooks remove them too. */
const liveDirectories = new Set<string>();
let exitHooksInstalled = false;
/** Vitest ends its fork workers with SIGTERM, which skips 'exit' handlers; Ctrl-C sends SIGINT. */
const terminatingSignals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

function cleanUpSynchronously(): void {
  // Synchronous, as 'exit' handlers must be. Only children we spawned are in the set.
  for (const child of runningChildren) child.kill('SIGKILL');
  for (const directory of liveDirectories) {
    try {
      // Retries cover a dying node still closing its files; a leftover dir is not worth a throw.
      rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort while the process is going down.
    }
  }
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  cleanUpSynchronously();
  for (const each of terminatingSignals) process.off(each, onTerminatingSignal);
  // Listening replaced Node's default "die on signal"; restore it unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', cleanUpSynchronously);
  for (const signal of terminatingSignals) process.on(signal, onTerminatingSignal);
  // Not covered: a runner that is itself SIGKILLed; nothing in-process can react to that.
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves true once the child has exited (and been reaped), false after timeoutMs. */
function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isRunning(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(!isRunning(child)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// --- waiting ------------------------------------------------------------------------------------

interface WaitOptions {
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
async function waitUntil(
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
function acceptsConnections(address: string, timeoutMs: number): Promise<boolean> {
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
async function clusterMembers(
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
function hasVoters(
  members: readonly NodeInfo[],
  addresses: readonly string[],
  voters: number,
): boolean {
  const memberAddresses = members.map((member) => member.address).sort();
  const voterCount = members.filter((member) => member.role === 'voter').length;
  return memberAddresses.join() === [...addresses].sort().join() && voterCount === voters;
}

// --- one node -----------------------------------------------------------------------------------

class DemoNode implements CDqliteNode {
  #child: ChildProcess | undefined;
  /** Set when we signalled the current process, so its exit is expected, not a failure. */
  #signalled = false;
  /** Invariant: at most logBytesMax bytes, the newest output. */
  #log = Buffer.alloc(0);
  readonly pids: number[] = [];

  constructor(
    readonly index: number,
    readonly address: string,
    readonly apiAddress: string,
    readonly dataDirectory: string,
  ) {}

  get pid(): number | undefined {
    return this.#child !== undefined && isRunning(this.#child) ? this.#child.pid : undefined;
  }

  logs(): string {
    return this.#log.toString('utf8');
  }

  #append(chunk: Buffer | string): void {
    this.#log = Buffer.concat([this.#log, Buffer.from(chunk)]).subarray(-logBytesMax);
  }

  /** Spawns dqlite-demo; `join` lists existing nodes and is only used on first start. */
  spawn(join: readonly string[]): void {
    const flags = ['--api', this.apiAddress, '--db', this.address, '--dir', this.dataDirectory];
    const joinFlags = join.length > 0 ? ['--join', join.join(',')] : [];
    const child = spawn(DEMO_BINARY, [...flags, ...joinFlags, '--verbose'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#signalled = false;
    if (child.pid !== undefined) this.pids.push(child.pid);
    runningChildren.add(child);
    this.#append(
      `[launcher] spawned pid ${child.pid} with ${[...flags, ...joinFlags].join(' ')}\n`,
    );
    child.stdout?.on('data', (chunk: Buffer) => this.#append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk));
    child.on('error', (error) => this.#append(`[launcher] spawn error: ${error.message}\n`));
    child.on('exit', (code, signal) => {
      runningChildren.delete(child);
      this.#append(`[launcher] pid ${child.pid} exited, code ${code}, signal ${signal}\n`);
    });
    // A caller that forgets stop() must not keep its process alive; the exit hook reaps these.
    child.unref();
  }

  /** Sends `signal` to our own child (never anything else) and waits up to timeoutMs. */
  async signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    const child = this.#child;
    if (child === undefined || !isRunning(child)) return true;
    this.#signalled = true;
    child.kill(signal);
    return waitForExit(child, timeoutMs);
  }

  /** Fails fast when the process died without being signalled, instead of waiting for a timeout. */
  assertAlive(): void {
    if (this.#child !== undefined && !isRunning(this.#child) && !this.#signalled)
      throw new Error(`node ${this.index} (${this.address}) exited unexpectedly`);
  }

  describe(): string {
    const state = this.pid === undefined ? 'not running' : `pid ${this.pid}`;
    return `--- node ${this.index} ${this.address} (${state}, dir ${this.dataDirectory}) ---\n${this.logs()}`;
  }
}

async function createNodes(count: number): Promise<DemoNode[]> {
  const ports = await freePorts(count * 2);
  const nodes: DemoNode[] = [];
  for (let index = 0; index < count; index += 1) {
    const directory = await mkdtemp(path.join(os.tmpdir(), `dqlite-ts-c-node${index + 1}-`));
    liveDirectories.add(directory);
    const address = `127.0.0.1:${ports[index * 2]}`;
    const apiAddress = `127.0.0.1:${ports[index * 2 + 1]}`;
    nodes.push(new DemoNode(index + 1, address, apiAddress, directory));
  }
  return nodes;
}

// --- the cluster --------------------------------------------------------------------------------

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
        liveDirectories.delete(node.dataDirectory);
      }),
    );
    if (killed.includes(false)) throw this.#failure(new Error('some nodes survived SIGKILL'));
  }
}
