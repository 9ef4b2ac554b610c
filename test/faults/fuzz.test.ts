// Fuzzing a live cluster: random bytes, and valid protocol messages with bytes flipped, cut short
// or lengthened, thrown at every node's client protocol and at its peer port (after a peer
// handshake), many connections at once. Meanwhile a canary client keeps writing and reading
// through the pool. Afterwards: every node still runs, the canary never failed, memory stayed
// bounded, and the nodes hold equal data.
//
// Peer fuzzing sends random bytes after a valid CONNECT, not mutated Raft messages: Raft trusts
// its peers, and a well-formed message from a fake peer (say, AppendEntries with a higher term)
// is an attack that mutual TLS between nodes (docs/tls.md) has to keep out, not input
// to survive.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
import { encodePeerHandshake } from '../../src/transport/index.js';
import { encodeHandshake, encodeRequest, type Request } from '../../src/wire/index.js';
import { converged } from '../cluster/node-content.js';
import { peakRssMiB } from '../../bench/compare/process-stats.js';
import { seeded } from './seeded.js';

const FUZZ_MS = Number(process.env.FUZZ_MS ?? 8_000);
/** Connections open at once, and in all (a backstop beside the time). */
const CONCURRENCY = 16;
const CONNECTIONS_MAX = 20_000;
const DATABASE = 'fuzz';
/** A node past this after the fuzzing grew without bound (they start near 150-250 MiB). */
const RSS_MIB_MAX = 1024;

/** Well-formed client requests to start mutating from. */
const samples: Request[] = [
  { type: 'LEADER', unused: 0n },
  { type: 'CLIENT', id: 7n },
  { type: 'OPEN', name: DATABASE, flags: 0n, vfs: 'volatile' },
  { type: 'PREPARE', db: 0n, sql: 'SELECT * FROM canary WHERE id = ?' },
  { type: 'EXEC_SQL', db: 0n, sql: 'INSERT INTO canary (v) VALUES (?)', parameters: [] },
  { type: 'QUERY_SQL', db: 0n, sql: 'SELECT count(*) FROM canary', parameters: [] },
  { type: 'CLUSTER', format: 1n },
  { type: 'DESCRIBE', format: 0n },
  { type: 'HEARTBEAT', timestamp: 0n },
];

/** One connection's bytes: random, or a valid client stream with some damage. */
function fuzzBytes(random: () => number): { peer: boolean; bytes: Buffer } {
  const roll = random();
  if (roll < 0.2) return { peer: false, bytes: randomBytes(1 + Math.floor(random() * 4096)) };
  if (roll < 0.35) {
    const peer = encodePeerHandshake({
      id: 1 + Math.floor(random() * 1000),
      address: '127.0.0.1:1',
    });
    return { peer: true, bytes: Buffer.concat([peer, randomBytes(Math.floor(random() * 4096))]) };
  }
  const parts = [encodeHandshake()];
  for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
    const request = samples[Math.floor(random() * samples.length)] as Request;
    parts.push(encodeRequest(request));
  }
  const stream = Buffer.concat(parts);
  const damage = random();
  if (damage < 0.4) {
    for (let flips = 0; flips < 1 + Math.floor(random() * 8); flips++) {
      const at = 8 + Math.floor(random() * (stream.length - 8));
      stream[at] = Math.floor(random() * 256);
    }
    return { peer: false, bytes: stream };
  }
  if (damage < 0.7)
    return { peer: false, bytes: stream.subarray(0, Math.floor(random() * stream.length)) };
  return { peer: false, bytes: Buffer.concat([stream, randomBytes(Math.floor(random() * 512))]) };
}

/** Sends the bytes, reads whatever comes back for a moment, then closes. */
function throwAt(address: string, bytes: Buffer, lingerMs: number): Promise<void> {
  return new Promise((resolve) => {
    const [host, port] = address.split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, lingerMs);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => undefined);
    socket.on('connect', () => socket.write(bytes));
  });
}

describe('a live cluster under fuzzed connections', () => {
  let cluster: LocalCluster;
  let pool: LeaderPool;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    pool = createPool({ cluster: cluster.addresses, database: DATABASE, timeoutMs: 10_000 });
    await pool.exec('CREATE TABLE IF NOT EXISTS canary (id INTEGER PRIMARY KEY, v INTEGER)');
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await cluster?.stop();
  });

  it(
    'keeps every node up, the canary served, memory bounded and the data equal',
    async () => {
      const seed = Number(process.env.FUZZ_SEED ?? 99);
      const random = seeded(seed);
      const pids = cluster.nodes.map((node) => node.pid);
      const deadline = performance.now() + FUZZ_MS;
      let canaryOps = 0;
      const canaryErrors: string[] = [];
      const canary = (async () => {
        for (let n = 0; n < 1_000_000 && performance.now() < deadline; n++) {
          try {
            await pool.exec('INSERT INTO canary (v) VALUES (?)', [n]);
            await pool.query('SELECT v FROM canary WHERE id = ?', [n + 1]);
            canaryOps++;
          } catch (error) {
            canaryErrors.push(String(error));
            await sleep(10);
          }
        }
      })();
      let sent = 0;
      const fuzzer = async () => {
        while (sent < CONNECTIONS_MAX && performance.now() < deadline) {
          sent++;
          const { bytes } = fuzzBytes(random);
          const address = cluster.addresses[
            Math.floor(random() * cluster.addresses.length)
          ] as string;
          await throwAt(address, bytes, 5 + Math.floor(random() * 50));
        }
      };
      await Promise.all([canary, ...Array.from({ length: CONCURRENCY }, fuzzer)]);
      console.log(
        `fuzz: ${sent} connections in ${FUZZ_MS} ms, seed ${seed}; canary ${canaryOps} writes and reads`,
      );
      expect(canaryErrors.slice(0, 3)).toEqual([]);
      expect(canaryOps).toBeGreaterThan(50);
      expect(sent).toBeGreaterThan(500);
      // The same processes still run: none crashed and was restarted.
      expect(cluster.nodes.map((node) => node.pid)).toEqual(pids);
      for (const pid of pids) expect(peakRssMiB(pid as number)).toBeLessThan(RSS_MIB_MAX);
      const content = await converged(cluster.addresses, DATABASE);
      expect(content.rows.canary).toBeGreaterThanOrEqual(canaryOps);
    },
    FUZZ_MS * 3 + 60_000,
  );
});
