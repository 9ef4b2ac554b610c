// One node of a C dqlite cluster: a dqlite-demo process (go-dqlite's demo app, Debian's
// `dqlite-demo` 1.11.5: a dqlite node plus an HTTP API) with fixed addresses and directory, and
// its captured output. Kept apart from c-dqlite-cluster.ts, which decides when nodes start, join
// and stop: this is how one process is spawned, signalled and watched. Only processes spawned
// here are ever signalled, by the pid held.
//
// Facts about dqlite-demo 1.11.5 this file relies on (checked by running it):
// * Flags: --api ADDR (HTTP API), --db ADDR (dqlite address), -D/--dir DIR (default
//   /tmp/dqlite-demo), --join ADDR[,ADDR] (existing nodes), -v/--verbose. Nothing else.
// * The node keeps its state in DIR/<db address>/ (info.yaml, cluster.yaml, raft segments), so
//   a restart must reuse both the directory and the address.
// * The demo database is called "demo" (the app opens it and its HTTP API uses table "model").
// * Without --verbose it prints nothing; with it, a few DEBUG lines per minute, so we log verbose.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { guardChild, guardDirectory } from './c-dqlite-orphans.js';
import { freePorts } from './local-cluster.js';

/** Where Debian's go-dqlite package installs the demo app. */
export const DEMO_BINARY = '/usr/bin/dqlite-demo';
/** The database dqlite-demo opens; clients of this cluster can use it too. */
export const DEMO_DATABASE = 'demo';

const logBytesMax = 64 * 1024;

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

export class DemoNode implements CDqliteNode {
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
    guardChild(child);
    this.#append(
      `[launcher] spawned pid ${child.pid} with ${[...flags, ...joinFlags].join(' ')}\n`,
    );
    child.stdout?.on('data', (chunk: Buffer) => this.#append(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk));
    child.on('error', (error) => this.#append(`[launcher] spawn error: ${error.message}\n`));
    child.on('exit', (code, signal) => {
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

/** `count` nodes on free loopback ports, each with a new temporary data directory. */
export async function createNodes(count: number): Promise<DemoNode[]> {
  const ports = await freePorts(count * 2);
  const nodes: DemoNode[] = [];
  for (let index = 0; index < count; index += 1) {
    const directory = await mkdtemp(path.join(os.tmpdir(), `dqlite-ts-c-node${index + 1}-`));
    guardDirectory(directory);
    const address = `127.0.0.1:${ports[index * 2]}`;
    const apiAddress = `127.0.0.1:${ports[index * 2 + 1]}`;
    nodes.push(new DemoNode(index + 1, address, apiAddress, directory));
  }
  return nodes;
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
