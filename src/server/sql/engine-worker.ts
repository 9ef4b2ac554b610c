/**
 * Entry point of the SQL engine's worker thread: it hosts one SqlEngine and answers the main
 * thread's requests in order. An error the engine does not turn into a FAILURE reply is a broken
 * invariant (an apply or restore that failed): the worker reports it and stops taking requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { onSpaceWait } from '../../fsm/wait-for-space.js';
import {
  unansweredId,
  type EngineFatal,
  type EngineReply,
  type EngineRequest,
  type EngineSpaceWait,
} from './engine-messages.js';
import { SqlEngine, type SqlEngineOptions } from './sql-engine.js';
import { transferableBuffers } from './transfer-list.js';

const port = parentPort;
if (port === null) throw new Error('engine-worker runs only as a worker thread');
const engine = new SqlEngine(workerData as SqlEngineOptions);
let broken = false;
// Posted before the thread blocks, so the main thread hears it while the wait lasts.
onSpaceWait((waiting) => {
  const message: EngineSpaceWait = { id: -2, waiting };
  port.postMessage(message);
});

port.on('message', (request: EngineRequest) => {
  if (broken) return;
  try {
    engine.handle(request, (reply: EngineReply) => {
      if (reply.id !== unansweredId) port.postMessage(reply, transfersOf(reply));
      else if (!reply.outcome.ok) fail(`${request.op}: ${reply.outcome.message}`);
      // After its answer (a failure): the files hold a change nothing replicated.
      if (reply.unproven !== undefined) fail(reply.unproven);
    });
  } catch (error) {
    fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
});

/** The engine cannot go on: say why once and take no more requests. */
function fail(why: string): void {
  broken = true;
  const fatal: EngineFatal = { id: -1, fatal: why };
  port?.postMessage(fatal);
}

function transfersOf(reply: EngineReply) {
  const value = reply.outcome.ok ? reply.outcome.value : undefined;
  const arrays: (Uint8Array | undefined)[] = [...reply.proposals];
  if (value !== undefined && 'rows' in value) arrays.push(value.rows);
  return transferableBuffers(arrays);
}
