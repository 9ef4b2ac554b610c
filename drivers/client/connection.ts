import net from 'node:net';
import {
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeResponse,
  encodeHandshake,
  encodeRequest,
} from '../../src/wire/index.js';
import type {
  Frame,
  FrameSink,
  Request,
  Response,
  ResponseContext,
  TlsOptions,
} from '../../src/wire/index.js';
import { ConnectionError, HandshakeError, NotDqliteError, TimeoutError } from './errors.js';
import { certificateRefused, connectTls, handshakeFailure } from './tls.js';

/** Limits and timeouts of one connection to one node. */
export interface ConnectionOptions {
  /** Time allowed for the TCP connection to open. */
  readonly connectTimeoutMs: number;
  /** Largest response message accepted; a bigger one closes the connection. */
  readonly messageBytesMax: number;
  /** Requests that may wait behind the one in flight before new ones are refused. */
  readonly queueLengthMax: number;
  /** Handshake word; the legacy one makes LEADER answer SERVER_LEGACY. */
  readonly protocolVersion?: bigint;
  /** Mutual TLS with these (checked by checkTlsOptions); default plain TCP. */
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
 * bounded FIFO queue. When the socket dies, every waiting request fails at once.
 */
export class Connection {
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

  private constructor(address: string, socket: net.Socket, options: ConnectionOptions) {
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

  /** Opens a TCP (or TLS) connection to "host:port" and sends the protocol version word. */
  static async open(address: string, options: ConnectionOptions): Promise<Connection> {
    const socket = await dial(parseAddress(address), address, options);
    socket.setNoDelay(true); // one small request at a time: Nagle would only add latency (§4)
    const connection = new Connection(address, socket, options);
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

/** Where a node listens: TCP, or a Unix socket (an absolute path, for a node on this machine). */
export type Endpoint = { host: string; port: number } | { path: string };

/**
 * Splits "host:port" (or "[v6]:port"); an absolute path names a Unix socket. A malformed address
 * is the caller's mistake.
 */
export function parseAddress(address: string): Endpoint {
  if (address.startsWith('/')) return { path: address };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    throw new TypeError(`address "${address}" is not "host:port"`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

/**
 * Opens the connection; over TLS, resolves once the handshake verified the node's certificate.
 * A failure after the TCP connection opened is the TLS handshake's: a HandshakeError.
 */
function dial(
  endpoint: Endpoint,
  address: string,
  options: ConnectionOptions,
): Promise<net.Socket> {
  const timeoutMs = options.connectTimeoutMs;
  const overTls = options.tls !== undefined;
  return new Promise((resolve, reject) => {
    const socket =
      options.tls === undefined ? net.connect(endpoint) : connectTls(endpoint, options.tls);
    let connected = false;
    const onConnect = () => (connected = true);
    const onReady = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect).off('error', onError).off('close', onClose);
      resolve(socket);
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error & { code?: string }) => {
      const message = connected ? handshakeFailure(error) : `could not connect: ${error.message}`;
      const Failure = connected ? HandshakeError : ConnectionError;
      fail(new Failure(message, address, { cause: error }));
    };
    // A node that ends the handshake without an alert leaves only a close.
    const onClose = () => fail(new HandshakeError(handshakeFailure(undefined), address));
    const timer = setTimeout(() => {
      if (!connected) {
        fail(new TimeoutError(`could not connect within ${timeoutMs} ms`, address));
        return;
      }
      const message = `TLS handshake failed: not finished within ${timeoutMs} ms; does the node use TLS?`;
      fail(new HandshakeError(message, address));
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once(overTls ? 'secureConnect' : 'connect', onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
