import type net from 'node:net';
import { Role, type NodeId } from '../raft/index.js';
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
  type NodeRoleName,
  type Request,
  type RequestOf,
  type Response,
  type WireValue,
} from '../wire/index.js';
import { MembershipError } from './membership-error.js';
import type { ReplicatedEngine } from './replicated-engine.js';
import type { EngineOutcome, ExecValue, RowsValue } from './sql/engine-messages.js';

/** Node-local settings a client can read (DESCRIBE) and change (WEIGHT). */
export interface NodeMetadata {
  failureDomain: bigint;
  weight: bigint;
}

export interface ClientSessionContext {
  readonly engine: ReplicatedEngine;
  readonly sessionId: number;
  readonly metadata: NodeMetadata;
  /** Sent in WELCOME; dqlite's default is 15 s. */
  readonly heartbeatTimeoutMs: number;
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
}

const roleNames: Record<number, NodeRoleName> = {
  [Role.voter]: 'voter',
  [Role.standby]: 'standby',
  [Role.spare]: 'spare',
};

type Answer = Response | undefined;

/**
 * One client connection (dqlite's "conn" + "gateway"): reads requests in order and answers each
 * as the C server does (docs/wire-protocol.md), with its fixes: HEARTBEAT and unknown types are
 * answered, and the inputs that crash dqlite 1.11 get FAILUREs. One request runs at a time; a
 * query's rows stream batch by batch, and an INTERRUPT that arrives meanwhile stops it.
 */
export class ClientSession {
  readonly #socket: net.Socket;
  readonly #context: ClientSessionContext;
  readonly #decoder: FrameDecoder;
  readonly #queue: Frame[] = [];
  #legacy = false;
  #busy = false;
  #opened = false;
  /** The database OPEN named, once it succeeded. */
  #database: string | undefined;
  /** The text each prepared statement was prepared from, for point reads (PointReads). */
  readonly #statementTexts = new Map<number, string>();
  #streaming = false;
  /** A query's rows wait for the client to read the ones already written. */
  #awaitingDrain = false;
  #interruptsPending = 0;
  #closed = false;

  constructor(socket: net.Socket, firstBytes: Buffer, context: ClientSessionContext) {
    this.#socket = socket;
    this.#context = context;
    this.#decoder = new FrameDecoder({
      expectHandshake: true,
      messageBytesMax: context.messageBytesMax,
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
    let answer: Answer;
    try {
      answer = await this.#answer(request);
    } catch (error) {
      if (error instanceof MembershipError) answer = membershipFailure(error);
      else throw error;
    }
    if (answer !== undefined) this.#write(answer);
  }

  /** The answer to one request; undefined when it was already written (query rows). */
  async #answer(request: Request): Promise<Answer> {
    const engine = this.#context.engine;
    const session = this.#context.sessionId;
    switch (request.type) {
      case 'LEADER':
        return this.#leader();
      case 'CLIENT':
        return { type: 'WELCOME', heartbeatTimeoutMs: this.#context.heartbeatTimeoutMs };
      case 'HEARTBEAT':
        return empty();
      case 'OPEN': {
        const reply = await engine.local({ op: 'open', session, database: request.name });
        if (!reply.outcome.ok) return failure(reply.outcome);
        this.#opened = true;
        this.#database = request.name;
        return { type: 'DB', db: 0, padding: 0 };
      }
      case 'PREPARE': {
        const missing = this.#noDatabase(request.db);
        if (missing) return missing;
        const outcome = await engine.execute({ op: 'prepare', session, sql: request.sql }, 'none');
        if (!outcome.ok) return failure(outcome);
        const value = outcome.value as { statement: number; parameterCount: number };
        this.#statementTexts.set(value.statement, request.sql);
        return { type: 'STMT', db: 0, stmt: value.statement, parameterCount: value.parameterCount };
      }
      case 'EXEC':
      case 'EXEC_SQL': {
        const missing = this.#noDatabase(request.db);
        if (missing) return missing;
        const outcome = await engine.execute(
          request.type === 'EXEC'
            ? { op: 'exec', session, statement: request.stmt, parameters: request.parameters ?? [] }
            : { op: 'exec-sql', session, sql: request.sql, parameters: request.parameters ?? [] },
        );
        if (!outcome.ok) return failure(outcome);
        const value = outcome.value as ExecValue;
        return {
          type: 'RESULT',
          lastInsertId: value.lastInsertId,
          rowsAffected: value.rowsAffected,
        };
      }
      case 'QUERY':
      case 'QUERY_SQL': {
        const missing = this.#noDatabase(request.db);
        if (missing) return missing;
        const point = await this.#pointRead(
          request.type === 'QUERY' ? this.#statementTexts.get(request.stmt) : request.sql,
          request.parameters ?? [],
        );
        if (point !== undefined) {
          await this.#streamRows(point);
          return undefined;
        }
        const first = await engine.execute(
          request.type === 'QUERY'
            ? {
                op: 'query',
                session,
                statement: request.stmt,
                parameters: request.parameters ?? [],
              }
            : { op: 'query-sql', session, sql: request.sql, parameters: request.parameters ?? [] },
        );
        await this.#streamRows(first);
        return undefined;
      }
      case 'FINALIZE': {
        const missing = this.#noDatabase(request.db);
        if (missing) return missing;
        this.#statementTexts.delete(request.stmt);
        const reply = await engine.local({ op: 'finalize', session, statement: request.stmt });
        return reply.outcome.ok ? empty() : failure(reply.outcome);
      }
      case 'INTERRUPT':
        await engine.local({ op: 'interrupt', session });
        return empty();
      case 'CONNECT':
        this.#fail(ErrorCode.DQLITE_PARSE, 'CONNECT is only valid as the first request', true);
        return undefined;
      case 'ADD':
      case 'ASSIGN':
      case 'REMOVE':
      case 'TRANSFER':
        return this.#membership(request);
      case 'DUMP': {
        const reply = await engine.local({ op: 'dump', database: request.name });
        if (!reply.outcome.ok) return failure(reply.outcome);
        const { files } = reply.outcome.value as { files: { name: string; data: Uint8Array }[] };
        return {
          type: 'FILES',
          files: files.map((file) => ({ name: file.name, data: Buffer.from(file.data) })),
        };
      }
      case 'CLUSTER':
        return this.#cluster(request.format === 0n ? 0 : 1);
      case 'DESCRIBE':
        if (request.format !== 0n) {
          return failure({ code: ErrorCode.SQLITE_PROTOCOL, message: 'bad format version' });
        }
        return { type: 'METADATA', ...this.#context.metadata };
      case 'WEIGHT':
        this.#context.metadata.weight = request.weight;
        return empty();
      case 'CHECK':
        return this.#contentCheck(request.index);
      case 'DIVERGED':
        await this.#context.engine.markDiverged(
          `content check at index ${request.index}: ${request.reason}`,
        );
        return empty();
    }
  }

  /** CHECK: index 0 starts a content check (on the leader); another reads this node's. */
  async #contentCheck(index: bigint): Promise<Answer> {
    const engine = this.#context.engine;
    if (index > BigInt(Number.MAX_SAFE_INTEGER)) {
      return failure({ code: ErrorCode.SQLITE_RANGE, message: `index ${index} is out of range` });
    }
    const outcome =
      index === 0n ? await engine.startContentCheck() : await engine.contentCheck(Number(index));
    if (!outcome.ok) return failure(outcome);
    return {
      type: 'CHECKSUMS',
      index: BigInt(outcome.check.index),
      databases: outcome.check.databases.map((digest) => ({
        name: digest.name,
        pages: BigInt(digest.pages),
        hash: digest.hash,
      })),
    };
  }

  /** The query served on the node's main thread when it is a point read (engine.pointRead). */
  #pointRead(
    sql: string | undefined,
    parameters: readonly WireValue[],
  ): Promise<EngineOutcome | undefined> {
    if (sql === undefined || this.#database === undefined) return Promise.resolve(undefined);
    return this.#context.engine.pointRead(this.#context.sessionId, this.#database, sql, parameters);
  }

  #noDatabase(db: bigint | number): Answer {
    if (this.#opened && BigInt(db) === 0n) return undefined;
    return failure({ code: ErrorCode.SQLITE_NOTFOUND, message: 'no database opened' });
  }

  /** LEADER: voters name the leader they know; others always answer "unknown" (§6.1). */
  #leader(): Response {
    const engine = this.#context.engine;
    const self = engine.configuration().servers.find((server) => server.id === engine.id);
    const leader = self?.role === Role.voter ? engine.leader() : undefined;
    if (this.#legacy) return { type: 'SERVER_LEGACY', address: leader?.address ?? '' };
    return { type: 'SERVER', id: BigInt(leader?.id ?? 0), address: leader?.address ?? '' };
  }

  #cluster(format: 0 | 1): Response {
    const servers = this.#context.engine.configuration().servers.map((server) => ({
      id: BigInt(server.id),
      address: server.address,
      ...(format === 1 ? { role: roleNames[server.role] } : {}),
    }));
    return { type: 'SERVERS', format, servers };
  }

  async #membership(
    request: RequestOf<'ADD'> | RequestOf<'ASSIGN'> | RequestOf<'REMOVE'> | RequestOf<'TRANSFER'>,
  ): Promise<Answer> {
    const engine = this.#context.engine;
    if (!engine.isLeader()) return failure(notLeaderOutcome);
    const known = (id: NodeId) => engine.configuration().servers.some((server) => server.id === id);
    const id = nodeIdOf(request.id);
    if (request.type === 'TRANSFER' && request.id === 0n) {
      await engine.transferLeadership();
      return empty();
    }
    if (id === undefined) return failure(invalidId);
    switch (request.type) {
      case 'ADD':
        if (known(id)) return failure({ code: 1, message: 'server ID already in use' });
        await engine.changeMembership({ type: 'add', id, address: request.address });
        return empty();
      case 'ASSIGN': {
        if (!known(id)) return failure(invalidId);
        const role = request.role ?? BigInt(Role.voter);
        if (role !== 0n && role !== 1n && role !== 2n) {
          return failure({ code: 1, message: `unknown role ${role}` });
        }
        await engine.changeMembership({ type: 'assign', id, role: Number(role) as Role });
        return empty();
      }
      case 'REMOVE':
        if (!known(id)) return failure(invalidId);
        await engine.changeMembership({ type: 'remove', id });
        return empty();
      case 'TRANSFER':
        if (!known(id)) return failure(invalidId);
        await engine.transferLeadership(id);
        return empty();
    }
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
          this.#write(failure(outcome));
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
    for (; this.#interruptsPending > 0; this.#interruptsPending--) this.#write(empty());
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
    this.#socket.write(encodeResponse(response));
  }

  /** Answers FAILURE; with `close`, the stream cannot be trusted and the connection ends. */
  #fail(code: number, message: string, close: boolean): void {
    this.#write(failure({ code, message }));
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

const notLeaderOutcome = {
  ok: false,
  code: ErrorCode.SQLITE_IOERR_NOT_LEADER,
  message: 'not leader',
} as const;
const invalidId = {
  ok: false,
  code: ErrorCode.SQLITE_ERROR,
  message: 'server ID is not valid',
} as const;

function empty(): Response {
  return { type: 'EMPTY', unused: 0n };
}

function failure(outcome: { readonly code: number; readonly message: string }): Response {
  return { type: 'FAILURE', code: outcome.code, message: outcome.message };
}

function nodeIdOf(id: bigint): NodeId | undefined {
  if (id < 1n || id > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(id);
}

/** Raft's refusal as dqlite words it: a change that cannot happen now is SQLITE_BUSY. */
function membershipFailure(error: MembershipError): Response {
  switch (error.code) {
    case 'not-leader':
      return failure({ code: ErrorCode.SQLITE_IOERR_NOT_LEADER, message: 'not leader' });
    case 'change-in-progress':
    case 'transfer-in-progress':
      return failure({ code: ErrorCode.SQLITE_BUSY, message: error.message });
    default:
      return failure({ code: ErrorCode.SQLITE_ERROR, message: error.message });
  }
}
