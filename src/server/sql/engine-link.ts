import { Worker, type TransferListItem } from 'node:worker_threads';
import {
  unansweredId,
  type EngineCall,
  type EngineFatal,
  type EngineReply,
  type EngineRequest,
  type EngineSpaceWait,
  type EngineValue,
} from './engine-messages.js';
import type { SqlEngineOptions } from './sql-engine.js';
import type { WireValue } from '../../wire/index.js';
import { WriterReplies } from './writer-replies.js';

/**
 * How the link reaches the engine: a worker thread in production, the simulator's in-thread host
 * (with its own latencies) in the whole-node simulation. Messages go in order each way.
 */
export interface EnginePort {
  postMessage(message: EngineRequest, transfer: TransferListItem[]): void;
  on(
    event: 'message',
    listener: (message: EngineReply | EngineFatal | EngineSpaceWait) => void,
  ): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  terminate(): Promise<unknown>;
}

/** What the main thread and the engine share: SqlEngineOptions.writers and .leading. */
export interface EngineShared {
  readonly writers: Int32Array;
  readonly leading: Int32Array;
}

/** Two shared counters, for a new link and the engine it talks to. */
export function engineShared(): EngineShared {
  return {
    writers: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)),
    leading: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)),
  };
}

export interface EngineLinkOptions extends SqlEngineOptions {
  /** The engine broke an invariant and stopped; the node must stop too. */
  readonly onFatal: (error: Error) => void;
  /** The engine waits for disk space before it can go on (why), or stopped waiting (undefined). */
  readonly onSpaceWait?: (waiting: string | undefined) => void;
}

/**
 * The main thread's handle on the SQL engine: numbered requests, replies matched by id. Requests
 * reach the engine in the order `call` is invoked (one message port, FIFO), which the node relies
 * on: an entry posted for apply is applied before any query posted after it runs.
 */
export class EngineLink {
  readonly #waiting = new Map<number, (reply: EngineReply) => void>();
  readonly #worker: EnginePort;
  readonly #onFatal: (error: Error) => void;
  readonly #writers: Int32Array;
  readonly #leading: Int32Array;
  readonly #writerReplies = new WriterReplies();
  /** Requests held by `holdUntilNext`, in order. */
  #held: EngineRequest[] = [];
  #nextId = 1;
  #failed: Error | undefined;

  /** A link over `worker`, whose engine was given `shared`'s counters. */
  constructor(
    worker: EnginePort,
    onFatal: (error: Error) => void,
    shared: EngineShared,
    onSpaceWait: ((waiting: string | undefined) => void) | undefined,
  ) {
    this.#worker = worker;
    this.#onFatal = onFatal;
    this.#writers = shared.writers;
    this.#leading = shared.leading;
    worker.on('message', (message: EngineReply | EngineFatal | EngineSpaceWait) => {
      if ('fatal' in message) this.#fail(new Error(`SQL engine: ${message.fatal}`));
      else if ('waiting' in message) onSpaceWait?.(message.waiting);
      else this.#received(message);
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) =>
      this.#fail(new Error(`SQL engine worker exited with code ${code}`)),
    );
  }

  static start(options: EngineLinkOptions): EngineLink {
    const { onFatal, onSpaceWait, ...engineOptions } = options;
    const shared = engineShared();
    return new EngineLink(
      startWorker({ ...engineOptions, ...shared }),
      onFatal,
      shared,
      onSpaceWait,
    );
  }

  /** The leadership epoch whose 'lead' the engine has handled (SqlEngineOptions.leading). */
  get engineLeadingEpoch(): number {
    return Atomics.load(this.#leading, 0);
  }

  /** The number of the last request that began a statement able to write (engine's count). */
  get writersStarted(): number {
    return Atomics.load(this.#writers, 0);
  }

  /** The caller took the reply of a request and acted on its proposals. */
  tookWriter(reply: EngineReply): void {
    this.#writerReplies.took(reply.writer);
  }

  /**
   * Resolves once the replies of writers 1..`through` were all taken; undefined when they
   * already were.
   */
  writersTaken(through: number): Promise<void> | undefined {
    return this.#writerReplies.taken(through);
  }

  /** Sends a request; resolves with the engine's reply (FAILUREs included). */
  call(call: EngineCall): Promise<EngineReply> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#send({ ...call, id } as EngineRequest);
    });
  }

  /**
   * Sends a request that needs no answer (an apply, a step-down): the engine replies only if it
   * fails, as a fatal error, so the hot path costs one message instead of two.
   */
  post(call: EngineCall): void {
    if (this.#failed !== undefined) return;
    this.#send({ ...call, id: unansweredId } as EngineRequest);
  }

  /**
   * Queues a request that needs no answer and that the engine needs only before whatever it is
   * sent next (a proposal's index, needed by that entry's apply): it goes out just ahead of the
   * next `call` or `post`, in the order held. A message on its own wakes the engine's thread;
   * riding with the next one it costs no wake-up.
   */
  holdUntilNext(call: EngineCall): void {
    if (this.#failed !== undefined) return;
    this.#held.push({ ...call, id: unansweredId } as EngineRequest);
  }

  #send(request: EngineRequest): void {
    // Whatever was held goes first: requests reach the engine in the order they were made.
    if (this.#held.length > 0) {
      const held = this.#held;
      this.#held = [];
      for (const note of held) this.#worker.postMessage(...compact(note));
    }
    this.#worker.postMessage(...compact(request));
  }

  async close(): Promise<void> {
    this.#failed ??= new Error('the SQL engine was stopped');
    await this.#worker.terminate();
  }

  #received(reply: EngineReply): void {
    const resolve = this.#waiting.get(reply.id);
    this.#waiting.delete(reply.id);
    resolve?.(reply);
  }

  #fail(error: Error): void {
    if (this.#failed !== undefined) return;
    this.#failed = error;
    this.#waiting.clear();
    this.#onFatal(error);
  }
}

/** The value of a successful reply, typed by what the caller knows the op returns. */
export function valueOf<T extends EngineValue>(reply: EngineReply): T {
  if (!reply.outcome.ok) throw new Error(`engine failure: ${reply.outcome.message}`);
  return reply.outcome.value as T;
}

/**
 * Starts the worker. From compiled JavaScript it loads engine-worker.js directly; from
 * TypeScript sources (tests, tsx) it loads engine-worker.ts through tsx's loader.
 */
function startWorker(options: SqlEngineOptions): Worker {
  const self = import.meta.url;
  if (self.endsWith('.js')) {
    return new Worker(new URL('./engine-worker.js', self), { workerData: options });
  }
  const workerUrl = new URL('./engine-worker.ts', self).href;
  const tsxApiUrl = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then((api) => api.tsImport(${JSON.stringify(workerUrl)}, ${JSON.stringify(self)}));`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}

/**
 * The message and what to move or share with it. Bytes often sit in a view into a much larger
 * buffer (an entry in a log segment read at start or in a network frame carrying many entries, a
 * BLOB parameter in its request's frame or in Node's 8 KiB pool), and the structured clone of a
 * view serializes its whole buffer, then copies it again on the other side: 235 ms of the main
 * thread for one 64 MB parameter, most of an election timeout. So:
 * - bytes in a SharedArrayBuffer (a large frame the node received: nodeSharedFrameBytes) go as
 *   they are, and the engine reads the same memory; nothing writes a received frame again;
 * - other bytes are copied out once, into a buffer of their own, and that copy is moved; never
 *   the original buffer, which replication or the rest of the frame still reads.
 */
function compact(request: EngineRequest): [EngineRequest, TransferListItem[]] {
  const moved: ArrayBuffer[] = [];
  const passable = (view: Uint8Array): Uint8Array => {
    if (view.buffer instanceof SharedArrayBuffer) return view;
    const copy = ownCopy(view);
    moved.push(copy.buffer);
    return copy;
  };
  if (request.op === 'apply' || request.op === 'restore-chunk') {
    return [{ ...request, data: passable(request.data) }, moved];
  }
  if ('parameters' in request && request.parameters.some(isBlob)) {
    const parameters = request.parameters.map((parameter): WireValue =>
      isBlob(parameter) ? { type: parameter.type, value: passable(parameter.value) } : parameter,
    );
    return [{ ...request, parameters }, moved];
  }
  return [request, moved];
}

function isBlob(value: WireValue): value is Extract<WireValue, { value: Uint8Array }> {
  return value.value instanceof Uint8Array;
}

/**
 * The bytes of `view` in an ArrayBuffer of their own. Never Buffer's slice(), which is a view of
 * the same buffer. Allocated, then set: `new Uint8Array(view)` copies element by element, five
 * times slower.
 */
function ownCopy(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return copy;
}
