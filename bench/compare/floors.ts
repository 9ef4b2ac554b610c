// The floors: what this machine can do at all, measured in the same run as the clusters, so a
// cluster's figure can be read against them. Nothing replicated can write faster than one fsync
// per commit allows, or answer faster than a loopback round trip.

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { keyOf, VALUE_BYTES } from './workloads.js';

export interface Floors {
  /** better-sqlite3 in this process, WAL, synchronous=FULL: autocommit writes per second. */
  readonly sqliteDurableWritesPerSecond: number;
  /** The same with synchronous=OFF: what SQLite costs without any fsync. */
  readonly sqliteWritesPerSecond: number;
  /** Point reads by key in this process, on a table of the same size as the clusters'. */
  readonly sqliteReadsPerSecond: number;
  /** A 4 KiB write plus fdatasync, in the directory the nodes keep their data in. */
  readonly fdatasyncsPerSecond: number;
  /** 16-byte request, 16-byte answer over TCP on 127.0.0.1, one at a time. */
  readonly loopbackRoundTripsPerSecond: number;
}

/** Counts how often `operation` runs in `durationMs`, calling it back to back. */
function rateOf(durationMs: number, operation: (count: number) => void): number {
  const startedMs = performance.now();
  let count = 0;
  // Check the clock every 16 operations; bounded by time and by a backstop count.
  while (count < 100_000_000) {
    operation(count++);
    if ((count & 15) === 0 && performance.now() - startedMs >= durationMs) break;
  }
  return count / ((performance.now() - startedMs) / 1000);
}

function sqliteFloors(directory: string, rows: number, durationMs: number) {
  const measure = (synchronous: 'FULL' | 'OFF', reads: boolean): number => {
    const file = path.join(directory, `floor-${synchronous}-${reads ? 'reads' : 'writes'}.db`);
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous}`);
      db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)');
      const write = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
      db.transaction(() => {
        for (let index = 0; index < rows; index++)
          write.run(keyOf(index), randomBytes(VALUE_BYTES));
      })();
      const value = randomBytes(VALUE_BYTES);
      if (!reads)
        return rateOf(durationMs, (count) => write.run(keyOf((count * 7919) % rows), value));
      const read = db.prepare('SELECT v FROM kv WHERE k = ?');
      return rateOf(durationMs, (count) => read.get(keyOf((count * 7919) % rows)));
    } finally {
      db.close();
    }
  };
  return {
    sqliteDurableWritesPerSecond: measure('FULL', false),
    sqliteWritesPerSecond: measure('OFF', false),
    sqliteReadsPerSecond: measure('OFF', true),
  };
}

function fdatasyncRate(directory: string, durationMs: number): number {
  const descriptor = fs.openSync(path.join(directory, 'fdatasync'), 'w');
  const block = randomBytes(4096);
  try {
    return rateOf(durationMs, () => {
      fs.writeSync(descriptor, block, 0, block.length, 0);
      fs.fdatasyncSync(descriptor);
    });
  } finally {
    fs.closeSync(descriptor);
  }
}

/** An echo server and one client sending the next request when the answer arrived. */
async function loopbackRate(durationMs: number): Promise<number> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const request = Buffer.alloc(16);
  const startedMs = performance.now();
  let trips = 0;
  await new Promise<void>((resolve) => {
    let received = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received < request.length) return;
      received -= request.length;
      trips++;
      if (performance.now() - startedMs >= durationMs) resolve();
      else socket.write(request);
    });
    socket.write(request);
  });
  const seconds = (performance.now() - startedMs) / 1000;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return trips / seconds;
}

/** Measures every floor for about 5 × `durationMs`, in a scratch directory under `parent`. */
export async function measureFloors(
  parent: string,
  rows: number,
  durationMs: number,
): Promise<Floors> {
  const directory = fs.mkdtempSync(path.join(parent, 'dqlite-ts-bench-floors-'));
  try {
    return {
      ...sqliteFloors(directory, rows, durationMs),
      fdatasyncsPerSecond: fdatasyncRate(directory, durationMs),
      loopbackRoundTripsPerSecond: await loopbackRate(durationMs),
    };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

export const defaultScratchParent = os.tmpdir();
