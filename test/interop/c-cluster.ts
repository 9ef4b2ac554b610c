// Cluster provider backed by the C dqlite 1.11 server, run through Debian's `dqlite-demo`
// (go-dqlite's demo app: a dqlite node plus an HTTP API). Each node is a separate process on
// loopback with its own temporary data directory.
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
//   reach 3 voters), so a role a test assigns by hand may be undone later.
// * Without --verbose it prints nothing; with it, a few DEBUG lines per minute, so we log verbose.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../bin/local-cluster.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { GO_SHELL_BINARY, goShell, parseGoShellCluster } from './go-shell.js';
import { pollUntil } from './poll-until.js';

export const DEMO_BINARY = '/usr/bin/dqlite-demo';
/** The database dqlite-demo opens; use it for go-shell commands against this provider. */
export const DEMO_DATABASE = 'demo';
/** Cluster sizes where dqlite-demo ends up with every node a voter (see the notes above). */
const SUPPORTED_SIZES: readonly number[] = [1, 3];
const LOG_RING_BYTES = 64 * 1024;
const START_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 200;
/** One shell probe must not eat the whole budget: it hangs while there is no leader. */
const SHELL_PROBE_TIMEOUT_MS = 5_000;
const LISTEN_TIMEOUT_MS = 15_000;
const TERMINATE_GRACE_MS = 2_000;
const KILL_WAIT_MS = 5_000;
const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y go-dqlite';

/** Keeps only the last LOG_RING_BYTES of a process's output so a failure can show it. */
class OutputRing {
  private buffer = Buffer.alloc(0);

  append(chunk: Buffer | string): void {
    const joined = Buffer.concat([this.buffer, Buffer.from(chunk)]);
    this.buffer = joined.length > LOG_RING_BYTES ? joined.subarray(-LOG_RING_BYTES) : joined;
  }

  text(): string {
    return this.buffer.toString('utf8');
  }
}

/** One dqlite-demo node: fixed addresses and directory, a process that comes and goes. */
export interface CDqliteNode {
  readonly address: string;
  readonly apiAddress: string;
  readonly dataDirectory: string;
  /** pid of the current process, undefined while the node is down. */
  readonly pid: number | undefined;
  /** Every pid this node has had (the test checks they are all gone after stop()). */
  readonly pids: readonly number[];
  logs(): string;
}

export interface CDqliteClusterHandle extends ClusterHandle {
  readonly nodes: readonly CDqliteNode[];
  /** Captured output of every node, for failure messages. */
  logs(): string;
}

export interface CDqliteClusterProvider extends ClusterProvider {
  start(options?: { nodes?: number }): Promise<CDqliteClusterHandle>;
}

// --- orphan protection ------------------------------------------------------------------------

/** Children still running; the hooks below SIGKILL them so a crashed run leaves no orphans. */
const runningChildren = new Set<ChildProcess>();
/** Data directories of clusters not yet stopped; the hooks remove them too. */
const liveDirectories = new Set<string>();
let exitHooksInstalled = false;
/** Vitest ends its fork workers with SIGTERM, which skips 'exit' handlers; Ctrl-C sends SIGINT. */
const TERMINATING_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

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
  for (const each of TERMINATING_SIGNALS) process.off(each, onTerminatingSignal);
  // Listening replaced Node's default "die on signal"; restore it unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', cleanUpSynchronously);
  for (const signal of TERMINATING_SIGNALS) process.on(signal, onTerminatingSignal);
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

// --- ports and addresses ------------------------------------------------------------------------

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** True when something accepts TCP connections at the address (connect, then close at once). */
function acceptsConnections(address: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(splitAddress(address));
    const finish = (accepted: boolean): void => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

// --- one node -----------------------------------------------------------------------------------

class DemoNode implements CDqliteNode {
  private child: ChildProcess | undefined;
  private readonly ring = new OutputRing();
  readonly pids: number[] = [];

  constructor(
    readonly index: number,
    readonly address: string,
    readonly apiAddress: string,
    readonly dataDirectory: string,
  ) {}

  get pid(): number | undefined {
    return this.child !== undefined && isRunning(this.child) ? this.child.pid : undefined;
  }

  logs(): string {
    return this.ring.text();
  }

  /** Spawns dqlite-demo; `join` lists existing nodes and is only used on first start. */
  spawn(join: readonly string[]): void {
    const flags = ['--api', this.apiAddress, '--db', this.address, '--dir', this.dataDirectory];
    const joinFlags = join.length > 0 ? ['--join', join.join(',')] : [];
    const child = spawn(DEMO_BINARY, [...flags, ...joinFlags, '--verbose'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    runningChildren.add(child);
    this.ring.append(
      `[harness] spawned pid ${child.pid} with ${[...flags, ...joinFlags].join(' ')}\n`,
    );
    child.stdout?.on('data', (chunk: Buffer) => this.ring.append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.ring.append(chunk));
    child.on('error', (error) => this.ring.append(`[harness] spawn error: ${error.message}\n`));
    child.on('exit', (code, signal) => {
      runningChildren.delete(child);
      this.ring.append(`[harness] pid ${child.pid} exited, code ${code}, signal ${signal}\n`);
    });
    // A test that forgets stop() must not keep the runner alive; the exit hook reaps these.
    child.unref();
  }

  /** Sends `signal` to our own child (never anything else) and waits up to timeoutMs. */
  async signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
    const child = this.child;
    if (child === undefined || !isRunning(child)) return true;
    child.kill(signal);
    return waitForExit(child, timeoutMs);
  }

  /** Fails fast when the process died, instead of waiting for a timeout. */
  assertAlive(): void {
    if (this.child !== undefined && !isRunning(this.child))
      throw new Error(`node ${this.index} (${this.address}) exited unexpectedly`);
  }

  describe(): string {
    const state = this.pid === undefined ? 'not running' : `pid ${this.pid}`;
    return `--- node ${this.index} ${this.address} (${state}, dir ${this.dataDirectory}) ---\n${this.logs()}`;
  }
}

// --- the cluster --------------------------------------------------------------------------------

class DemoCluster implements CDqliteClusterHandle {
  private stopping: Promise<void> | undefined;

  constructor(readonly nodes: readonly DemoNode[]) {}

  get addresses(): readonly string[] {
    return this.nodes.map((node) => node.address);
  }

  logs(): string {
    return this.nodes.map((node) => node.describe()).join('\n');
  }

  async kill(address: string): Promise<void> {
    const node = this.liveNode(address);
    if (!(await node.signalAndWait('SIGKILL', KILL_WAIT_MS)))
      throw new Error(`node ${address} survived SIGKILL for ${KILL_WAIT_MS} ms`);
  }

  async restart(address: string): Promise<void> {
    const node = this.liveNode(address);
    if (node.pid !== undefined) throw new Error(`node ${address} is still running; kill it first`);
    // No --join: the data directory already holds the node's identity and cluster config.
    node.spawn([]);
    await this.waitForListening(node);
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** Waits until the node accepts connections on its dqlite address (or died, or timed out). */
  async waitForListening(node: DemoNode): Promise<void> {
    const options = {
      timeoutMs: LISTEN_TIMEOUT_MS,
      intervalMs: POLL_INTERVAL_MS,
      description: `${node.address} to listen`,
    };
    const probe = async (): Promise<true | undefined> => {
      node.assertAlive();
      return (await acceptsConnections(node.address, 1_000)) ? true : undefined;
    };
    try {
      await pollUntil(probe, options);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * Waits until the go shell's `.cluster` lists exactly our addresses, `voters` of them as
   * voters. `.cluster` goes through go-dqlite's connector, which only answers once it
   * has reached a node that calls itself leader, so success also proves there is a leader.
   */
  async waitForVoters(voters: number): Promise<void> {
    let lastOutput = '';
    const probe = async (remainingMs: number): Promise<true | undefined> => {
      for (const node of this.nodes) node.assertAlive();
      const timeoutMs = Math.min(SHELL_PROBE_TIMEOUT_MS, remainingMs);
      lastOutput = await goShell(this.addresses, DEMO_DATABASE, '.cluster', timeoutMs);
      const members = parseGoShellCluster(lastOutput);
      const voterCount = members.filter((member) => member.role === 'voter').length;
      const sameAddresses =
        members
          .map((member) => member.address)
          .sort()
          .join() === [...this.addresses].sort().join();
      return sameAddresses && voterCount === voters ? true : undefined;
    };
    const options = {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: POLL_INTERVAL_MS,
      description: `${voters} voters among ${this.addresses.join(', ')}`,
    };
    try {
      await pollUntil(probe, options, () => `.cluster output: ${JSON.stringify(lastOutput)}`);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Wraps an error with every node's captured output, so a CI failure is diagnosable. */
  failure(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`${message}\n${this.logs()}`);
  }

  private liveNode(address: string): DemoNode {
    if (this.stopping !== undefined) throw new Error('cluster has been stopped');
    const node = this.nodes.find((candidate) => candidate.address === address);
    if (node === undefined) throw new Error(`no node with address ${address} in this cluster`);
    return node;
  }

  private async stopAll(): Promise<void> {
    // SIGTERM first so nodes shut down cleanly; SIGKILL whatever is left after the grace period.
    const terminated = await Promise.all(
      this.nodes.map((node) => node.signalAndWait('SIGTERM', TERMINATE_GRACE_MS)),
    );
    const stubborn = this.nodes.filter((_node, index) => terminated[index] !== true);
    const killed = await Promise.all(
      stubborn.map((node) => node.signalAndWait('SIGKILL', KILL_WAIT_MS)),
    );
    await Promise.all(
      this.nodes.map(async (node) => {
        await rm(node.dataDirectory, { recursive: true, force: true });
        liveDirectories.delete(node.dataDirectory);
      }),
    );
    if (killed.includes(false)) throw this.failure(new Error('some nodes survived SIGKILL'));
  }
}

// --- the provider -------------------------------------------------------------------------------

function missingBinaryReason(): string | null {
  for (const binary of [DEMO_BINARY, GO_SHELL_BINARY]) {
    try {
      accessSync(binary, fsConstants.X_OK);
    } catch {
      return `${binary} is missing or not executable (${INSTALL_HINT})`;
    }
  }
  try {
    // Present is not enough: a missing libdqlite0/libraft shows up only when the binary runs.
    execFileSync(DEMO_BINARY, ['--help'], { stdio: 'ignore', timeout: 5_000 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `${DEMO_BINARY} --help fails (${message}); ${INSTALL_HINT}`;
  }
  return null;
}

let cachedReason: string | null | undefined;

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

async function startCluster(nodeCount: number): Promise<CDqliteClusterHandle> {
  if (!SUPPORTED_SIZES.includes(nodeCount))
    throw new RangeError(
      `c-dqlite provider supports ${SUPPORTED_SIZES.join(' or ')} nodes (got ${nodeCount}): ` +
        'dqlite-demo keeps an odd number of voters, at most 3, and leaves other nodes non-voters',
    );
  installExitHooks();
  const nodes = await createNodes(nodeCount);
  const cluster = new DemoCluster(nodes);
  const [first, ...others] = nodes;
  try {
    if (first === undefined) throw new Error('no nodes created');
    // Node 1 must be up before anyone joins it; joiners then start together.
    first.spawn([]);
    await cluster.waitForListening(first);
    for (const node of others) node.spawn([first.address]);
    await cluster.waitForVoters(nodeCount);
    return cluster;
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    throw error;
  }
}

export const cDqliteProvider: CDqliteClusterProvider = {
  name: 'c-dqlite',
  unavailableReason(): string | null {
    // Cached: suites call this at collection time, and the answer cannot change during a run.
    if (cachedReason === undefined) cachedReason = missingBinaryReason();
    return cachedReason;
  },
  start(options?: { nodes?: number }): Promise<CDqliteClusterHandle> {
    return startCluster(options?.nodes ?? 3);
  },
};
