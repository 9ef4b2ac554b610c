// Run by close-leaves-nothing.test.ts in a process of its own: an embedded node that TCP probes
// touched (a health check that connects and hangs up without a word, one still connected), a
// client that queried it, then close(). Prints what still keeps the process alive, as JSON.
import { once } from 'node:events';
import net from 'node:net';
import { connect, createNode } from '../../index.js';
import { parsePeerAddress } from '../../src/transport/index.js';

const [dataDir, address] = process.argv.slice(2) as [string, string];
const endpoint = parsePeerAddress(address);
if (!('port' in endpoint)) throw new Error(`a TCP address, not ${address}`);
const { host, port } = endpoint;

const node = await createNode({ address, dataDir });
const hungUp = net.connect(port, host);
await once(hungUp, 'connect');
hungUp.destroy();
const silent = net.connect(port, host);
await once(silent, 'connect');
silent.on('error', () => {});
// Answered only after the node accepted the probes' connections, which arrived first.
const client = await connect({ cluster: [address], database: 'app' });
await client.query('SELECT 1');
await client.close();
await node.close();
silent.destroy();
// Sockets finish closing on a later turn of the event loop.
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(JSON.stringify(process.getActiveResourcesInfo()));
