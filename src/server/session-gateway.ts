// What one client connection's requests are answered with (dqlite's "gateway"): SQL requests go
// to the engine, the others are answered from the node's view of the cluster. Kept apart from
// ClientSession (dqlite's "conn"), which owns the socket, framing, the request queue and the
// streaming of rows: this half never touches the socket, it turns a decoded request into what
// the connection should do.

import { Role, type NodeId } from '../raft/index.js';
import {
  ErrorCode,
  ReadConsistencyMode,
  type NodeRoleName,
  type Request,
  type RequestOf,
  type Response,
  type WireValue,
} from '../wire/index.js';
import { MembershipError } from './membership-error.js';
import type { ReplicatedEngine } from './replicated-engine.js';
import type { EngineOutcome, ExecValue } from './sql/engine-messages.js';

/** Node-local settings a client can read (DESCRIBE) and change (WEIGHT). */
export interface NodeMetadata {
  failureDomain: bigint;
  weight: bigint;
}

/** What the gateway needs of the node; ClientSessionContext adds the connection's limits. */
export interface GatewayContext {
  readonly engine: ReplicatedEngine;
  readonly sessionId: number;
  readonly metadata: NodeMetadata;
  /** Sent in WELCOME; dqlite's default is 15 s. */
  readonly heartbeatTimeoutMs: number;
}

/** What the connection does with a request. */
export type GatewayAnswer =
  | { readonly kind: 'response'; readonly response: Response }
  /** A query's rows: the connection streams them, starting with this outcome. */
  | { readonly kind: 'rows'; readonly first: EngineOutcome }
  /** The stream cannot be trusted: FAILURE, then the connection ends. */
  | { readonly kind: 'close'; readonly code: number; readonly message: string };

/** What READ_CONSISTENCY chose for a connection, besides the default (leader only). */
interface ReplicaReadChoice {
  readonly consistency: 'read-index' | 'bounded';
  readonly maxStalenessMs: number;
}

/** The largest staleness bound a connection may choose: one day. */
const maxStalenessMsMax = 86_400_000n;

const roleNames: Record<number, NodeRoleName> = {
  [Role.voter]: 'voter',
  [Role.standby]: 'standby',
  [Role.spare]: 'spare',
};

/**
 * The requests of one client connection, answered as the C server answers them
 * (docs/wire-protocol.md), with its fixes: HEARTBEAT is answered, and the inputs that crash dqlite
 * 1.11 get FAILUREs. It remembers what the connection opened and prepared.
 */
export class SessionGateway {
  readonly #context: GatewayContext;
  #opened = false;
  /** The database OPEN named, once it succeeded. */
  #database: string | undefined;
  /** The text each prepared statement was prepared from, for point reads (PointReads). */
  readonly #statementTexts = new Map<number, string>();
  /** How this connection's QUERY_SQL may be served while the node does not lead (docs/reads.md). */
  #reads: ReplicaReadChoice | undefined;

  constructor(context: GatewayContext) {
    this.#context = context;
  }

  /** The answer to one request; `legacy`: the connection's handshake named the legacy protocol. */
  async answer(request: Request, legacy: boolean): Promise<GatewayAnswer> {
    try {
      return await this.#answer(request, legacy);
    } catch (error) {
      if (error instanceof MembershipError) return respond(membershipFailure(error));
      throw error;
    }
  }

  async #answer(request: Request, legacy: boolean): Promise<GatewayAnswer> {
    const engine = this.#context.engine;
    const session = this.#context.sessionId;
    switch (request.type) {
      case 'LEADER':
        return respond(this.#leader(legacy));
      case 'CLIENT':
        return respond({ type: 'WELCOME', heartbeatTimeoutMs: this.#context.heartbeatTimeoutMs });
      case 'HEARTBEAT':
        return respond(emptyResponse());
      case 'OPEN': {
        const reply = await engine.local({ op: 'open', session, database: request.name });
        if (!reply.outcome.ok) return respond(failureResponse(reply.outcome));
        this.#opened = true;
        this.#database = request.name;
        return respond({ type: 'DB', db: 0, padding: 0 });
      }
      case 'PREPARE': {
        const missing = this.#noDatabase(request.db);
        if (missing) return respond(missing);
        const outcome = await engine.execute({ op: 'prepare', session, sql: request.sql }, 'none');
        if (!outcome.ok) return respond(failureResponse(outcome));
        const value = outcome.value as { statement: number; parameterCount: number };
        this.#statementTexts.set(value.statement, request.sql);
        return respond({
          type: 'STMT',
          db: 0,
          stmt: value.statement,
          parameterCount: value.parameterCount,
        });
      }
      case 'EXEC':
      case 'EXEC_SQL': {
        const missing = this.#noDatabase(request.db);
        if (missing) return respond(missing);
        const outcome = await engine.execute(
          request.type === 'EXEC'
            ? { op: 'exec', session, statement: request.stmt, parameters: request.parameters ?? [] }
            : { op: 'exec-sql', session, sql: request.sql, parameters: request.parameters ?? [] },
        );
        if (!outcome.ok) return respond(failureResponse(outcome));
        const value = outcome.value as ExecValue;
        return respond({
          type: 'RESULT',
          lastInsertId: value.lastInsertId,
          rowsAffected: value.rowsAffected,
        });
      }
      case 'QUERY':
      case 'QUERY_SQL': {
        const missing = this.#noDatabase(request.db);
        if (missing) return respond(missing);
        if (request.type === 'QUERY_SQL' && this.#reads !== undefined && !engine.isLeader()) {
          const first = await engine.replicaQuery({
            database: this.#database as string,
            sql: request.sql,
            parameters: request.parameters ?? [],
            ...this.#reads,
          });
          return { kind: 'rows', first };
        }
        const point = await this.#pointRead(
          request.type === 'QUERY' ? this.#statementTexts.get(request.stmt) : request.sql,
          request.parameters ?? [],
        );
        if (point !== undefined) return { kind: 'rows', first: point };
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
        return { kind: 'rows', first };
      }
      case 'FINALIZE': {
        const missing = this.#noDatabase(request.db);
        if (missing) return respond(missing);
        this.#statementTexts.delete(request.stmt);
        const reply = await engine.local({ op: 'finalize', session, statement: request.stmt });
        return respond(reply.outcome.ok ? emptyResponse() : failureResponse(reply.outcome));
      }
      case 'INTERRUPT':
        await engine.local({ op: 'interrupt', session });
        return respond(emptyResponse());
      case 'CONNECT':
        return {
          kind: 'close',
          code: ErrorCode.DQLITE_PARSE,
          message: 'CONNECT is only valid as the first request',
        };
      case 'ADD':
      case 'ASSIGN':
      case 'REMOVE':
      case 'TRANSFER':
        return respond(await this.#membership(request));
      case 'DUMP': {
        const reply = await engine.local({ op: 'dump', database: request.name });
        if (!reply.outcome.ok) return respond(failureResponse(reply.outcome));
        const { files } = reply.outcome.value as { files: { name: string; data: Uint8Array }[] };
        return respond({
          type: 'FILES',
          files: files.map((file) => ({ name: file.name, data: Buffer.from(file.data) })),
        });
      }
      case 'CLUSTER':
        return respond(this.#cluster(request.format === 0n ? 0 : 1));
      case 'DESCRIBE':
        if (request.format !== 0n) {
          return respond(
            failureResponse({ code: ErrorCode.SQLITE_PROTOCOL, message: 'bad format version' }),
          );
        }
        return respond({ type: 'METADATA', ...this.#context.metadata });
      case 'WEIGHT':
        this.#context.metadata.weight = request.weight;
        return respond(emptyResponse());
      case 'CHECK':
        return respond(await this.#contentCheck(request.index));
      case 'READ_CONSISTENCY':
        return respond(this.#readConsistency(request.mode, request.maxStalenessMs));
      case 'DIVERGED':
        await this.#context.engine.markDiverged(
          `content check at index ${request.index}: ${request.reason}`,
        );
        return respond(emptyResponse());
    }
  }

  /** READ_CONSISTENCY: how later queries may be served while this node does not lead. */
  #readConsistency(mode: bigint, maxStalenessMs: bigint): Response {
    if (mode === BigInt(ReadConsistencyMode.leader)) {
      this.#reads = undefined;
      return emptyResponse();
    }
    if (mode === BigInt(ReadConsistencyMode.readIndex)) {
      this.#reads = { consistency: 'read-index', maxStalenessMs: 0 };
      return emptyResponse();
    }
    if (mode === BigInt(ReadConsistencyMode.bounded) && maxStalenessMs <= maxStalenessMsMax) {
      this.#reads = { consistency: 'bounded', maxStalenessMs: Number(maxStalenessMs) };
      return emptyResponse();
    }
    return failureResponse({
      code: ErrorCode.SQLITE_MISUSE,
      message:
        `READ_CONSISTENCY: mode ${mode} with maxStalenessMs ${maxStalenessMs} is not one this ` +
        `node knows (0 leader, 1 read-index, 2 bounded with at most ${maxStalenessMsMax} ms)`,
    });
  }

  /** CHECK: index 0 starts a content check (on the leader); another reads this node's. */
  async #contentCheck(index: bigint): Promise<Response> {
    const engine = this.#context.engine;
    if (index > BigInt(Number.MAX_SAFE_INTEGER)) {
      return failureResponse({
        code: ErrorCode.SQLITE_RANGE,
        message: `index ${index} is out of range`,
      });
    }
    const outcome =
      index === 0n ? await engine.startContentCheck() : await engine.contentCheck(Number(index));
    if (!outcome.ok) return failureResponse(outcome);
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

  #noDatabase(db: bigint | number): Response | undefined {
    if (this.#opened && BigInt(db) === 0n) return undefined;
    return failureResponse({ code: ErrorCode.SQLITE_NOTFOUND, message: 'no database opened' });
  }

  /** LEADER: voters name the leader they know; others always answer "unknown" (§6.1). */
  #leader(legacy: boolean): Response {
    const engine = this.#context.engine;
    const self = engine.configuration().servers.find((server) => server.id === engine.id);
    const leader = self?.role === Role.voter ? engine.leader() : undefined;
    if (legacy) return { type: 'SERVER_LEGACY', address: leader?.address ?? '' };
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
  ): Promise<Response> {
    const engine = this.#context.engine;
    if (!engine.isLeader()) return failureResponse(notLeaderOutcome);
    const known = (id: NodeId) => engine.configuration().servers.some((server) => server.id === id);
    const id = nodeIdOf(request.id);
    if (request.type === 'TRANSFER' && request.id === 0n) {
      await engine.transferLeadership();
      return emptyResponse();
    }
    if (id === undefined) return failureResponse(invalidId);
    switch (request.type) {
      case 'ADD':
        if (known(id)) return failureResponse({ code: 1, message: 'server ID already in use' });
        await engine.changeMembership({ type: 'add', id, address: request.address });
        return emptyResponse();
      case 'ASSIGN': {
        if (!known(id)) return failureResponse(invalidId);
        const role = request.role ?? BigInt(Role.voter);
        if (role !== 0n && role !== 1n && role !== 2n) {
          return failureResponse({ code: 1, message: `unknown role ${role}` });
        }
        await engine.changeMembership({ type: 'assign', id, role: Number(role) as Role });
        return emptyResponse();
      }
      case 'REMOVE':
        if (!known(id)) return failureResponse(invalidId);
        await engine.changeMembership({ type: 'remove', id });
        return emptyResponse();
      case 'TRANSFER':
        if (!known(id)) return failureResponse(invalidId);
        await engine.transferLeadership(id);
        return emptyResponse();
    }
  }
}

/** EMPTY: the answer to a request that returns nothing. */
export function emptyResponse(): Response {
  return { type: 'EMPTY', unused: 0n };
}

/** FAILURE with a code and message (an engine outcome's, or the gateway's own). */
export function failureResponse(outcome: {
  readonly code: number;
  readonly message: string;
}): Response {
  return { type: 'FAILURE', code: outcome.code, message: outcome.message };
}

function respond(response: Response): GatewayAnswer {
  return { kind: 'response', response };
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

function nodeIdOf(id: bigint): NodeId | undefined {
  if (id < 1n || id > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(id);
}

/** Raft's refusal as dqlite words it: a change that cannot happen now is SQLITE_BUSY. */
function membershipFailure(error: MembershipError): Response {
  switch (error.code) {
    case 'not-leader':
      return failureResponse({ code: ErrorCode.SQLITE_IOERR_NOT_LEADER, message: 'not leader' });
    case 'change-in-progress':
    case 'transfer-in-progress':
      return failureResponse({ code: ErrorCode.SQLITE_BUSY, message: error.message });
    default:
      return failureResponse({ code: ErrorCode.SQLITE_ERROR, message: error.message });
  }
}
