// Restore of SQLite files of growing size into a 3-node dqlite-ts cluster of processes: how long
// each takes, whether leadership moved meanwhile, and each node's peak memory. A restore is one
// transaction, so its pages travel as Raft entries of at most 1 MiB each, proposed together.
// Each file holds one table of 100-character text rows and an index on them, as an application's
// data might; each restore goes into a database of its own, and the run ends by checking that
// every node holds the same rows (dqlite-ts check).
//
// Run: npm run bench:restore   (options: SIZES_MB=16,64,256)
// With DQLITE_TS_CLI=dist/bin/dqlite-ts.js (after npm run build) the nodes run the build.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LocalCluster } from '../bin/local-cluster.js';
import { createPool, restore } from '../index.js';

const SIZES_MB = (process.env.SIZES_MB ?? '16,64,256').split(',').map(Number);

/** The peak resident memory of a process so far, in MiB (VmHWM). */
function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024);
}

/** A SQLite file of about `megabytes` MB: 100-character rows and an index on them. */
function makeFile(file: string, megabytes: number): number {
  const db = new Database(file);
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)');
  db.exec('CREATE INDEX items_label ON items (label)');
  const insert = db.prepare('INSERT INTO items (label) VALUES (?)');
  const bytes = megabytes * 1024 * 1024;
  let rows = 0;
  while (fs.statSync(file).size < bytes) {
    db.transaction(() => {
      for (let i = 0; i < 5000; i++, rows++) {
        insert.run(`${rows}:`.padEnd(100, String.fromCharCode(97 + (rows % 26))));
      }
    })();
  }
  db.close();
  return rows;
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-restore-'));
const cluster = await LocalCluster.start({ nodes: 3, nodeArgs: ['--log-level', 'debug'] });
try {
  console.log(
    '| file MB | rows | restore s | MB/s | pre-votes and elections | peak RSS per node MiB |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const megabytes of SIZES_MB) {
    const file = path.join(directory, `${megabytes}.db`);
    const rows = makeFile(file, megabytes);
    const fileMB = fs.statSync(file).size / 1024 / 1024;
    const before = cluster.campaigns().length;
    const started = Date.now();
    const database = `restore${megabytes}`;
    const result = await restore({
      cluster: cluster.addresses,
      database,
      file,
      bytesMax: fs.statSync(file).size,
    });
    const seconds = (Date.now() - started) / 1000;
    if (result.rows !== rows) throw new Error(`restored ${result.rows} rows of ${rows}`);
    const pool = createPool({ cluster: cluster.addresses, database });
    const { rows: counted } = await pool.query('SELECT count(*) AS n FROM items');
    await pool.close();
    if (Number(counted[0]?.n) !== rows)
      throw new Error(`the cluster holds ${String(counted[0]?.n)} rows`);
    const peaks = cluster.nodes.map((node) => peakRssMiB(node.pid)).join(', ');
    console.log(
      `| ${fileMB.toFixed(0)} | ${rows} | ${seconds.toFixed(1)} | ${(fileMB / seconds).toFixed(1)} | ${cluster.campaigns().length - before} | ${peaks} |`,
    );
    fs.rmSync(file);
  }
} finally {
  await cluster.stop();
  fs.rmSync(directory, { recursive: true, force: true });
}
