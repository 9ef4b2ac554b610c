import type { TransferListItem } from 'node:worker_threads';
import {
  unansweredId,
  type EngineFatal,
  type EngineReply,
  type EngineRequest,
} from './engine-messages.js';
import type { SqlEngine } from './sql-engine.js';
import { transferableBuffers } from './transfer-list.js';

/** Sends one message to the main thread, moving the listed buffers. */
export type SendToMain = (message: EngineReply | EngineFatal, transfer: TransferListItem[]) => void;

/**
 * The engine's side of the link: takes requests in order and answers them through `send`. An
 * error the engine does not turn into a FAILURE reply is a broken invariant (an apply or restore
 * that failed): it reports it once and takes no more requests. The worker thread runs it in
 * production, and the whole-node simulator in the test's own thread, so both run this code.
 */
export function hostEngine(engine: SqlEngine, send: SendToMain): (request: EngineRequest) => void {
  let broken = false;
  /** The engine cannot go on: say why once and take no more requests. */
  const fail = (why: string) => {
    broken = true;
    send({ id: -1, fatal: why }, []);
  };
  return (request) => {
    if (broken) return;
    try {
      engine.handle(request, (reply: EngineReply) => {
        if (reply.id !== unansweredId) send(reply, transfersOf(reply));
        else if (!reply.outcome.ok) fail(`${request.op}: ${reply.outcome.message}`);
        // After its answer (a failure): the files hold a change nothing replicated.
        if (reply.unproven !== undefined) fail(reply.unproven);
      });
    } catch (error) {
      fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
  };
}

function transfersOf(reply: EngineReply): TransferListItem[] {
  const value = reply.outcome.ok ? reply.outcome.value : undefined;
  const arrays: (Uint8Array | undefined)[] = [...reply.proposals];
  if (value !== undefined && 'rows' in value) arrays.push(value.rows);
  return transferableBuffers(arrays);
}
