import type net from 'node:net';
import {
  ErrorCode,
  FrameDecoder,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_LEGACY,
  ProtocolError,
  RequestType,
  decodeRequest,
  encodeResponse,
  requestTypeName,
  type Frame,
  type Request,
  type Response,
} from '../wire/index.js';
import {
  SessionGateway,
  emptyResponse,
  failureResponse,
  type GatewayContext,
} from './session-gateway.js';
import { sharedBytesMin } from '../wire/shared-bytes.js';
import type { RequestObserver } from './request-observer.js';
import type { EngineOutcome, RowsValue } from './sql/engine-messages.js';

export interface ClientSessionContext extends GatewayContext {
  /** Largest request accepted (header + body). */
  readonly messageBytesMax: number;
  /** Requests a client may pipeline before the session stops reading from it. */
  readonly queuedRequestsMax: number;
  /**
   * The connection closes when nothing was read or written for this long and no request is
   * running in the engine (a query waiting for the client to read its rows counts as idle).
   * 0: never.
   */
  readonly idleTimeoutMs: number;
  /** Told of each request answered and each FAILURE sent (the node's metrics); default none. */
  readonly observer?: RequestObserver;
}

/**
 * One client connection (dqlite's "conn"): reads requests in order and writes what its
 * SessionGateway answers (docs/wire-protocol.md). A request of an unknown type or with a bad body
 * gets a FAILURE and the connection goes on, where dqlite 1.11 wedges or closes. One request runs
 * at a time; a query's rows stream batch by batch, and an INTERRUPT that arrives meanwhile stops
 * it.
 */
export class ClientSession {
  readonly #socket: net.Socket;
  readonly #context: ClientSessionContext;
  readonly #decoder: FrameDecoder;
  readonly #gateway: SessionGateway;
  readonly #queue: Frame[] = [];
  #legacy = false;
  #busy = false;
  #streaming = false;
  /** A query's rows wait for the client to read the ones already written. */
  #awaitingDrain = false;
  #interruptsPending = 0;
  #closed = false;

  constructor(socket: net.Socket, firstBytes: Buffer, context: ClientSessionContext) {
    this.#socket = socket;
    this.#context = context;
    this.#gateway = new SessionGateway(context);
    this.#decoder = new FrameDecoder({
      expectHandshake: true,
      messageBytesMax: context.messageBytesMax,
      sharedFrameBytes: sharedBytesMin,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#received(chunk));
    socket.on('error', () => socket.destroy()); // the close handler below cleans up
    socket.on('close', () => this.#onClose());
    if (context.idleTimeoutMs > 0) {
      socket.setTimeout(context.idleTimeoutMs);
      socket.on('timeout', () => this.#onIdle());
    }
    this.#received(firstBytes);
    socket.resume();
  }

  #received(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      this.#decoder.push(chunk, {
        handshake: (version) => this.#handshake(version),
        frame: (frame) => this.#frame(frame),
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fail(ErrorCode.DQLITE_PARSE, error.message, true);
    }
  }

  #handshake(version: bigint): void {
    if (version === PROTOCOL_VERSION) return;
    if (version === PROTOCOL_VERSION_LEGACY) {
      this.#legacy = true;
      return;
    }
    // As dqlite: an unknown protocol version gets no answer, the connection just closes.
    this.#closed = true;
    this.#socket.destroy();
  }

  #frame(frame: Frame): void {
    if (this.#closed) return;
    if (this.#streaming && frame.type === RequestType.INTERRUPT) {
      this.#interruptsPending += 1;
      return;
    }
    this.#queue.push(frame);
    if (this.#queue.length >= this.#context.queuedRequestsMax) this.#socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let frame = this.#queue.shift(); frame !== undefined; frame = this.#queue.shift()) {
        if (this.#closed) return;
        if (this.#socket.isPaused() && this.#queue.length < this.#context.queuedRequestsMax) {
          this.#socket.resume();
        }
        await this.#handle(frame).catch((error: unknown) => {
          // Not the client's doing (the node is stopping, or a bug): say so, and end this
          // connection rather than the node.
          const message = error instanceof Error ? error.message : String(error);
          this.#fail(ErrorCode.SQLITE_ERROR, `internal error: ${message}`, true);
        });
      }
    } finally {
      this.#busy = false;
    }
  }

  async #handle(frame: Frame): Promise<void> {
    let request: Request;
    try {
      request = decodeRequest(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // The frame was read whole, so the stream is intact: answer and go on (dqlite 1.11 wedges
      // on an unknown type and closes on a bad body).
      const unknownType = requestTypeName(frame.type) === undefined;
      const message = unknownType ? `unrecognized request type ${frame.type}` : error.message;
      this.#fail(ErrorCode.DQLITE_PARSE, message, false);
      return;
    }
    const observer = this.#context.observer;
    const startedMs = observer === undefined ? 0 : performance.now();
    const answer = await this.#gateway.answer(request, this.#legacy);
    switch (answer.kind) {
      case 'response':
        this.#write(answer.response);
        break;
      case 'rows':
        await this.#streamRows(answer.first);
        break;
      case 'close':
        this.#fail(answer.code, answer.message, true);
        break;
    }
    observer?.answered(frame.type, (performance.now() - startedMs) / 1000);
  }

  /**
   * Writes a query's ROWS messages as the engine produces them, asking for more only once the
   * socket took the last ones. An INTERRUPT that arrived meanwhile stops the query after the
   * messages already written; it is then answered EMPTY, as dqlite answers it after the rows.
   */
  async #streamRows(first: EngineOutcome): Promise<void> {
    const engine = this.#context.engine;
    const session = this.#context.sessionId;
    this.#streaming = true;
    try {
      let outcome = first;
      for (;;) {
        if (!outcome.ok) {
          this.#write(failureResponse(outcome));
          break;
        }
        const { rows, done } = outcome.value as RowsValue;
        const drained = this.#socket.write(rows);
        if (done) break;
        if (this.#interruptsPending > 0 || this.#closed) {
          await engine.local({ op: 'interrupt', session });
          break;
        }
        if (!drained) await this.#drained();
        if (this.#closed) {
          await engine.local({ op: 'interrupt', session });
          break;
        }
        outcome = await engine.execute({ op: 'more-rows', session });
      }
    } finally {
      this.#streaming = false;
    }
    for (; this.#interruptsPending > 0; this.#interruptsPending--) this.#write(emptyResponse());
  }

  /** Resolves when the socket took what was written, or closed. */
  async #drained(): Promise<void> {
    this.#awaitingDrain = true;
    try {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#socket.off('drain', done);
          this.#socket.off('close', done);
          resolve();
        };
        this.#socket.on('drain', done);
        this.#socket.on('close', done);
      });
    } finally {
      this.#awaitingDrain = false;
    }
  }

  /**
   * Nothing moved on the socket for idleTimeoutMs. A request still running in the engine (a long
   * query, a write waiting for the lock) is not idleness: its answer is activity and re-arms the
   * timer. Anything else (a silent client, half a request, rows nobody reads) ends the connection.
   */
  #onIdle(): void {
    if (this.#closed) return;
    if (this.#busy && !this.#awaitingDrain) return;
    this.#closed = true;
    this.#socket.destroy();
  }

  #write(response: Response): void {
    if (this.#closed) return;
    if (response.type === 'FAILURE') this.#context.observer?.failed(response.code);
    this.#socket.write(encodeResponse(response));
  }

  /** Answers FAILURE; with `close`, the stream cannot be trusted and the connection ends. */
  #fail(code: number, message: string, close: boolean): void {
    this.#write(failureResponse({ code, message }));
    if (close) {
      this.#closed = true;
      this.#socket.end();
    }
  }

  #onClose(): void {
    this.#closed = true;
    this.#queue.length = 0;
    void this.#context.engine.local({ op: 'close', session: this.#context.sessionId }).catch(() => {
      // The engine is stopping with the node; nothing is left to release.
    });
  }
}
