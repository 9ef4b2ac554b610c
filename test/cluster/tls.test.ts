// Mutual TLS (createNode's, connect's and createPool's `tls`, the CLI's --tls-*) with certificates
// made here by openssl: a cluster whose every connection is TLS serves a pool and an adapter, and
// whoever lacks a certificate from the cluster's CA (a plain client, a client or node from another
// CA, a client that does not trust the nodes) is refused quickly with an error that says why.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DqliteDialect } from '../../adapters/kysely/index.js';
import { freePorts } from '../../bin/local-cluster.js';
import {
  ConnectionError,
  HandshakeError,
  connect,
  createNode,
  createPool,
  type ClientOptions,
  type DqliteNode,
  type TlsOptions,
} from '../../index.js';
import { createNodeTls } from '../../src/transport/index.js';
import { encodeHandshake } from '../../src/wire/index.js';
import { converged } from './node-content.js';
import { cli, startCliNode } from './cli-process.js';
import { certificateAuthority, type Pem } from './tls-certificates.js';

let directory: string;
let addresses: string[];
const nodes: DqliteNode[] = [];
/** Nodes started by one test, closed after all. */
const extraNodes: DqliteNode[] = [];
let ca: Pem;
let rogueCa: Pem;
let issue: (subject: string) => Pem;
let issueRogue: (subject: string) => Pem;
let clientTls: TlsOptions;

const tlsOf = (pem: Pem, authority: Pem = ca): TlsOptions => ({
  cert: pem.cert,
  key: pem.key,
  ca: authority.cert,
});

const portOf = (address: string) => Number(address.split(':')[1]);

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How a promise failed and how long that took. */
async function failure(promise: Promise<unknown>): Promise<{ error: Error; elapsedMs: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => new Error('expected a failure, but it succeeded'),
    (reason: unknown) => reason as Error,
  );
  return { error, elapsedMs: Date.now() - started };
}

beforeAll(async () => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
  ({ ca, issue } = certificateAuthority(directory, 'cluster-ca'));
  ({ ca: rogueCa, issue: issueRogue } = certificateAuthority(directory, 'rogue-ca'));
  clientTls = tlsOf(issue('app'));
  addresses = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  for (let i = 0; i < 3; i++) {
    const node = await createNode({
      address: addresses[i] as string,
      dataDir: path.join(directory, `n${i}`),
      join: i === 0 ? [] : [addresses[0] as string],
      roleCheckIntervalMs: 100,
      tls: tlsOf(issue(`node${i}`)),
    });
    nodes.push(node);
  }
  await waitFor(
    () => nodes[0]!.cluster().filter((node) => node.role === 'voter').length === 3,
    '3 voters',
  );
}, 30_000);

afterAll(async () => {
  await Promise.all([...nodes, ...extraNodes].map((node) => node.close()));
  fs.rmSync(directory, { recursive: true, force: true });
});

describe('a cluster on mutual TLS', () => {
  it('elects a leader, replicates, and serves a pool over TLS', async () => {
    await waitFor(() => nodes.some((node) => node.isLeader()), 'a leader');
    const pool = createPool({ cluster: addresses, database: 'app', tls: clientTls });
    try {
      await pool.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
      await pool.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
      expect((await pool.query('SELECT v FROM t ORDER BY k')).rows).toEqual([
        { v: 'one' },
        { v: 'two' },
      ]);
    } finally {
      await pool.close();
    }
    // Every node's copy, read over TLS with a certificate from the cluster's CA.
    const content = await converged(addresses, 'app', 10_000, createNodeTls(clientTls, 'test'));
    expect(content.rows).toEqual({ t: 2 });
  });

  it('serves Kysely given the pool options with tls', async () => {
    const db = new Kysely<{ kv: { k: number; v: string } }>({
      dialect: new DqliteDialect({ cluster: addresses, database: 'kysely', tls: clientTls }),
    });
    try {
      await sql`CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`.execute(db);
      await db.insertInto('kv').values({ k: 1, v: 'x' }).execute();
      expect(await db.selectFrom('kv').selectAll().execute()).toEqual([{ k: 1, v: 'x' }]);
    } finally {
      await db.destroy();
    }
  });
});

describe('who is refused', () => {
  const clientOptions = (tls?: TlsOptions): ClientOptions => ({
    cluster: addresses,
    database: 'app',
    connectTimeoutMs: 2000,
    tls,
  });

  it('refuses a plain client quickly with a HandshakeError, and keeps serving', async () => {
    const { error, elapsedMs } = await failure(connect(clientOptions()));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.message).toMatch(
      /before answering the first request: it may require TLS \(then set the tls option\)/,
    );
    expect(elapsedMs).toBeLessThan(2000);
    // Raw bytes that are not TLS do no harm either.
    const socket = net.connect({ host: '127.0.0.1', port: portOf(addresses[0]!) });
    socket.on('error', () => {});
    socket.write(Buffer.alloc(64, 0xab));
    await new Promise((resolve) => socket.once('close', resolve));
    const client = await connect(clientOptions(clientTls));
    expect((await client.query('SELECT count(*) AS n FROM t')).rows).toEqual([[2]]);
    await client.close();
  });

  it("refuses a client whose certificate is not from the cluster's CA", async () => {
    const rogue = tlsOf(issueRogue('intruder'), ca);
    const { error, elapsedMs } = await failure(connect(clientOptions(rogue)));
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.message).toMatch(
      /TLS handshake failed: the node refused this client's certificate/,
    );
    expect(elapsedMs).toBeLessThan(2000);
    // A client with no certificate at all (ours always has one) gets nothing but the close.
    const bare = tls.connect({ port: portOf(addresses[0]!), host: '127.0.0.1', ca: ca.cert });
    const received: Buffer[] = [];
    bare.on('data', (chunk: Buffer) => received.push(chunk));
    bare.on('error', () => {});
    bare.on('secureConnect', () => bare.write(encodeHandshake()));
    await new Promise((resolve) => bare.once('close', resolve));
    expect(received).toEqual([]);
  });

  it("fails a client that does not trust the nodes' CA", async () => {
    const { error } = await failure(connect(clientOptions(tlsOf(issue('app2'), rogueCa))));
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.message).toMatch(/TLS handshake failed: the node's certificate is not trusted/);
  });

  it('fails a TLS client against a plain node clearly', async () => {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const plain = await createNode({ address, dataDir: path.join(directory, 'plain'), voters: 1 });
    extraNodes.push(plain);
    await waitFor(() => plain.isLeader(), 'the plain node leads');
    const { error, elapsedMs } = await failure(
      connect({ cluster: [address], database: 'app', connectTimeoutMs: 2000, tls: clientTls }),
    );
    expect(error).toBeInstanceOf(HandshakeError);
    expect(error.message).toMatch(/TLS handshake failed: .*does it use TLS/);
    expect(elapsedMs).toBeLessThan(2000);
  });

  it("keeps a node whose certificate is not from the cluster's CA out", async () => {
    const [port1, port2] = await freePorts(2);
    const joining = (port: number | undefined, name: string, tls: TlsOptions) =>
      failure(
        createNode({
          address: `127.0.0.1:${port}`,
          dataDir: path.join(directory, name),
          join: addresses,
          joinTimeoutMs: 1000,
          tls,
        }),
      );
    // It trusts the cluster, but the cluster does not trust it.
    const intruder = await joining(port1, 'intruder', tlsOf(issueRogue('intruder-node'), ca));
    expect(intruder.error.message).toMatch(
      /could not join the cluster .*TLS handshake failed: the node refused this client's certificate/,
    );
    expect(intruder.elapsedMs).toBeLessThan(4000);
    // Neither trusts the other.
    const stranger = await joining(port2, 'stranger', tlsOf(issueRogue('stranger'), rogueCa));
    expect(stranger.error.message).toMatch(/could not join the cluster .*TLS handshake failed/);
    expect(nodes[0]!.cluster()).toHaveLength(3);
  });

  it('counts connections still in the TLS handshake against connectionsMax', async () => {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const node = await createNode({
      address,
      dataDir: path.join(directory, 'limited'),
      voters: 1,
      limits: { connectionsMax: 3 },
      tls: tlsOf(issue('limited')),
    });
    extraNodes.push(node);
    await waitFor(() => node.isLeader(), 'the limited node leads');
    const silent = await Promise.all(
      [1, 2, 3].map(async () => {
        const socket = net.connect({ host: '127.0.0.1', port: port as number });
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // the node has counted them
    const options = { cluster: [address], database: 'app', connectTimeoutMs: 2000, tls: clientTls };
    expect((await failure(connect(options))).error).toBeInstanceOf(HandshakeError);
    for (const socket of silent) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const client = await connect(options);
    await client.close();
  });
});

describe('tls option checks', () => {
  const node = (tls: unknown) =>
    createNode({ address: '127.0.0.1:1', dataDir: path.join(directory, 'never'), tls } as never);

  it('refuses malformed tls options in createNode, connect and createPool, naming them', async () => {
    await expect(node({ cert: ca.cert, key: ca.key })).rejects.toThrow(
      new TypeError('createNode: tls.ca must be PEM text, as a non-empty string or Buffer'),
    );
    await expect(node('certs/')).rejects.toThrow(/createNode: tls must be an object/);
    await expect(node({ ...clientTls, ca: [] })).rejects.toThrow(/createNode: tls.ca must not/);
    await expect(node({ ...clientTls, passphrase: 'x' })).rejects.toThrow(
      /createNode: tls: unknown option "passphrase"/,
    );
    await expect(node({ ...clientTls, key: 'not a key' })).rejects.toThrow(
      /createNode: tls: cert, key and ca must be PEM/,
    );
    await expect(node({ ...clientTls, key: rogueCa.key })).rejects.toThrow(TypeError); // mismatch
    const client = (tls: unknown) =>
      connect({ cluster: addresses, database: 'app', tls } as ClientOptions);
    await expect(client({ cert: clientTls.cert, ca: ca.cert })).rejects.toThrow(
      /connect\(options\): tls.key must be PEM/,
    );
    await expect(client({ ...clientTls, cert: 42 })).rejects.toThrow(TypeError);
    expect(() => createPool({ cluster: addresses, database: 'app', tls: true } as never)).toThrow(
      /createPool\(options\): tls must be an object/,
    );
    expect(() =>
      createPool({ cluster: addresses, database: 'app', tls: { ...clientTls, ca: 'x' } }),
    ).toThrow(/createPool\(options\): tls.cert, tls.key and tls.ca must be PEM/);
  });
});

describe('dqlite-ts node --tls-*', () => {
  it('serves TLS clients, the CLI client included', async () => {
    const [port] = await freePorts(1);
    const address = `127.0.0.1:${port}`;
    const server = issue('cli-node');
    const app = issue('cli-app');
    const tlsFlags = (pem: Pem) => ['--tls-cert', pem.certFile, '--tls-key', pem.keyFile];
    const caFlag = ['--tls-ca', ca.certFile];
    const child = await startCliNode([
      '--address',
      address,
      '--data',
      path.join(directory, 'cli'),
      '--voters',
      '1',
      ...tlsFlags(server),
      ...caFlag,
    ]);
    try {
      const client = await connect({ cluster: [address], database: 'cli', tls: tlsOf(app) });
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([[1]]);
      await client.close();
      const { stdout } = await cli('leader', '--cluster', address, ...tlsFlags(app), ...caFlag);
      expect(stdout).toContain(address);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('wants all three --tls-* flags or none', async () => {
    const partial = (await cli(
      'node',
      '--address',
      '127.0.0.1:1',
      '--data',
      '/nonexistent',
      '--tls-cert',
      ca.certFile,
    ).catch((error: unknown) => error)) as { code: number; stderr: string };
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('--tls-cert, --tls-key and --tls-ca go together');
    const shell = (await cli(
      'shell',
      '--cluster',
      '127.0.0.1:1',
      '--tls-ca',
      ca.certFile,
      'app',
    ).catch((error: unknown) => error)) as { code: number; stderr: string };
    expect(shell.code).toBe(2);
    expect(shell.stderr).toContain('give all three or none');
  }, 30_000);
});
