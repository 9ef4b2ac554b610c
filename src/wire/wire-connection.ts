import type net from 'node:net';
import { PROTOCOL_VERSION } from './codes.js';
import {
  ConnectionError,
  HandshakeError,
  NotDqliteError,
  TimeoutError,
} from './connection-error.js';
import { certificateRefused, dial } from './dial.js';
import type { WireEndpoint } from './dial.js';
import { FrameDecoder } from './frame.js';
import type { Frame, FrameSink } from './frame.js';
import { encodeHandshake } from './handshake.js';
import { ProtocolError } from './protocol-error.js';
import { encodeRequest } from './requests.js';
import type { Request } from './requests.js';
import { decodeResponse } from './responses.js';
import type { Response, ResponseContext } from './responses.js';
import type { TlsOptions } from './tls-options.js';

/** Limits and timeouts of one connection to one node. */
export interface WireConnectionOptions {
  /** Time allowed for the connection to open, the TLS handshake included. */
  readonly connectTimeoutMs: number;
  /** Largest response message accepted; a bigger one closes the connection. */
  readonly messageBytesMax: number;
  /** Requests that may wait behind the one in flight before new ones are refused. */
  readonly queueLengthMax: number;
  /** Handshake word; the legacy one makes LEADER answer SERVER_LEGACY. */
  readonly protocolVersion?: bigint;
  /** Mutual TLS with these (checked beforehand, as connect and createNode do); default plain TCP. */
  readonly tls?: TlsOptions;
}

/**
 * One request/response conversation on the connection. The connection calls `onFrame` for each
 * response frame while the exchange is current, and `fail` if the connection dies first.
 */
export interface Exchange {
  /** The encoded request, written when the exchange becomes current. */
  readonly message: Buffer;
  /** The request's name, for error texts. */
  readonly request: string;
  /** Longest wait for each response frame; exceeding it closes the connection. */
  readonly timeoutMs: number;
  /** Handles one response frame; returns true when no more frames belong to this exchange. */
  onFrame(frame: Frame): boolean;
  fail(error: Error): void;
}

/**
 * A handshaked socket to one node that carries one request at a time: the node reads the next
 * request only after answering the current one (docs/wire-protocol.md §4), so further calls wait in a
 * bounded FIFO queue. When the socket dies, every waiting request fails at once, with a
 * ConnectionError that says why (connection-error.ts).
 *
 * The one Dqlite connection of the project: the client's connections to the cluster are these,
 * and so are the node's when it asks another node something (src/server/cluster-client.ts).
 * @internal
 */
export class WireConnection {
  readonly address: string;
  readonly legacy: boolean;
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder;
  readonly #queueLengthMax: number;
  readonly #queue: Exchange[] = [];
  #current: Exchange | undefined;
  /**
   * One timer per connection, re-armed with refresh() on each frame and unref'd while idle:
   * creating and clearing a timer per frame costs more than the rest of a small query.
   */
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;
  readonly #sink: FrameSink = { frame: (frame) => this.#dispatch(frame) };
  /** Why the connection closed; set once, then every request fails with it. */
  #closedBy: CloseReason | undefined;
  /** The node sent something: it took the connection (a refusal comes before any answer). */
  #answered = false;
  /** Complete messages received; none means the peer never spoke Dqlite. */
  #framesReceived = 0;
  /** The start of the first bytes received, quoted when they are not Dqlite. */
  #firstBytes: Buffer | undefined;

  private constructor(address: string, socket: net.Socket, options: WireConnectionOptions) {
    this.address = address;
    this.legacy = (options.protocolVersion ?? PROTOCOL_VERSION) !== PROTOCOL_VERSION;
    this.#socket = socket;
    this.#decoder = new FrameDecoder({ messageBytesMax: options.messageBytesMax });
    this.#queueLengthMax = options.queueLengthMax;
    const overTls = options.tls !== undefined;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) =>
      this.#destroy(
        this.#answered
          ? { message: `socket error: ${error.message}`, cause: error }
          : refusal(overTls, error),
      ),
    );
    socket.on('close', () =>
      this.#destroy(
        this.#answered ? { message: 'connection closed by the node' } : refusal(overTls),
      ),
    );
  }

  /**
   * Opens a TCP, Unix socket or TLS connection to the node at `address`, dialled at `endpoint`
   * (each caller parses addresses its own way), and sends the protocol version word. Fails as
   * `dial` says.
   */
  static async open(
    address: string,
    endpoint: WireEndpoint,
    options: WireConnectionOptions,
  ): Promise<WireConnection> {
    const socket = await dial(address, endpoint, options);
    socket.setNoDelay(true); // one small request at a time: Nagle would only add latency (§4)
    const connection = new WireConnection(address, socket, options);
    socket.write(encodeHandshake(options.protocolVersion ?? PROTOCOL_VERSION));
    return connection;
  }

  get isOpen(): boolean {
    return this.#closedBy === undefined;
  }

  /** Sends a request that has exactly one response frame and decodes it. */
  request(request: Request, timeoutMs: number, context: ResponseContext = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const fullContext = { legacy: this.legacy, ...context };
      this.enqueue({
        message: encodeRequest(request),
        request: request.type,
        timeoutMs,
        onFrame: (frame) => {
          resolve(decodeResponse(frame, fullContext));
          return true;
        },
        fail: reject,
      });
    });
  }

  /** Queues an exchange; it starts once every earlier one has finished. */
  enqueue(exchange: Exchange): void {
    if (this.#closedBy) {
      exchange.fail(this.#errorFor(exchange, this.#closedBy, false));
      return;
    }
    if (this.#queue.length >= this.#queueLengthMax) {
      exchange.fail(
        new ConnectionError(
          `${this.#queueLengthMax} requests already queued on this connection`,
          this.address,
          {
            request: exchange.request,
          },
        ),
      );
      return;
    }
    this.#queue.push(exchange);
    if (!this.#current) this.#startNext();
  }

  /** Writes extra bytes for the current exchange (INTERRUPT while a query streams). */
  writeRaw(message: Buffer): void {
    if (!this.#closedBy) this.#socket.write(message);
  }

  /** Stops reading from the socket: the node's pushes then wait in TCP buffers. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** Closes the socket; waiting requests fail with a ConnectionError. Idempotent. */
  close(): void {
    this.#destroy({ message: 'connection closed by the client' });
  }

  #startNext(): void {
    const next = this.#queue.shift();
    this.#current = next;
    if (!next) {
      this.#idleTimer();
      return;
    }
    this.#armTimer(next);
    this.#socket.write(next.message);
  }

  #armTimer(exchange: Exchange): void {
    if (this.#timer && this.#timerMs === exchange.timeoutMs) {
      this.#timer.refresh().ref();
      return;
    }
    clearTimeout(this.#timer);
    this.#timerMs = exchange.timeoutMs;
    this.#timer = setTimeout(() => this.#onTimeout(), exchange.timeoutMs);
  }

  /** Idle: the timer may still fire, but finds nothing to time out and keeps no process alive. */
  #idleTimer(): void {
    this.#timer?.unref();
  }

  #onTimeout(): void {
    const exchange = this.#current;
    if (!exchange) return;
    const message = `no answer within ${exchange.timeoutMs} ms`;
    this.#destroy({ message, timedOut: true });
  }

  #receive(chunk: Buffer): void {
    this.#answered = true;
    this.#firstBytes ??= Buffer.from(chunk.subarray(0, FIRST_BYTES_QUOTED));
    try {
      this.#decoder.push(chunk, this.#sink);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (this.#framesReceived === 0) {
        // Nothing this peer sent was ever a Dqlite message: it is something else.
        const sent = quoteBytes(this.#firstBytes);
        this.#destroy({
          message: `the peer does not speak the Dqlite protocol: it answered ${sent}`,
          cause: error,
          notDqlite: true,
        });
        return;
      }
      this.#destroy({ message: `protocol error: ${error.message}`, cause: error });
    }
  }

  #dispatch(frame: Frame): void {
    this.#framesReceived++;
    const exchange = this.#current;
    if (!exchange) {
      throw new ProtocolError('malformed', `unsolicited response of type ${frame.type}`);
    }
    this.#armTimer(exchange);
    if (!exchange.onFrame(frame)) return;
    this.#startNext();
  }

  #destroy(reason: CloseReason): void {
    if (this.#closedBy) return;
    this.#closedBy = reason;
    clearTimeout(this.#timer);
    this.#socket.destroy();
    const current = this.#current;
    const queued = [...this.#queue];
    this.#current = undefined;
    this.#queue.length = 0;
    if (current) current.fail(this.#errorFor(current, reason, true));
    for (const exchange of queued) exchange.fail(this.#errorFor(exchange, reason, false));
  }

  /** The error one exchange gets: only the one in flight was sent, and only it can time out. */
  #errorFor(exchange: Exchange, reason: CloseReason, requestSent: boolean): ConnectionError {
    const options = { request: exchange.request, cause: reason.cause, requestSent };
    if (reason.timedOut && requestSent)
      return new TimeoutError(reason.message, this.address, options);
    if (reason.notDqlite) return new NotDqliteError(reason.message, this.address, options);
    if (reason.refused) return new HandshakeError(reason.message, this.address, options);
    const message = reason.timedOut
      ? `connection closed: ${reason.message} for an earlier request`
      : reason.message;
    return new ConnectionError(message, this.address, options);
  }
}

/** Why a connection closed; turned into one ConnectionError per waiting request. */
interface CloseReason {
  readonly message: string;
  readonly cause?: unknown;
  /** The request in flight got no answer in time. */
  readonly timedOut?: boolean;
  /** The node closed the connection before answering anything: a HandshakeError. */
  readonly refused?: boolean;
  /** The peer's first bytes were no Dqlite message: a NotDqliteError. */
  readonly notDqlite?: boolean;
}

/** How much of a foreign peer's first answer an error quotes. */
const FIRST_BYTES_QUOTED = 32;

/** A peer's bytes for an error message: as text when printable, else in hexadecimal. */
function quoteBytes(bytes: Buffer | undefined): string {
  if (bytes === undefined || bytes.length === 0) return 'nothing';
  const text = bytes.toString('latin1');
  if (/^[\x20-\x7e\r\n\t]+$/.test(text)) return JSON.stringify(text.split(/\r?\n/)[0]);
  return `0x${bytes.toString('hex')}`;
}

/**
 * The node ended the connection before its first answer. Over TLS that is how a node refuses a
 * client certificate under TLS 1.3 (the client's side of the handshake is already done); on plain
 * TCP, how a node that requires TLS, or that does not speak this protocol version, refuses it.
 */
function refusal(overTls: boolean, error?: Error & { code?: string }): CloseReason {
  if (overTls) {
    const reason = (error as { reason?: string } | undefined)?.reason ?? error?.message;
    return {
      message: certificateRefused(reason ?? 'it closed the connection right after the handshake'),
      cause: error,
      refused: true,
    };
  }
  const what = error === undefined ? 'closed' : `reset (${error.message})`;
  return {
    message:
      `the node ${what} the connection before answering the first request: it may require ` +
      'TLS (then set the tls option), or not speak this protocol version',
    cause: error,
    refused: true,
  };
}
