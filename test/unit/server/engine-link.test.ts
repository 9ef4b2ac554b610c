// The main thread's link to the SQL engine keeps the order of requests, including those held
// until the next message (holdUntilNext): a proposal's index must reach the engine before that
// entry's apply, and before anything else sent after it.
import type { TransferListItem } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EngineLink, engineShared, type EnginePort } from '../../../src/server/sql/engine-link.js';
import type { EngineRequest } from '../../../src/server/sql/engine-messages.js';
import { ValueType, type WireValue } from '../../../src/wire/index.js';

/** A port that records what reaches the engine and answers every numbered request at once. */
function recordingPort(): {
  port: EnginePort;
  sent: EngineRequest[];
  moved: TransferListItem[][];
} {
  const sent: EngineRequest[] = [];
  const moved: TransferListItem[][] = [];
  const listeners: ((message: unknown) => void)[] = [];
  const port = {
    postMessage: (message: EngineRequest, transfer: TransferListItem[]) => {
      sent.push(message);
      moved.push(transfer);
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
  return { port, sent, moved };
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

  it('moves each BLOB parameter in a buffer of its own, leaving the caller its bytes', async () => {
    // A parameter is a view into its request's frame: cloned, the view would take the whole
    // frame with it; moved, the frame would be gone for whatever else reads it.
    const frame = Buffer.alloc(1 << 20, 7);
    frame.set([1, 2, 3], 4096);
    const blob = frame.subarray(4096, 4099);
    const parameters: WireValue[] = [
      { type: ValueType.INTEGER, value: 5n },
      { type: ValueType.BLOB, value: blob },
      { type: ValueType.TEXT, value: 'x' },
    ];
    const { port, sent, moved } = recordingPort();
    await linkOver(port).call({ op: 'exec', session: 1, statement: 2, parameters });
    const request = sent[0] as Extract<EngineRequest, { op: 'exec' | 'query' }>;
    const sentBlob = request.parameters[1]?.value as Uint8Array;
    expect([...sentBlob]).toEqual([1, 2, 3]);
    expect(sentBlob.buffer.byteLength).toBe(3);
    expect(moved[0]).toEqual([sentBlob.buffer]);
    expect(request.parameters[0]).toBe(parameters[0]);
    expect(request.parameters[2]).toBe(parameters[2]);
    expect(blob.buffer).toBe(frame.buffer); // the caller's view still reads its frame
  });

  it('sends requests without BLOB parameters as they are, moving nothing', async () => {
    const { port, sent, moved } = recordingPort();
    const parameters: WireValue[] = [{ type: ValueType.TEXT, value: 'x' }];
    await linkOver(port).call({ op: 'query-sql', session: 1, sql: 'SELECT ?', parameters });
    expect((sent[0] as Extract<EngineRequest, { op: 'exec-sql' | 'query-sql' }>).parameters).toBe(
      parameters,
    );
    expect(moved[0]).toEqual([]);
  });

  it('shares bytes in a SharedArrayBuffer (a large frame received) instead of copying them', async () => {
    const frame = Buffer.from(new SharedArrayBuffer(1 << 20));
    const blob = frame.subarray(100, 200);
    const { port, sent, moved } = recordingPort();
    const link = linkOver(port);
    await link.call({
      op: 'exec-sql',
      session: 1,
      sql: 'INSERT INTO t VALUES (?)',
      parameters: [{ type: ValueType.BLOB, value: blob }],
    });
    link.post({ op: 'apply', index: 1, term: 1, type: 1, data: frame.subarray(300, 400) });
    const request = sent[0] as Extract<EngineRequest, { op: 'exec-sql' | 'query-sql' }>;
    expect(request.parameters[0]?.value).toBe(blob);
    expect((sent[1] as Extract<EngineRequest, { op: 'apply' }>).data.buffer).toBe(frame.buffer);
    expect(moved).toEqual([[], []]);
  });
});
