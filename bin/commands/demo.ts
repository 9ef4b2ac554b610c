import { parseArgs } from 'node:util';
import { connect, createPool } from '../../index.js';
import type { LeaderChange } from '../../index.js';
import { LocalCluster } from '../local-cluster.js';
import { formatNodeId } from './node-id.js';
import { UsageError } from './usage-error.js';

export const DEMO_USAGE = `dqlite-ts demo [--nodes N] [--seconds S]
  Starts a local N-node cluster (default 3) of child processes, writes through the pool, kills
  the leader with SIGKILL, keeps writing, and reports the new leader, the time to recover, and
  that no acknowledged row was lost. Runs about S seconds of writes (default 4).`;

/** Rows the writer inserts at most; the demo stops by itself. */
const writesMax = 100_000;

/** `dqlite-ts demo`: the README's main job. */
export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { nodes: { type: 'string', default: '3' }, seconds: { type: 'string', default: '4' } },
  });
  const nodes = Number(values.nodes);
  const seconds = Number(values.seconds);
  if (!Number.isSafeInteger(nodes) || nodes < 3) throw new UsageError('--nodes must be 3 or more');
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError('--seconds must be in (0, 600]');

  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(2)}s`;
  const say = (line: string) => console.log(`[${elapsed().padStart(6)}] ${line}`);
  say(`starting a ${nodes}-node dqlite-ts cluster (one process per node, loopback)...`);
  const cluster = await LocalCluster.start({ nodes });
  const pool = createPool({ cluster: cluster.addresses, database: 'demo', max: 4 });
  pool.on('leaderChange', (change: LeaderChange) =>
    say(`pool: leader ${change.previous ?? '(none)'} -> ${change.leader}`),
  );
  try {
    const admin = await connect({ cluster: cluster.addresses, database: 'demo' });
    for (const node of await admin.cluster()) {
      const pid = cluster.node(node.address).pid;
      say(`  node ${formatNodeId(node.id)} at ${node.address}: ${node.role} (pid ${pid})`);
    }
    const leader = await admin.leader();
    await admin.close();
    if (leader === null) throw new Error('the cluster lost its leader before the demo began');

    await pool.exec(
      'CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, seq INTEGER UNIQUE, at TEXT)',
    );
    say('schema created; writing through the pool: one INSERT at a time, each acknowledged');
    const acknowledged: number[] = [];
    const latencies: { at: number; ms: number }[] = [];
    let stop = false;
    const writer = (async () => {
      for (let seq = 1; seq <= writesMax && !stop; seq++) {
        const begun = Date.now();
        // seq is UNIQUE, so running the INSERT twice is harmless: the pool may then retry it
        // after an unknown outcome (the leader died with it in flight) instead of failing.
        await pool.exec(
          "INSERT OR IGNORE INTO events (seq, at) VALUES (?, datetime('now'))",
          [seq],
          {
            idempotent: true,
          },
        );
        acknowledged.push(seq);
        latencies.push({ at: Date.now(), ms: Date.now() - begun });
      }
    })();

    await sleep((seconds * 1000) / 2);
    const before = acknowledged.length;
    const killedAt = Date.now();
    await cluster.kill(leader.address);
    say(
      `killed the leader, node ${formatNodeId(leader.id)} at ${leader.address}, with SIGKILL (${before} rows acknowledged so far)`,
    );
    while (!latencies.some((write) => write.at > killedAt) && Date.now() - killedAt < 30_000) {
      await sleep(5);
    }
    const firstAfter = latencies.find((write) => write.at > killedAt);
    const recoveryMs = firstAfter === undefined ? undefined : firstAfter.at - killedAt;
    say(
      recoveryMs === undefined
        ? 'writes did not recover within 30 s'
        : `writes succeed again ${recoveryMs} ms after the kill`,
    );
    await sleep((seconds * 1000) / 2);
    stop = true;
    await writer;

    const check = await connect({ cluster: cluster.addresses, database: 'demo' });
    const newLeader = await check.leader();
    const { rows } = await check.query('SELECT seq FROM events ORDER BY seq');
    await check.close();
    const stored = new Set(rows.map((row) => Number(row[0])));
    const lost = acknowledged.filter((seq) => !stored.has(seq));
    const rate = acknowledged.length / ((Date.now() - killedAt + (seconds * 1000) / 2) / 1000);

    console.log('');
    console.log('what happened');
    console.log(
      `  old leader        node ${formatNodeId(leader.id)} at ${leader.address} (killed)`,
    );
    console.log(
      `  new leader        node ${newLeader ? formatNodeId(newLeader.id) : '?'} at ${newLeader?.address ?? '?'}`,
    );
    console.log(
      `  time to recover   ${recoveryMs ?? 'did not recover'} ms (kill -> next acknowledged write)`,
    );
    console.log(
      `  rows acknowledged ${acknowledged.length} (about ${Math.round(rate)} writes/s, one client)`,
    );
    console.log(`  rows in the table ${stored.size}`);
    console.log(
      `  rows lost         ${lost.length}${lost.length > 0 ? ` (${lost.slice(0, 10).join(', ')})` : ''}`,
    );
    return lost.length === 0 && recoveryMs !== undefined ? 0 : 1;
  } finally {
    await pool.close();
    await cluster.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
