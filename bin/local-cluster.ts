// A local dqlite-ts cluster of child processes, one `dqlite-ts node` each, on loopback. The demo
// runs one; the interop suites run theirs through it. Only processes this module spawned are ever
// signalled, by the pid it holds.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../index.js';

export interface LocalClusterOptions {
  /** Nodes to start; all become voters up to `voters` (default 3), the rest standbys/spares. */
  readonly nodes?: number;
  readonly voters?: number;
  /** Parent directory for the nodes' data; default a new temporary directory. */
  readonly directory?: string;
  /** Extra `dqlite-ts node` flags for every node. */
  readonly nodeArgs?: readonly string[];
  /** Longest the cluster may take to have its voters and a leader. Default 30 s. */
  readonly startTimeoutMs?: number;
  /**
   * Puts something in front of each node: given the address a node listens on, returns the
   * address the node advertises (and everyone dials), e.g. a fault-injecting proxy's.
   */
  readonly interpose?: (listenAddress: string) => Promise<string>;
  /** Extra environment variables for a node's processes, given its data directory. */
  readonly environment?: (dataDir: string) => Readonly<Record<string, string>>;
}

/** One node: fixed address and data directory, a process that comes and goes. */
export interface LocalNode {
  readonly address: string;
  readonly dataDir: string;
  /** The current process's pid; undefined while the node is down. */
  readonly pid: number | undefined;
  /**
   * Where the current process serves its HTTP endpoint (`--http`), as it printed it (a port 0 is
   * resolved); undefined without one, or before it printed it.
   */
  readonly httpAddress: string | undefined;
  /** Recent output of the node's processes (for failure messages). */
  logs(): string;
}

const logBytesMax = 64 * 1024;
/** How long a killed node's process may take to go; SIGTERM runs a clean close first. */
const exitWaitMs = 5000;
const cleanExitWaitMs = 30_000;
/** When the whole cluster stops, SIGKILL follows a SIGTERM not obeyed within this. */
const terminateGraceMs = 3000;

/** A node logged becoming `role` at `time` (milliseconds since the epoch, from its log line). */
export interface Campaign {
  readonly role: 'pre-candidate' | 'candidate' | 'leader';
  readonly time: number;
}

class NodeProcess implements LocalNode {
  #child: ChildProcess | undefined;
  #log = '';
  #httpAddress: string | undefined;
  /** Every campaign this node logged, kept apart from `#log`, which keeps only its tail. */
  readonly #campaigns: Campaign[] = [];
  /** The end of the output after its last newline: a line still arriving. */
  #partialLine = '';
  constructor(
    readonly address: string,
    readonly dataDir: string,
    private readonly nodeArgs: readonly string[],
    readonly listenAddress: string = address,
    private readonly environment: Readonly<Record<string, string>> = {},
  ) {}

  get pid(): number | undefined {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null
      ? child.pid
      : undefined;
  }

  get child(): ChildProcess | undefined {
    return this.#child;
  }

  logs(): string {
    return this.#log;
  }

  /**
   * Each time this node logged becoming pre-candidate, candidate or leader, in every life of its
   * process. Pre-votes are logged at debug level only: start the node with `--log-level debug`.
   */
  campaigns(): readonly Campaign[] {
    return this.#campaigns;
  }

  get httpAddress(): string | undefined {
    return this.pid === undefined ? undefined : this.#httpAddress;
  }

  #append(text: string): void {
    this.#log = (this.#log + text).slice(-logBytesMax);
    const lines = (this.#partialLine + text).split('\n');
    this.#partialLine = lines.pop() ?? '';
    for (const line of lines) {
      const role = /"role":"(pre-candidate|candidate|leader)"/.exec(line)?.[1];
      const time = /"time":(\d+)/.exec(line)?.[1];
      if (role !== undefined && time !== undefined) {
        this.#campaigns.push({ role: role as Campaign['role'], time: Number(time) });
      }
    }
  }

  /** Spawns the node and resolves once it prints that it serves (or rejects if it exits). */
  start(join: readonly string[]): Promise<void> {
    const args = ['node', '--address', this.address, '--data', this.dataDir, ...this.nodeArgs];
    if (this.listenAddress !== this.address) args.push('--listen', this.listenAddress);
    if (join.length > 0) args.push('--join', join.join(','));
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.environment },
    });
    this.#child = child;
    liveChildren.add(child);
    child.on('exit', () => liveChildren.delete(child));
    this.#append(`[local-cluster] pid ${child.pid}: dqlite-ts ${args.join(' ')}\n`);
    child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk.toString()));
    this.#httpAddress = undefined;
    const wantsHttp = args.includes('--http');
    let printed = ''; // this process's first lines, until it says where it serves HTTP
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        this.#append(chunk.toString());
        if (this.#httpAddress === undefined && printed.length < logBytesMax) {
          printed += chunk.toString();
          this.#httpAddress = /monitoring at http:\/\/(\S+)\//.exec(printed)?.[1];
        }
        // With --http, it is started once it has also said where (httpAddress).
        const serving = this.#log.includes(`serving at ${this.address}`);
        if (serving && (!wantsHttp || this.#httpAddress !== undefined)) resolve();
      });
      child.once('exit', (code, signal) => {
        this.#append(`[local-cluster] pid ${child.pid} exited (code ${code}, signal ${signal})\n`);
        reject(new Error(`node ${this.address} exited before serving\n${this.#log}`));
      });
    });
  }

  async signal(signal: NodeJS.Signals, waitMs: number): Promise<boolean> {
    const child = this.#child;
    if (child === undefined || this.pid === undefined) return true;
    const exited = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    child.kill(signal);
    return exited;
  }
}

/** Children still running, killed if this process exits without stopping its clusters. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/**
 * The node arguments that run this CLI: compiled JavaScript directly, TypeScript through tsx.
 * The environment variable DQLITE_TS_CLI may name a compiled `dqlite-ts.js` to run instead:
 * `npm test` points it at the build it just made, so the tests' nodes and commands run what the
 * package ships, and start in a quarter of the time tsx needs to compile the sources.
 */
export function cliCommand(): string[] {
  const compiled = process.env.DQLITE_TS_CLI;
  if (compiled !== undefined && compiled !== '') return [path.resolve(compiled)];
  const self = import.meta.url;
  if (self.endsWith('.js')) return [fileURLToPath(new URL('./dqlite-ts.js', self))];
  return ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./dqlite-ts.ts', self))];
}

export class LocalCluster {
  readonly nodes: NodeProcess[] = [];
  readonly directory: string;
  readonly #options: LocalClusterOptions;
  readonly #ownsDirectory: boolean;
  #stopping: Promise<void> | undefined;

  private constructor(directory: string, options: LocalClusterOptions, ownsDirectory: boolean) {
    this.directory = directory;
    this.#options = options;
    this.#ownsDirectory = ownsDirectory;
  }

  get addresses(): string[] {
    return this.nodes.map((node) => node.address);
  }

  /** Starts node 1 (which bootstraps), then the others joining it; resolves with `voters` voters. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const count = options.nodes ?? 3;
    const voters = Math.min(options.voters ?? 3, count);
    const ownsDirectory = options.directory === undefined;
    const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-'));
    const cluster = new LocalCluster(directory, { ...options, voters }, ownsDirectory);
    try {
      const nodes: NodeProcess[] = [];
      for (let i = 0; i < count; i++) nodes.push(await cluster.#newNode());
      const [first, ...others] = nodes;
      if (first === undefined) throw new RangeError('a cluster needs at least one node');
      await first.start([]);
      await Promise.all(others.map((node) => node.start([first.address])));
      await cluster.waitForVoters(voters, options.startTimeoutMs ?? 30_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async #newNode(): Promise<NodeProcess> {
    const [port] = await freePorts(1);
    const listen = `127.0.0.1:${port}`;
    const advertised = (await this.#options.interpose?.(listen)) ?? listen;
    const nodeArgs = [
      '--voters',
      String(this.#options.voters ?? 3),
      ...(this.#options.nodeArgs ?? []),
    ];
    const dataDir = path.join(this.directory, `node${this.nodes.length + 1}`);
    const node = new NodeProcess(
      advertised,
      dataDir,
      nodeArgs,
      listen,
      this.#options.environment?.(dataDir),
    );
    this.nodes.push(node);
    return node;
  }

  /** Starts one more node, joining through the running ones; resolves once it was added. */
  async addNode(): Promise<LocalNode> {
    const running = this.nodes.filter((other) => other.pid !== undefined);
    const node = await this.#newNode();
    await node.start(running.map((other) => other.address));
    return node;
  }

  /** Stops a node's process without ending it (SIGSTOP), as a long pause would. */
  pause(address: string): void {
    this.node(address).child?.kill('SIGSTOP');
  }

  resume(address: string): void {
    this.node(address).child?.kill('SIGCONT');
  }

  node(address: string): NodeProcess {
    const node = this.nodes.find((candidate) => candidate.address === address);
    if (node === undefined) throw new Error(`no node ${address} in this cluster`);
    return node;
  }

  /** Waits until the leader reports `voters` voters among our nodes. */
  async waitForVoters(voters: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      try {
        const client = await connect({
          cluster: this.addresses,
          database: 'main',
          leaderTimeoutMs: Math.max(100, deadline - Date.now()),
        });
        try {
          const members = await client.cluster();
          const count = members.filter((member) => member.role === 'voter').length;
          if (count === voters) return;
          last = `${count} voters: ${JSON.stringify(members, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
        } finally {
          await client.close();
        }
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `cluster did not reach ${voters} voters in ${timeoutMs} ms: ${last}\n${this.logs()}`,
    );
  }

  /** SIGKILLs a node's process (ours, by pid) and waits until it is gone. */
  async kill(address: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const waitMs = signal === 'SIGKILL' ? exitWaitMs : cleanExitWaitMs;
    if (!(await this.node(address).signal(signal, waitMs))) {
      throw new Error(`node ${address} survived ${signal} for ${waitMs} ms`);
    }
  }

  /**
   * Starts a stopped node again from its data directory. `join` matters only for a node that no
   * longer belongs to the cluster (it was removed): it then asks to be added again.
   */
  async restart(address: string, join: readonly string[] = []): Promise<void> {
    const node = this.node(address);
    if (node.pid !== undefined) throw new Error(`node ${address} is still running`);
    await node.start(join);
  }

  /** Every node's campaigns (`NodeProcess.campaigns`), node by node. */
  campaigns(): Campaign[] {
    return this.nodes.flatMap((node) => [...node.campaigns()]);
  }

  logs(): string {
    return this.nodes.map((node) => `--- ${node.address} ---\n${node.logs()}`).join('\n');
  }

  /** SIGTERM every node (a clean close), SIGKILL what is left, remove our directory. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const clean = await Promise.all(
        this.nodes.map((node) => node.signal('SIGTERM', terminateGraceMs)),
      );
      await Promise.all(
        this.nodes.map((node, i) =>
          clean[i] === true ? true : node.signal('SIGKILL', exitWaitMs),
        ),
      );
      if (this.#ownsDirectory) fs.rmSync(this.directory, { recursive: true, force: true });
    })();
    return this.#stopping;
  }
}

/**
 * Lowest port handed out; below it are well-known and registered services' ports.
 */
const portFloor = 10_000;
/** Ports this process handed out already: a node may not be listening on one yet. */
const handedOut = new Set<number>();

/**
 * Where the kernel takes ports for outgoing connections and `listen(0)` (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range), or undefined when it cannot be read.
 */
function ephemeralPortsFrom(): number | undefined {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    const value = Number(low);
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on `port` (0: any) of 127.0.0.1; resolves undefined when it is taken. */
function tryListen(port: number): Promise<net.Server | undefined> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(undefined);
      else reject(error);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Distinct loopback ports free now, for nodes to listen on a moment later; all held open until
 * every one is known. They are taken below the kernel's ephemeral range when there is one: in
 * that range any outgoing connection or `listen(0)` may take a port between this check and the
 * node's listen, and a cluster's own peer connections did (a node's first start failed with
 * EADDRINUSE). No port is handed out twice by one process.
 */
export async function freePorts(count: number): Promise<number[]> {
  const ephemeral = ephemeralPortsFrom();
  const span = ephemeral === undefined ? 0 : ephemeral - portFloor;
  const servers: net.Server[] = [];
  try {
    if (span < 1000) {
      // Where the ephemeral range is unknown (or leaves no room below it), the kernel picks.
      while (servers.length < count) {
        const server = await tryListen(0);
        if (server === undefined) throw new Error('freePorts: no free port');
        servers.push(server);
      }
    } else {
      const start = Math.floor(Math.random() * span);
      for (let step = 0; step < span && servers.length < count; step++) {
        const port = portFloor + ((start + step) % span);
        if (handedOut.has(port)) continue;
        const server = await tryListen(port);
        if (server !== undefined) servers.push(server);
      }
      if (servers.length < count) throw new Error(`freePorts: fewer than ${count} free ports`);
    }
    const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
    for (const port of ports) handedOut.add(port);
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
