// Requests per second through one SqlEngine in this thread (no worker, no Raft, no sockets):
// `query-sql` reads and `exec-sql` writes whose page sets are "proposed" and applied at once. It
// isolates the engine's own per-request cost (statement policy, settling each request against the
// WAL and data_version, capture). Compare two checkouts by running it in each, alternating:
//   npm run bench:engine
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryType } from '../src/raft/types.js';
import { SqlEngine } from '../src/server/sql/sql-engine.js';
import type { EngineCall, EngineReply, EngineRequest } from '../src/server/sql/engine-messages.js';
import { ValueType } from '../src/wire/index.js';

const readsTimed = 20_000;
const writesTimed = 5_000;

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-requests-'));
const engine = new SqlEngine({ directory, busyTimeoutMs: 1000 });
let id = 0;
const send = (call: EngineCall): Promise<EngineReply> =>
  new Promise((resolve) => engine.handle({ ...call, id: ++id } as EngineRequest, resolve));

let index = 1;
await send({ op: 'apply', index, term: 1, type: EntryType.barrier, data: new Uint8Array() });
await send({ op: 'lead', epoch: 1 });
await send({ op: 'open', session: 1, database: 'app' });
await send({
  op: 'exec-sql',
  session: 1,
  sql: 'CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)',
  parameters: [],
});

async function rate(kind: 'read' | 'write', count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    if (kind === 'read') {
      await send({
        op: 'query-sql',
        session: 1,
        sql: 'SELECT count(*) FROM t WHERE k < 10',
        parameters: [],
      });
      continue;
    }
    const reply = await send({
      op: 'exec-sql',
      session: 1,
      sql: 'INSERT OR REPLACE INTO t (k, v) VALUES (?, randomblob(100))',
      parameters: [{ type: ValueType.INTEGER, value: BigInt(i % 1000) }],
    });
    for (const data of reply.proposals) {
      index += 1;
      await send({ op: 'proposed', index, term: 1 });
      await send({ op: 'apply', index, term: 1, type: EntryType.command, data });
    }
  }
  return count / ((performance.now() - started) / 1000);
}

await rate('read', 2_000); // warm up
await rate('write', 500);
const reads = await rate('read', readsTimed);
const writes = await rate('write', writesTimed);
console.log(`engine reads ${Math.round(reads)}/s, writes ${Math.round(writes)}/s`);
fs.rmSync(directory, { recursive: true, force: true });
