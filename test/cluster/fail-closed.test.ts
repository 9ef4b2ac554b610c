// "No OK without a commit", end to end on one node with its SQL engine in its worker: when the
// WAL the leader reads is swapped for another file under it, the next write is not answered OK
// (nothing captured it), the answer says what happened, and the node stops rather than serve
// from files that hold a change nothing replicated.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { ReplicatedEngine } from '../../src/server/replicated-engine.js';
import { ErrorCode } from '../../src/wire/index.js';
import { waitUntil } from '../interop/poll-until.js';

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

describe('a leader that cannot prove what a write did', () => {
  it('answers it with LEADERSHIP_LOST, never OK, and stops', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fail-closed-'));
    directories.push(dataDir);
    const address = '127.0.0.1:1';
    const fatal: Error[] = [];
    const engine = await ReplicatedEngine.start({
      id: 1,
      address,
      dataDir,
      bootstrap: { servers: [{ id: 1, address, role: Role.voter }] },
      busyTimeoutMs: 5000,
      onFatal: (error) => fatal.push(error),
    });
    try {
      await waitUntil(() => engine.isServing(), 'the node serving');
      await engine.local({ op: 'open', session: 1, database: 'app' });
      const exec = (sql: string) =>
        engine.execute({ op: 'exec-sql', session: 1, sql, parameters: [] });
      expect(await exec('CREATE TABLE t (x)')).toMatchObject({ ok: true });
      const wal = path.join(dataDir, 'db', 'app-wal');
      fs.rmSync(wal);
      fs.writeFileSync(wal, '');
      const outcome = await exec('INSERT INTO t VALUES (1)');
      expect(outcome).toMatchObject({
        ok: false,
        code: ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST,
        message: expect.stringMatching(/WAL of app was replaced.*nothing of it was acknowledged/),
      });
      expect(fatal.map((error) => error.message)).toEqual([
        expect.stringMatching(/WAL of app was replaced/),
      ]);
      expect(engine.isServing()).toBe(false);
    } finally {
      await engine.close({ handover: false });
    }
  }, 60_000);
});
