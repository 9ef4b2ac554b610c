// The node's limits (createNode's `limits`, docs/limits.md), each pushed past on a real
// node: the client that went too far gets a clear answer or loses its connection; the node keeps
// serving everyone else.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';
import { DqliteError, connect, createNode, createPool, type DqliteNode } from '../../index.js';
import { encodeHandshake, encodeRequest } from '../../src/wire/index.js';

const limits = {
  connectionsMax: 8,
  messageBytesMax: 64 * 1024,
  statementsPerConnectionMax: 5,
  queryBufferBytes: 8 * 1024,
  // Long enough that a busy machine's delayed timers (a heartbeat every 100 ms, a pause between
  // queries) never look idle; the tests wait on events, and only lower bounds use this number.
  idleTimeoutMs: 2000,
};
let directory: string;
let address: string;
let node: DqliteNode;
const options = () => ({ cluster: [address], database: 'limits', connectTimeoutMs: 2000 });

beforeAll(async () => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'limits-'));
  address = `127.0.0.1:${(await freePorts(1))[0]}`;
  // A write waiting for the lock must outlast the idle timeout in a test below.
  node = await createNode({
    address,
    dataDir: directory,
    voters: 1,
    limits,
    busyTimeoutMs: 60_000,
  });
  const deadline = Date.now() + 10_000;
  while (!node.isLeader() && Date.now() < deadline) await sleep(10);
  const client = await connect(options());
  await client.exec('CREATE TABLE big (i INTEGER PRIMARY KEY, t TEXT)');
  await client.exec(
    `INSERT INTO big (i, t) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20000)
     SELECT x, printf('%0100d', x) FROM c`,
  );
  await client.close();
}, 30_000);

afterAll(async () => {
  await node?.close();
  fs.rmSync(directory, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A raw TCP connection that has said the protocol version, and how it ended. */
async function rawConnection(): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const [host, port] = address.split(':') as [string, string];
  const socket = net.connect({ host, port: Number(port) });
  const startedMs = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => resolve(Date.now() - startedMs)),
  );
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(encodeHandshake());
  return { socket, closed };
}

async function stillServes(): Promise<void> {
  const client = await connect(options());
  try {
    const result = await client.query('SELECT count(*) AS n FROM big');
    expect(result.rows).toEqual([[20000]]);
  } finally {
    await client.close();
  }
}

describe('node limits', () => {
  it('connectionsMax: connections past the limit are closed on arrival, and free up again', async () => {
    const held = await Promise.all(Array.from({ length: limits.connectionsMax }, rawConnection));
    // Busy connections (a HEARTBEAT every 100 ms), so the idle timeout closes none of them.
    const heartbeats = setInterval(() => {
      for (const { socket } of held)
        socket.write(encodeRequest({ type: 'HEARTBEAT', timestamp: 0n }));
    }, 100);
    const refused = await rawConnection();
    // Refused on arrival with a FAILURE that says why (the idle timeout would close it silently).
    let answer = Buffer.alloc(0);
    refused.socket.on('data', (chunk: Buffer) => (answer = Buffer.concat([answer, chunk])));
    await refused.closed;
    expect(answer.toString('latin1')).toContain('too many connections');
    const error = await connect({ ...options(), leaderTimeoutMs: 500 }).catch((caught) => caught);
    clearInterval(heartbeats);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/too many connections: this node accepts at most 8 at once/);
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    await stillServes();
  });

  it('messageBytesMax: a larger request is refused with a message naming the cap', async () => {
    const client = await connect(options());
    const huge = `SELECT '${'z'.repeat(100_000)}'`;
    const error = await client.query(huge).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/cap is 65536 bytes/);
    await client.close().catch(() => undefined);
    await stillServes();
  });

  it('statementsPerConnectionMax: one statement too many is a FAILURE that says how to fix it', async () => {
    const client = await connect(options());
    const statements = [];
    for (let i = 0; i < limits.statementsPerConnectionMax; i++) {
      statements.push(await client.prepare(`SELECT ${i}`));
    }
    const error = await client.prepare('SELECT 99').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DqliteError);
    expect((error as Error).message).toMatch(/at most 5 per connection/);
    // Finalizing one frees its slot; the connection itself is fine.
    await statements[0]?.finalize();
    const again = await client.prepare('SELECT 100');
    expect((await again.query()).rows).toEqual([[100]]);
    await client.close();
  });

  it('queryBufferBytes: a query larger than the buffer streams whole, batch by batch', async () => {
    const client = await connect(options());
    let count = 0;
    let sum = 0;
    for await (const row of client.iterate('SELECT i, t FROM big ORDER BY i')) {
      count += 1;
      sum += Number(row[0]);
    }
    expect(count).toBe(20000);
    expect(sum).toBe((20000 * 20001) / 2);
    // A point read (answered on the main thread) bigger than the buffer goes to the engine.
    const many = await client.query(
      `SELECT t FROM big WHERE i IN (${Array.from({ length: 200 }, (_, i) => i + 1).join(',')})`,
    );
    expect(many.rows.length).toBe(200);
    await client.close();
  });

  it('idleTimeoutMs: a silent connection is closed, an active one is not', async () => {
    const silent = await rawConnection();
    const half = await rawConnection();
    half.socket.write(Buffer.from([0xff, 0xff, 0, 0])); // half a header, then nothing
    // Not before the timeout (how long after it depends on the machine's load).
    expect(await silent.closed).toBeGreaterThanOrEqual(limits.idleTimeoutMs - 50);
    await half.closed;
    const client = await connect(options());
    for (let i = 0; i < 8; i++) {
      await client.query('SELECT 1');
      await sleep(limits.idleTimeoutMs / 4);
    }
    expect(client.isOpen).toBe(true);
    await client.close();
  });

  it('idleTimeoutMs: a request still running in the engine is not idleness', async () => {
    // A write that waits for the lock, held by another client for twice the idle timeout: its
    // request is in the engine all along, on any machine, however fast.
    const holder = await connect(options());
    const waiter = await connect(options());
    await holder.exec('CREATE TABLE IF NOT EXISTS waits (n INTEGER)');
    await holder.exec('BEGIN IMMEDIATE');
    await holder.exec('INSERT INTO waits VALUES (1)');
    const started = Date.now();
    let waiting = true;
    const waited = waiter.exec('INSERT INTO waits VALUES (2)').finally(() => (waiting = false));
    // The holder stays active (a read in its transaction every 100 ms) while the waiter sends
    // nothing at all.
    while (Date.now() - started < limits.idleTimeoutMs * 2) {
      await holder.query('SELECT count(*) FROM waits');
      await sleep(100);
    }
    expect(waiting).toBe(true);
    await holder.exec('COMMIT');
    await waited;
    expect(waiter.isOpen).toBe(true);
    expect((await waiter.query('SELECT n FROM waits ORDER BY n')).rows).toEqual([[1], [2]]);
    await waiter.close();
    await holder.close();
  });

  it('idleTimeoutMs: a client that stops reading its rows is cut off, and the rows are not buffered', async () => {
    const reader = await rawConnection();
    // OPEN then QUERY_SQL of 20 MB of rows, sent by hand so nothing reads the answers.
    reader.socket.write(encodeRequest({ type: 'OPEN', name: 'limits', flags: 0n, vfs: '' }));
    reader.socket.write(
      encodeRequest({
        type: 'QUERY_SQL',
        db: 0n,
        sql: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000)
              SELECT x, printf('%0100d', x) FROM c`,
        parameters: [],
      }),
    );
    reader.socket.pause();
    // Once the first rows have arrived, the node is writing, not computing: from the moment the
    // buffers fill it waits for a reader that never comes, and that is idleness.
    for (const deadline = Date.now() + 60_000; reader.socket.readableLength === 0;) {
      if (Date.now() > deadline) throw new Error('no rows arrived within 60 s');
      await sleep(20);
    }
    await sleep(limits.idleTimeoutMs * 3);
    let received = 0;
    reader.socket.on('data', (chunk: Buffer) => (received += chunk.length));
    reader.socket.resume();
    await reader.closed;
    // The node stopped at what the socket buffers hold, far short of the 20 MB answer.
    expect(received).toBeLessThan(10 * 1024 * 1024);
    await stillServes();
  });

  it("a pool whose idle connections outlive the node's idle timeout just opens new ones", async () => {
    const pool = createPool({ ...options(), idleTimeoutMs: 60_000 });
    try {
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await sleep(limits.idleTimeoutMs * 2);
      expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await pool.close();
    }
  });
});
