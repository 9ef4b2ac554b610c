// Backup against canonical's C dqlite: the same SQL path, one read transaction on the leader.
// C dqlite does not report an applied Raft index, and the backup says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, connect, createPool } from '../../index.js';
import { cDqliteProvider, DEMO_DATABASE, type CDqliteClusterHandle } from './c-cluster.js';
import { startCounterWriter } from '../cluster/counter-writer.js';

const unavailable = cDqliteProvider.unavailableReason();

describe.skipIf(unavailable !== null)('backup against C dqlite', () => {
  let cluster: CDqliteClusterHandle;
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-c-'));
  beforeAll(async () => {
    cluster = await cDqliteProvider.start({ nodes: 3 });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('writes one snapshot while a writer keeps writing, without a Raft index', async () => {
    const client = await connect({ cluster: [...cluster.addresses], database: DEMO_DATABASE });
    await client.exec(
      'CREATE TABLE counter (n INTEGER PRIMARY KEY); CREATE TABLE bulk (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT); CREATE INDEX bulk_v ON bulk (v)',
    );
    await client.exec(
      "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 20000) INSERT INTO bulk (v) SELECT 'row ' || n FROM i",
    );
    const pool = createPool({ cluster: [...cluster.addresses], database: DEMO_DATABASE });
    const writer = startCounterWriter(pool);
    try {
      await writer.waitFor(20);
      const before = writer.written;
      const file = path.join(directory, 'demo.db');
      const result = await backup({
        cluster: [...cluster.addresses],
        database: DEMO_DATABASE,
        file,
      });
      await writer.stop();
      expect(result.appliedIndex).toBeUndefined();
      expect(result.rows).toBeGreaterThanOrEqual(20_000 + before);
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const counter = db.prepare('SELECT n FROM counter ORDER BY n').pluck().all() as number[];
        expect(counter).toEqual(Array.from({ length: counter.length }, (_, i) => i + 1));
        expect(counter.length).toBeGreaterThanOrEqual(before);
        expect(db.prepare('SELECT count(*) FROM bulk').pluck().get()).toBe(20_000);
      } finally {
        db.close();
      }
    } finally {
      await writer.stop().catch(() => undefined);
      await pool.close();
      await client.close();
    }
  }, 180_000);
});
