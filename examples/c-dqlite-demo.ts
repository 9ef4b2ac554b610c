// The quick-start demo until the dqlite-ts engine lands: start a local 3-node cluster of
// canonical's C dqlite (Debian's go-dqlite package), then drive it through the dqlite-ts client:
// write, read, list the cluster, move leadership, kill the leader and find the new one.
//
// Run: npm run demo

import { connect } from '../drivers/client/index.js';
import type { DqliteClient } from '../drivers/client/index.js';
import { cDqliteProvider } from '../test/interop/c-cluster.js';

const DATABASE = 'demo-app';

async function main(): Promise<void> {
  const missing = cDqliteProvider.unavailableReason();
  if (missing) {
    console.error(`Cannot run the demo: ${missing}`);
    process.exitCode = 1;
    return;
  }
  console.log('Starting a 3-node C dqlite cluster on loopback...');
  const cluster = await cDqliteProvider.start({ nodes: 3 });
  let client: DqliteClient | undefined;
  try {
    const open = () =>
      connect({ cluster: [...cluster.addresses], database: DATABASE, leaderTimeoutMs: 15_000 });
    client = await open();
    console.log(`Connected to the leader ${client.address} (id ${client.leaderId.toString(16)})`);

    await client.exec(
      'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT, at DATETIME)',
    );
    for (const body of ['replicated', 'by raft', 'to a quorum']) {
      await client.exec('INSERT INTO notes (body, at) VALUES (?, ?)', [body, new Date()]);
    }
    await printNotes(client);
    console.log('Cluster:');
    for (const node of await client.cluster())
      console.log(`  ${node.id.toString(16)}  ${node.address}  ${node.role}`);

    const target = (await client.cluster()).find((node) => node.address !== client!.address)!;
    console.log(`Transferring leadership to ${target.address}...`);
    await client.transfer(target.id);
    await client.close();
    client = await open();
    console.log(`Now connected to ${client.address}`);

    console.log(`Killing the leader ${client.address} with SIGKILL...`);
    const killed = client.address;
    await client.close();
    await cluster.kill(killed);
    const started = Date.now();
    client = await open();
    console.log(
      `New leader ${client.address} reached ${Date.now() - started} ms after the kill; data is intact:`,
    );
    await printNotes(client);
  } finally {
    await client?.close();
    await cluster.stop();
    console.log('Cluster stopped.');
  }
}

async function printNotes(client: DqliteClient): Promise<void> {
  const { rows } = await client.query('SELECT id, body, at FROM notes ORDER BY id');
  for (const [id, body, at] of rows)
    console.log(`  #${String(id)} ${String(body)} (${(at as Date).toISOString()})`);
}

await main();
