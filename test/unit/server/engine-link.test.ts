// The main thread's link to the SQL engine keeps the order of requests, including those held
// until the next message (holdUntilNext): a proposal's index must reach the engine before that
// entry's apply, and before anything else sent after it.
import { describe, expect, it } from 'vitest';
import { EngineLink, engineShared, type EnginePort } from '../../../src/server/sql/engine-link.js';
import type { EngineRequest } from '../../../src/server/sql/engine-messages.js';

/** A port that records what reaches the engine and answers every numbered request at once. */
function recordingPort(): { port: EnginePort; sent: EngineRequest[] } {
  const sent: EngineRequest[] = [];
  const listeners: ((message: unknown) => void)[] = [];
  const port = {
    postMessage: (message: EngineRequest) => {
      sent.push(message);
      if (message.id > 0) {
        queueMicrotask(() => {
          for (const listener of listeners) {
            listener({ id: message.id, outcome: { ok: true, value: undefined } });
          }
        });
      }
    },
    on: (event: string, listener: (message: unknown) => void) => {
      if (event === 'message') listeners.push(listener);
    },
    terminate: async () => 0,
  } as unknown as EnginePort;
  return { port, sent };
}

function linkOver(port: EnginePort): EngineLink {
  return new EngineLink(
    port,
    (error) => {
      throw error;
    },
    engineShared(),
    undefined,
  );
}

describe('EngineLink', () => {
  it('sends held requests only with the next one, first and in the order held', () => {
    const { port, sent } = recordingPort();
    const link = linkOver(port);
    link.holdUntilNext({ op: 'proposed', index: 7, term: 2 });
    link.holdUntilNext({ op: 'proposed', index: 8, term: 2 });
    expect(sent).toEqual([]);
    link.post({ op: 'step-down' });
    expect(sent.map((request) => request.op)).toEqual(['proposed', 'proposed', 'step-down']);
    expect(sent.slice(0, 2).map((request) => 'index' in request && request.index)).toEqual([7, 8]);
    link.post({ op: 'step-down' });
    expect(sent).toHaveLength(4); // nothing held is sent twice
  });

  it('sends them ahead of a call too, and the call still gets its answer', async () => {
    const { port, sent } = recordingPort();
    const link = linkOver(port);
    link.holdUntilNext({ op: 'proposed', index: 3, term: 1 });
    const reply = await link.call({ op: 'snapshot' });
    expect(reply.outcome.ok).toBe(true);
    expect(sent.map((request) => request.op)).toEqual(['proposed', 'snapshot']);
  });
});
