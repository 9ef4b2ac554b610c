// The quick-start demo until the dqlite-ts engine lands: start a local 3-node cluster of
// canonical's C dqlite (Debian's go-dqlite package), then use it through dqlite-ts: the pool for
// the application's reads and writes, the client for cluster management. Leadership moves and
// the leader is killed with SIGKILL while a writer keeps going through the pool.
//
// Run: npm run demo

import { connect } from '../drivers/client/index.js';
import { createPool, OutcomeUnknownError } from '../drivers/pool/index.js';
import type { LeaderChange, LeaderPool } from '../drivers/pool/index.js';
import { cDqliteProvider } from '../test/interop/c-cluster.js';

const DATABASE = 'demo-app';
/** The background writer's bounds: it stops by itself. */
const WRITER_NOTES_MAX = 5000;
const WRITER_PAUSE_MS = 5;

async function main(): Promise<void> {
  const missing = cDqliteProvider.unavailableReason();
  if (missing) {
    console.error(`Cannot run the demo: ${missing}`);
    process.exitCode = 1;
    return;
  }
  console.log('Starting a 3-node C dqlite cluster on loopback...');
  const cluster = await cDqliteProvider.start({ nodes: 3 });
  const pool = createPool({ cluster: [...cluster.addresses], database: DATABASE, max: 4 });
  pool.on('leaderChange', ({ previous, leader }: LeaderChange) =>
    console.log(`  [pool] leader ${previous ?? '(none)'} -> ${leader}`),
  );
  try {
    await pool.exec(
      'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT, at DATETIME)',
    );
    await pool.batch(
      ['replicated', 'by raft', 'to a quorum'].map((body) => ({
        sql: 'INSERT INTO notes (body, at) VALUES (?, ?)',
        params: [body, new Date()],
      })),
    );
    for (const note of (await pool.query('SELECT id, body, at FROM notes ORDER BY id')).rows) {
      console.log(
        `  #${String(note.id)} ${String(note.body)} (${(note.at as Date).toISOString()})`,
      );
    }

    const admin = await connect({ cluster: [...cluster.addresses], database: DATABASE });
    console.log('Cluster:');
    for (const node of await admin.cluster())
      console.log(`  ${node.id.toString(16)}  ${node.address}  ${node.role}`);

    const writer = startWriter(pool);
    const target = (await admin.cluster()).find((node) => node.address !== admin.address)!;
    console.log(`Transferring leadership to ${target.address} while a writer runs...`);
    await admin.transfer(target.id);
    await admin.close();
    await new Promise((resolve) => setTimeout(resolve, 500));

    const leader = pool.stats().leader!;
    console.log(`Killing the leader ${leader} with SIGKILL...`);
    const killedAt = Date.now();
    await cluster.kill(leader);
    await pool.exec('INSERT INTO notes (body, at) VALUES (?, ?)', ['after the kill', new Date()]);
    console.log(
      `The pool wrote again ${Date.now() - killedAt} ms after the kill (C dqlite's election takes most of it).`,
    );
    const { written, unknown } = await writer.stop();
    const count = (await pool.query('SELECT count(*) AS n FROM notes')).rows[0]!.n;
    console.log(
      `Background writer: ${written} writes acknowledged, ${unknown} with an unknown outcome (in flight at the kill); ${String(count)} notes stored.`,
    );
  } finally {
    await pool.close();
    await cluster.stop();
    console.log('Cluster stopped.');
  }
}

/** Writes notes one after another until stopped; counts what it saw. */
function startWriter(pool: LeaderPool) {
  let stopping = false;
  let written = 0;
  let unknown = 0;
  const done = (async () => {
    for (let index = 0; index < WRITER_NOTES_MAX && !stopping; index++) {
      try {
        await pool.exec('INSERT INTO notes (body, at) VALUES (?, ?)', [
          `background ${index}`,
          new Date(),
        ]);
        written++;
      } catch (error) {
        if (!(error instanceof OutcomeUnknownError)) throw error;
        unknown++;
      }
      await new Promise((resolve) => setTimeout(resolve, WRITER_PAUSE_MS));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return { written, unknown };
    },
  };
}

await main();
