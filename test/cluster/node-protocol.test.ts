// The dqlite-ts server at the byte level: a real node (createNode, SQL in its worker) and a raw
// socket, for what the C server gets wrong (docs/wire-protocol.md §4, §13) and what a well-behaved
// client never sends.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode, type DqliteNode } from '../../index.js';
import {
  FrameDecoder,
  PROTOCOL_VERSION_LEGACY,
  ValueType,
  decodeResponse,
  encodeHandshake,
  encodeRequest,
  type Request,
  type Response,
} from '../../src/wire/index.js';
import { freePorts } from '../../bin/local-cluster.js';

/** A raw protocol connection: send requests (or bytes), take responses in order. */
class RawConnection {
  readonly #socket: net.Socket;
  readonly #responses: Response[] = [];
  readonly #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(socket: net.Socket, legacy: boolean) {
    this.#socket = socket;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, {
        frame: (frame) => {
          this.#responses.push(decodeResponse(frame, { legacy }));
          this.#waiters.splice(0).forEach((wake) => wake());
        },
      }),
    );
    socket.on('close', () => {
      this.#closed = true;
      this.#waiters.splice(0).forEach((wake) => wake());
    });
  }

  static async open(address: string, version?: bigint): Promise<RawConnection> {
    const [host, port] = address.split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(encodeHandshake(version));
    return new RawConnection(socket, version === PROTOCOL_VERSION_LEGACY);
  }

  send(request: Request | Buffer): void {
    this.#socket.write(Buffer.isBuffer(request) ? request : encodeRequest(request));
  }

  async next(timeoutMs = 5000): Promise<Response | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    while (this.#responses.length === 0) {
      if (this.#closed) return 'closed';
      if (Date.now() > deadline) throw new Error('no response');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.#responses.shift() as Response;
  }

  async ask(request: Request | Buffer): Promise<Response | 'closed'> {
    this.send(request);
    return this.next();
  }

  close(): void {
    this.#socket.destroy();
  }
}

let directory: string;
let node: DqliteNode;
let address: string;

beforeAll(async () => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'node-protocol-'));
  const [port] = await freePorts(1);
  address = `127.0.0.1:${port}`;
  node = await createNode({ address, dataDir: directory, voters: 1 });
  const deadline = Date.now() + 10_000;
  while (!node.isLeader() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  await node.close();
  fs.rmSync(directory, { recursive: true, force: true });
});

async function opened(): Promise<RawConnection> {
  const connection = await RawConnection.open(address);
  expect(
    await connection.ask({ type: 'OPEN', name: 'app', flags: 0n, vfs: 'volatile' }),
  ).toMatchObject({
    type: 'DB',
  });
  return connection;
}

describe('dqlite-ts node, byte level', () => {
  it('answers HEARTBEAT and unknown request types, and the connection stays usable', async () => {
    const connection = await RawConnection.open(address);
    expect(await connection.ask({ type: 'HEARTBEAT', timestamp: 1n })).toMatchObject({
      type: 'EMPTY',
    });
    const unknown = Buffer.from([1, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await connection.ask(unknown)).toMatchObject({
      type: 'FAILURE',
      code: 1005,
      message: 'unrecognized request type 42',
    });
    expect(await connection.ask({ type: 'LEADER', unused: 0n })).toMatchObject({
      type: 'SERVER',
      address,
    });
    connection.close();
  });

  it('answers the four inputs that crash dqlite 1.11 with failures', async () => {
    const connection = await opened();
    // 1. DESCRIBE with a format other than 0.
    expect(await connection.ask({ type: 'DESCRIBE', format: 1n })).toMatchObject({
      type: 'FAILURE',
      code: 15,
      message: 'bad format version',
    });
    // 2. A finalized statement id below the top of the table.
    await connection.ask({ type: 'PREPARE', db: 0n, sql: 'SELECT 1' });
    await connection.ask({ type: 'PREPARE', db: 0n, sql: 'SELECT 2' });
    expect(await connection.ask({ type: 'FINALIZE', db: 0, stmt: 0 })).toMatchObject({
      type: 'EMPTY',
    });
    expect(await connection.ask({ type: 'FINALIZE', db: 0, stmt: 1 })).toMatchObject({
      type: 'EMPTY',
    });
    expect(await connection.ask({ type: 'EXEC', db: 0, stmt: 0, parameters: [] })).toMatchObject({
      type: 'FAILURE',
      code: 12,
      message: 'no statement with the given id',
    });
    // 3. A REAL in a DATETIME column and text in a BOOLEAN column, selected.
    await connection.ask({
      type: 'EXEC_SQL',
      db: 0n,
      sql: "CREATE TABLE odd (d DATETIME, b BOOLEAN); INSERT INTO odd VALUES (1.5, 'yes')",
      parameters: [],
    });
    expect(
      await connection.ask({
        type: 'QUERY_SQL',
        db: 0n,
        sql: 'SELECT d, b FROM odd',
        parameters: [],
      }),
    ).toMatchObject({
      type: 'ROWS',
      rows: [
        [
          { type: ValueType.FLOAT, value: 1.5 },
          { type: ValueType.TEXT, value: 'yes' },
        ],
      ],
    });
    // 4. A message with an empty body: a failure, then the stream cannot be trusted and closes.
    const empty = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await connection.ask(empty)).toMatchObject({ type: 'FAILURE', code: 1005 });
    expect(await connection.next()).toBe('closed');
    // The node is fine.
    const other = await opened();
    expect(
      await other.ask({
        type: 'QUERY_SQL',
        db: 0n,
        sql: 'SELECT count(*) FROM odd',
        parameters: [],
      }),
    ).toMatchObject({
      type: 'ROWS',
    });
    other.close();
  });

  it('speaks the legacy handshake and closes on an unknown version without an answer', async () => {
    const legacy = await RawConnection.open(address, PROTOCOL_VERSION_LEGACY);
    expect(await legacy.ask({ type: 'LEADER', unused: 0n })).toEqual({
      type: 'SERVER_LEGACY',
      address,
    });
    legacy.close();
    const stranger = await RawConnection.open(address, 7n);
    expect(await stranger.ask({ type: 'LEADER', unused: 0n })).toBe('closed');
  });

  it('INTERRUPT stops a streaming query early and is answered EMPTY', async () => {
    const connection = await opened();
    await connection.ask({
      type: 'EXEC_SQL',
      db: 0n,
      sql: 'CREATE TABLE many AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c',
      parameters: [],
    });
    connection.send({ type: 'QUERY_SQL', db: 0n, sql: 'SELECT x FROM many', parameters: [] });
    const first = await connection.next();
    expect(first).toMatchObject({ type: 'ROWS', more: true });
    connection.send({ type: 'INTERRUPT', db: 0n });
    let rows = 0;
    for (;;) {
      const response = await connection.next();
      if (response === 'closed') throw new Error('closed');
      if (response.type === 'EMPTY') break;
      expect(response.type).toBe('ROWS');
      if (response.type === 'ROWS') rows += response.rows.length;
    }
    expect(rows).toBeLessThan(100_000);
    expect(
      await connection.ask({
        type: 'QUERY_SQL',
        db: 0n,
        sql: 'SELECT count(*) FROM many',
        parameters: [],
      }),
    ).toMatchObject({ type: 'ROWS', rows: [[{ value: 200_000n }]] });
    connection.close();
  });
});
