/**
 * Entry point of the SQL engine's worker thread: it hosts one SqlEngine (engine-host.ts) and
 * answers the main thread's requests in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { onSpaceWait } from '../../fsm/wait-for-space.js';
import type { EngineSpaceWait } from './engine-messages.js';
import { hostEngine } from './engine-host.js';
import { SqlEngine, type SqlEngineOptions } from './sql-engine.js';

const port = parentPort;
if (port === null) throw new Error('engine-worker runs only as a worker thread');
const handle = hostEngine(new SqlEngine(workerData as SqlEngineOptions), (message, transfer) =>
  port.postMessage(message, transfer),
);
// Posted before the thread blocks, so the main thread hears it while the wait lasts.
onSpaceWait((waiting) => {
  const message: EngineSpaceWait = { id: -2, waiting };
  port.postMessage(message);
});
port.on('message', handle);
