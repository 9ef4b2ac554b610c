// Round trips per second of a one-row SELECT against the C dqlite leader, through the dqlite-ts
// client, against two baselines measured in the same run on the same machine:
// - "raw protocol": the same request bytes written on a bare socket, waiting only for the
//   response frame's length (no client, no decoding): the C server plus loopback TCP;
// - "tcp echo": a Node echo server on loopback, the floor for any request/response here.
// Machines here are noisy, so variants alternate over several rounds and the median is kept;
// the numbers that matter are the ratios.
//
// Run: npm run bench   (options: ROUND_TRIPS=20000 ROUNDS=5)

import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { encodeHandshake, encodeRequest } from '../src/wire/index.js';
import { connect } from '../drivers/client/index.js';
import { createPool } from '../drivers/pool/index.js';
import type { LeaderPool } from '../drivers/pool/index.js';
import type { DqliteClient } from '../drivers/client/index.js';
import { cDqliteProvider } from '../test/interop/c-cluster.js';

const ROUND_TRIPS = Number(process.env.ROUND_TRIPS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Each measured loop stops after this long even if it has not done ROUND_TRIPS. */
const LOOP_TIME_MAX_MS = 15_000;
const SQL = 'SELECT v FROM bench WHERE id = ?';

type Variant = { name: string; run: () => Promise<number> };

/** Runs `step` up to ROUND_TRIPS times (bounded by LOOP_TIME_MAX_MS); returns round trips/s. */
async function measure(step: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let done = 0;
  while (done < ROUND_TRIPS && performance.now() - started < LOOP_TIME_MAX_MS) {
    await step();
    done++;
  }
  return done / ((performance.now() - started) / 1000);
}

/** A socket that sends one message and resolves when `answerBytes(received)` is satisfied. */
function pingPong(socket: net.Socket, frameComplete: (buffered: Buffer) => number) {
  let buffered = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const consumed = frameComplete(buffered);
    if (consumed > 0) {
      buffered = buffered.subarray(consumed);
      waiter?.();
    }
  });
  return (message: Buffer) =>
    new Promise<void>((resolve) => {
      waiter = resolve;
      socket.write(message);
    });
}

/** Bytes of the first whole dqlite frame in `buffered`, or 0 if it has not all arrived. */
function dqliteFrameBytes(buffered: Buffer): number {
  if (buffered.length < 8) return 0;
  const total = 8 + buffered.readUInt32LE(0) * 8;
  return buffered.length >= total ? total : 0;
}

async function openSocket(address: string): Promise<net.Socket> {
  const [host, port] = address.split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

async function rawProtocolVariant(leader: string, database: string): Promise<Variant> {
  const socket = await openSocket(leader);
  socket.write(encodeHandshake());
  const send = pingPong(socket, dqliteFrameBytes);
  await send(encodeRequest({ type: 'OPEN', name: database, flags: 0n, vfs: 'volatile' }));
  const query = encodeRequest({
    type: 'QUERY_SQL',
    db: 0n,
    sql: SQL,
    parameters: [{ type: 1, value: 1n }],
  });
  return { name: 'raw protocol (no client)', run: () => measure(() => send(query)) };
}

async function tcpEchoVariant(): Promise<{ variant: Variant; close: () => void }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = await openSocket(`127.0.0.1:${port}`);
  const message = Buffer.alloc(64, 1);
  const send = pingPong(socket, (buffered) =>
    buffered.length >= message.length ? message.length : 0,
  );
  return {
    variant: { name: 'tcp echo (floor)', run: () => measure(() => send(message)) },
    close: () => {
      socket.destroy();
      server.close();
    },
  };
}

function clientVariants(
  client: DqliteClient,
  prepared: Awaited<ReturnType<DqliteClient['prepare']>>,
  pool: LeaderPool,
): Variant[] {
  return [
    { name: 'dqlite-ts pool.query', run: () => measure(() => pool.query(SQL, [1])) },
    { name: 'dqlite-ts client.query', run: () => measure(() => client.query(SQL, [1])) },
    { name: 'dqlite-ts statement.query', run: () => measure(() => prepared.query([1])) },
  ];
}

/**
 * Loopback round trips cost very different amounts when client and server share a core and
 * when they do not, and the scheduler flips between the two within one run (seen here: the raw
 * baseline moved between ~15k/s and ~43k/s). Pinning this process to CPU 0 and the C nodes to
 * CPU 1 makes every variant pay the same cross-core hop. Best effort: skipped without taskset.
 */
function pinCpus(serverPids: readonly (number | undefined)[]): void {
  try {
    execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
    for (const pid of serverPids) {
      if (pid !== undefined)
        execFileSync('taskset', ['-apc', '1', String(pid)], { stdio: 'ignore' });
    }
  } catch (error) {
    console.warn(`not pinning CPUs (${(error as Error).message}); expect noisier numbers`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const missing = cDqliteProvider.unavailableReason();
  if (missing) throw new Error(`cannot benchmark against C dqlite: ${missing}`);
  const cluster = await cDqliteProvider.start({ nodes: 3 });
  pinCpus(cluster.nodes.map((node) => node.pid));
  const echo = await tcpEchoVariant();
  try {
    const database = 'bench';
    const client = await connect({
      cluster: [...cluster.addresses],
      database,
      leaderTimeoutMs: 15_000,
    });
    await client.exec('CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT)');
    await client.exec('INSERT INTO bench (id, v) VALUES (1, ?)', ['one row']);
    const prepared = await client.prepare(SQL);
    const pool = createPool({ cluster: [client.address], database, max: 1 });
    const variants = [
      echo.variant,
      await rawProtocolVariant(client.address, database),
      ...clientVariants(client, prepared, pool),
    ];
    const samples = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) samples.get(variant.name)!.push(await variant.run());
    }
    const raw = median(samples.get('raw protocol (no client)')!);
    console.log(
      `one-row SELECT round trips against the C dqlite 1.11 leader (${ROUND_TRIPS} per loop, median of ${ROUNDS})`,
    );
    for (const [name, values] of samples) {
      const perSecond = median(values);
      console.log(
        `  ${name.padEnd(28)} ${perSecond.toFixed(0).padStart(7)}/s   ${(perSecond / raw).toFixed(2)} x raw protocol`,
      );
    }
    await prepared.finalize();
    await client.close();
    await pool.close();
  } finally {
    echo.close();
    await cluster.stop();
  }
}

await main();
