import { ResponseType, decodeResponse, encodeRequest } from '../../src/wire/index.js';
import type { Frame, Request, RowsResponse } from '../../src/wire/index.js';
import type { Connection, Exchange } from './connection.js';
import { ConnectionError, errorFromFailure } from './errors.js';

/**
 * Batches read ahead of the consumer before the socket is paused. The node pushes every batch
 * of a result without being asked (§7); pausing leaves the rest in TCP buffers, so a slow
 * consumer of a huge result holds a bounded amount of memory.
 */
export const BATCHES_BUFFERED_MAX = 8;

type State = 'streaming' | 'interrupting' | 'finished';

/**
 * The exchange of one QUERY or QUERY_SQL: an async iterator over its ROWS batches. Stopping
 * early (break, return or throw in a for-await loop) sends INTERRUPT and discards what the node
 * still sends until it answers EMPTY, so the connection stays usable (§6.1 INTERRUPT).
 */
export class BatchStream implements Exchange, AsyncIterableIterator<RowsResponse> {
  readonly message: Buffer;
  readonly request: string;
  readonly timeoutMs: number;
  readonly #connection: Connection;
  readonly #db: number;
  readonly #batches: RowsResponse[] = [];
  #state: State = 'streaming';
  #error: Error | undefined;
  #paused = false;
  #wake: (() => void) | undefined;
  #settled: Promise<void>;
  #settle!: () => void;

  /** Turns a node's failure into the error the consumer sees (see explainFailure). */
  readonly #explain: (error: Error) => Promise<Error>;

  constructor(
    connection: Connection,
    request: Request & { db: number | bigint },
    timeoutMs: number,
    explain: (error: Error) => Promise<Error> = async (error) => error,
  ) {
    this.#explain = explain;
    this.message = encodeRequest(request);
    this.request = request.type;
    this.timeoutMs = timeoutMs;
    this.#connection = connection;
    this.#db = Number(request.db);
    this.#settled = new Promise((resolve) => (this.#settle = resolve));
    connection.enqueue(this);
  }

  onFrame(frame: Frame): boolean {
    if (this.#state === 'interrupting') return this.#onFrameWhileInterrupting(frame);
    const response = decodeResponse(frame);
    if (response.type === 'FAILURE') {
      const origin = { address: this.#connection.address, request: this.request };
      return this.#finish(errorFromFailure(response.code, response.message, origin));
    }
    if (response.type !== 'ROWS') {
      return this.#finish(
        new ConnectionError(
          `unexpected ${response.type} response to a query`,
          this.#connection.address,
          {
            request: this.request,
          },
        ),
      );
    }
    this.#batches.push(response);
    if (this.#batches.length >= BATCHES_BUFFERED_MAX && !this.#paused) {
      this.#paused = true;
      this.#connection.pause();
    }
    this.#wakeConsumer();
    return response.more ? false : this.#finish(undefined);
  }

  fail(error: Error): void {
    if (this.#state === 'finished') return;
    this.#finish(error);
  }

  async next(): Promise<IteratorResult<RowsResponse>> {
    while (true) {
      const batch = this.#batches.shift();
      if (batch) {
        this.#resumeIfDrained();
        return { value: batch, done: false };
      }
      if (this.#error) throw await this.#explain(this.#error);
      if (this.#state !== 'streaming') return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Called when the consumer stops early: interrupt the query and drain what remains. */
  async return(): Promise<IteratorResult<RowsResponse>> {
    this.#batches.length = 0;
    if (this.#state === 'streaming') {
      this.#state = 'interrupting';
      this.#connection.writeRaw(encodeRequest({ type: 'INTERRUPT', db: BigInt(this.#db) }));
      this.#resumeIfDrained();
      await this.#settled;
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** After INTERRUPT: drop ROWS, then EMPTY (or a FAILURE) ends the exchange. */
  #onFrameWhileInterrupting(frame: Frame): boolean {
    if (frame.type === ResponseType.ROWS) return false;
    return this.#finish(undefined);
  }

  #finish(error: Error | undefined): true {
    this.#state = 'finished';
    this.#error ??= error;
    this.#resumeIfDrained();
    this.#wakeConsumer();
    this.#settle();
    return true;
  }

  #resumeIfDrained(): void {
    if (this.#paused && this.#batches.length < BATCHES_BUFFERED_MAX) {
      this.#paused = false;
      this.#connection.resume();
    }
  }

  #wakeConsumer(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
