// What one node's copy of a database holds, read through DUMP (its local files, docs/wire-protocol.md
// §6.1) and opened with SQLite: the integrity check and a hash of the schema and every table's
// rows. Equal hashes on every node are the convergence invariant of docs/architecture.md.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LocalCluster } from '../../bin/local-cluster.js';
import { checkCluster } from '../../index.js';
import { requestOnce } from '../../src/server/cluster-client.js';
import type { NodeTls } from '../../src/transport/index.js';

export interface NodeContent {
  readonly integrity: string;
  readonly hash: string;
  readonly rows: Readonly<Record<string, number>>;
}

/** `tls` (from createNodeTls) when the nodes require mutual TLS. */
export async function nodeContent(
  address: string,
  database: string,
  tls?: NodeTls,
): Promise<NodeContent> {
  // A DUMP carries the whole database: tens of megabytes take a while on a busy machine.
  const answer = await requestOnce(address, { type: 'DUMP', name: database }, dumpWaitMs, tls);
  if (answer.type !== 'FILES') throw new Error(`DUMP on ${address}: ${JSON.stringify(answer)}`);
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'node-content-'));
  try {
    for (const file of answer.files) {
      if (file.data.length > 0) fs.writeFileSync(path.join(directory, file.name), file.data);
    }
    const db = new Database(path.join(directory, database));
    try {
      const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? 'empty';
      const hash = createHash('sha256');
      // The schema too: a change made through writable_schema, say, shows here first.
      hash.update(
        JSON.stringify(
          db
            .prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')
            .raw()
            .all(),
        ),
      );
      const rows: Record<string, number> = {};
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[];
      for (const table of tables) {
        hash.update(`${JSON.stringify(table)};`);
        let count = 0;
        const all = db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).raw();
        for (const row of all.iterate() as Iterable<unknown[]>) {
          count++;
          hash.update('(');
          for (const value of row) updateWithValue(hash, value);
        }
        rows[table] = count;
      }
      return { integrity, hash: hash.digest('hex'), rows };
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Adds one column value to the hash, unambiguously: blobs length-prefixed as they are (a JSON
 * text of tens of megabytes of hex took seconds per node), everything else as JSON.
 */
function updateWithValue(hash: Hash, value: unknown): void {
  if (Buffer.isBuffer(value)) {
    hash.update(`b${value.length}:`);
    hash.update(value);
  } else {
    hash.update(`${JSON.stringify(value)};`);
  }
}

/** Longest one node may take to answer a DUMP. */
const dumpWaitMs = 30_000;

/**
 * Polls until every node's copy is equal and intact; returns the common content. `timeoutMs` is
 * a bound for a cluster that never converges, not an expectation of speed.
 */
export async function converged(
  addresses: readonly string[],
  database: string,
  timeoutMs = 60_000,
  tls?: NodeTls,
): Promise<NodeContent> {
  const deadline = Date.now() + timeoutMs;
  let last: (NodeContent | string)[] = [];
  while (Date.now() < deadline) {
    last = await Promise.all(
      addresses.map((address) =>
        nodeContent(address, database, tls).catch((error: Error) => `${address}: ${error.message}`),
      ),
    );
    const first = last[0];
    if (
      typeof first === 'object' &&
      last.every(
        (content) =>
          typeof content === 'object' && content.hash === first.hash && content.integrity === 'ok',
      )
    ) {
      await expectContentCheckAgrees(addresses, database, tls);
      return first;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`nodes did not converge within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

/**
 * The product's own divergence check (checkCluster, `dqlite-ts check`) agrees: every node in
 * `addresses` answered at one Raft index with the same hashes (of `database`, or of every
 * database). Nodes of the configuration not in `addresses` (stopped on purpose) are not asked to
 * answer.
 */
export async function expectContentCheckAgrees(
  addresses: readonly string[],
  database?: string,
  tls?: NodeTls,
): Promise<void> {
  const check = await checkCluster({
    cluster: [...addresses],
    database,
    tls: tls?.options,
    leaderTimeoutMs: 30_000,
  });
  const expected = check.nodes.filter((node) => addresses.includes(node.address));
  const problems = expected.filter((node) => node.error !== undefined || node.diverged);
  if (expected.length !== addresses.length || problems.length > 0) {
    throw new Error(
      `content check at index ${check.index}: ${JSON.stringify(check.nodes, bigints)}`,
    );
  }
}

/**
 * Stops a cluster of processes after checking that every running node holds the same data: the
 * end of every cluster test that starts one.
 */
export async function checkAndStop(cluster: LocalCluster | undefined): Promise<void> {
  if (cluster === undefined) return;
  try {
    const running = cluster.nodes.filter((node) => node.pid !== undefined);
    if (running.length > 0) await expectContentCheckAgrees(running.map((node) => node.address));
  } finally {
    await cluster.stop();
  }
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString(16) : value;
}
