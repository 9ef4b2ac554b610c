import { NodeRole, ReadConsistencyMode, ResultCode } from '../../src/wire/index.js';
import type {
  NodeRoleName,
  Request,
  Response,
  ResponseContext,
  ResponseOf,
} from '../../src/wire/index.js';
import { BatchStream } from './batch-stream.js';
import type { Connection } from './connection.js';
import { openConnection } from './connection.js';
import { connectToLeader } from './connector.js';
import {
  ClosedError,
  ConnectionError,
  DqliteError,
  NotLeaderError,
  ReadsUnsupportedError,
  TimeoutError,
  errorFromFailure,
} from './errors.js';
import { resolveClientOptions } from './options.js';
import type { ClientOptions, ResolvedClientOptions } from './options.js';
import { Statement } from './statement.js';
import { integerValue, tupleSchema, wireParameters } from './values.js';
import { collect, iterateBatches, iterateRows } from './results.js';
import type { Parameter, RowValue } from './values.js';
import type { ExecResult, QueryResult } from './results.js';
export type { ExecResult, QueryResult } from './results.js';

/** One node of the cluster configuration. */
export interface NodeInfo {
  readonly id: bigint;
  readonly address: string;
  readonly role: NodeRoleName;
}

/** A node id: the protocol's ids are unsigned 64-bit, so they come back as bigint. */
export type NodeId = bigint | number;

/** SQLite's out-of-memory code, which dqlite 1.11 also uses for raft's "not leader". */
const { SQLITE_NOMEM } = ResultCode;

/**
 * A connection to the cluster's leader with one database open. Requests run one at a time, in
 * call order. The client does not reconnect by itself: after NotLeaderError, LeadershipLostError
 * or ConnectionError, `close()` it and `connect()` again (the pool does this for you).
 */
export class DqliteClient {
  /** Address of the leader this client is connected to. */
  readonly address: string;
  /** Id of the leader this client is connected to. */
  readonly leaderId: bigint;
  readonly #connection: Connection;
  readonly #options: ResolvedClientOptions;
  readonly #db: number;
  #closed = false;

  /** @internal use connect() */
  constructor(
    connection: Connection,
    leaderId: bigint,
    db: number,
    options: ResolvedClientOptions,
  ) {
    this.address = connection.address;
    this.leaderId = leaderId;
    this.#connection = connection;
    this.#db = db;
    this.#options = options;
  }

  /** The database this client opened. */
  get database(): string {
    return this.#options.database;
  }

  /** False once closed or once the connection to the node died. */
  get isOpen(): boolean {
    return !this.#closed && this.#connection.isOpen;
  }

  /** Runs the first statement of `sql` and returns all its rows. */
  async query(sql: string, parameters?: readonly Parameter[]): Promise<QueryResult> {
    return collect(this.#stream(this.#querySql(sql, parameters)), this.#options);
  }

  /** Runs every statement of `sql` (parameters bind to the first); returns the last result. */
  async exec(sql: string, parameters?: readonly Parameter[]): Promise<ExecResult> {
    checkSql(sql);
    const request: Request = {
      type: 'EXEC_SQL',
      db: BigInt(this.#db),
      sql,
      parameters: wireParameters(parameters),
      schema: tupleSchema(parameters),
    };
    return this.execResult(await this.call(request, 'RESULT'));
  }

  /**
   * Streams the rows of the first statement of `sql` batch by batch, so a large result never
   * sits in memory whole. Stopping early interrupts the query on the node.
   */
  iterate(sql: string, parameters?: readonly Parameter[]): AsyncIterable<RowValue[]> {
    return iterateRows(() => this.#stream(this.#querySql(sql, parameters)), this.#options);
  }

  /**
   * Like iterate, but yields whole batches with their column names, for callers that need the
   * columns before the first row (the pool's object rows).
   */
  iterateBatches(sql: string, parameters?: readonly Parameter[]): AsyncIterable<QueryResult> {
    return iterateBatches(() => this.#stream(this.#querySql(sql, parameters)), this.#options);
  }

  /** Prepares the first statement of `sql` on the leader for repeated use. */
  async prepare(sql: string): Promise<Statement> {
    checkSql(sql);
    const response = await this.call({ type: 'PREPARE', db: BigInt(this.#db), sql }, 'STMT');
    return new Statement(this, response.db, response.stmt, response.parameterCount, this.#options);
  }

  /** The leader as the connected node knows it, or null while an election runs. */
  async leader(): Promise<{ id: bigint; address: string } | null> {
    const response = await this.call({ type: 'LEADER', unused: 0n }, 'SERVER');
    return response.address === '' ? null : { id: response.id, address: response.address };
  }

  /** Every node of the configuration with its role. */
  async cluster(): Promise<NodeInfo[]> {
    const response = await this.call({ type: 'CLUSTER', format: 1n }, 'SERVERS', {
      clusterFormat: 1,
    });
    return response.servers.map(({ id, address, role }) => ({
      id,
      address,
      role: role ?? 'voter',
    }));
  }

  /** Adds a node to the configuration; it joins as a spare until assigned a role. */
  async add(node: { id: NodeId; address: string }): Promise<void> {
    await this.call({ type: 'ADD', id: nodeId(node.id), address: node.address }, 'EMPTY');
  }

  /** Changes a node's role. */
  async assign(id: NodeId, role: NodeRoleName): Promise<void> {
    if (!(role in NodeRole))
      throw new TypeError(`assign: role must be voter, standby or spare, got ${role}`);
    await this.call({ type: 'ASSIGN', id: nodeId(id), role: BigInt(NodeRole[role]) }, 'EMPTY');
  }

  /** Removes a node from the configuration. */
  async remove(id: NodeId): Promise<void> {
    await this.call({ type: 'REMOVE', id: nodeId(id) }, 'EMPTY');
  }

  /**
   * Hands leadership to node `id` (0 or omitted: the node picks). This client's connection then
   * points at a follower: reconnect to reach the new leader.
   */
  async transfer(id: NodeId = 0n): Promise<void> {
    await this.call({ type: 'TRANSFER', id: nodeId(id) }, 'EMPTY');
  }

  /** Failure domain and weight of the connected node (node-local settings). */
  async describe(): Promise<{ failureDomain: number | bigint; weight: number | bigint }> {
    const response = await this.call({ type: 'DESCRIBE', format: 0n }, 'METADATA');
    return {
      failureDomain: integerValue(response.failureDomain, this.#options.integers),
      weight: integerValue(response.weight, this.#options.integers),
    };
  }

  /** Sets the connected node's weight (in memory on that node; not replicated). */
  async weight(weight: number | bigint): Promise<void> {
    await this.call({ type: 'WEIGHT', weight: nodeId(weight) }, 'EMPTY');
  }

  /** The database file and its WAL as the connected node has them. */
  async dump(database: string = this.#options.database): Promise<{ name: string; data: Buffer }[]> {
    const response = await this.call({ type: 'DUMP', name: database }, 'FILES');
    return response.files.map((file) => ({ name: file.name, data: file.data }));
  }

  /** Closes the connection; pending requests fail with ConnectionError. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#connection.close();
  }

  /**
   * Sends one request and returns its response, which must be of `expected` type; FAILURE
   * becomes the matching DqliteError.
   * @internal
   */
  async call<T extends Response['type']>(
    request: Request,
    expected: T,
    context?: ResponseContext,
  ): Promise<ResponseOf<T>> {
    this.#checkOpen();
    const response = await this.#connection.request(
      request,
      this.#options.requestTimeoutMs,
      context,
    );
    if (response.type === 'FAILURE') {
      const origin = { address: this.address, request: request.type };
      throw await this.#explainFailure(errorFromFailure(response.code, response.message, origin));
    }
    if (response.type !== expected) {
      this.#connection.close(); // the conversation is out of step: nothing later can be trusted
      throw new ConnectionError(`expected ${expected}, got ${response.type}`, this.address, {
        request: request.type,
      });
    }
    return response as ResponseOf<T>;
  }

  /** @internal */
  execResult(response: ResponseOf<'RESULT'>): ExecResult {
    return {
      lastInsertId: integerValue(response.lastInsertId, this.#options.integers),
      rowsAffected: response.rowsAffected,
    };
  }

  /** Starts a QUERY or QUERY_SQL exchange. @internal */
  startQuery(request: Request & { db: number | bigint }): BatchStream {
    return this.#stream(request);
  }

  #stream(request: Request & { db: number | bigint }): BatchStream {
    this.#checkOpen();
    return new BatchStream(this.#connection, request, this.#options.requestTimeoutMs, (error) =>
      this.#explainFailure(error),
    );
  }

  #querySql(sql: string, parameters: readonly Parameter[] | undefined): Request & { db: bigint } {
    checkSql(sql);
    return {
      type: 'QUERY_SQL',
      db: BigInt(this.#db),
      sql,
      parameters: wireParameters(parameters),
      schema: tupleSchema(parameters),
    };
  }

  /**
   * dqlite 1.11 answers a write that raft refused because leadership just moved with code 7
   * (SQLITE_NOMEM, "no more rows available"): raft's own "not leader" code, passed through as
   * if it were SQLite's. When the node then no longer names itself leader, that is what it was:
   * a NotLeaderError (the write was never applied), not an out-of-memory error.
   */
  async #explainFailure(error: Error): Promise<Error> {
    if (!(error instanceof DqliteError) || error.rawCode !== SQLITE_NOMEM) return error;
    if (!this.#connection.isOpen) return error;
    try {
      const answer = await this.#connection.request(
        { type: 'LEADER', unused: 0n },
        this.#options.requestTimeoutMs,
      );
      if (answer.type === 'SERVER' && answer.address === this.address) return error;
    } catch {
      return error; // the node cannot tell us more; report what it said
    }
    const explanation = `${error.sqliteMessage} (dqlite's code 7 here means raft refused the write: the node is no longer the leader)`;
    return new NotLeaderError(error.rawCode, explanation, error);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('the client is closed');
  }
}

/** Finds the leader among `options.cluster`, registers, and opens `options.database`. */
export async function connect(options: ClientOptions): Promise<DqliteClient> {
  const resolved = resolveClientOptions(options);
  const { connection, leaderId } = await connectToLeader(resolved.cluster, resolved);
  return openDatabase(connection, leaderId, resolved);
}

/** How a connection made by `connectForReads` lets a node that does not lead serve its queries. */
export interface ReadChoice {
  /** 'read-index': linearizable; 'bounded': at most `maxStalenessMs` behind (docs/reads.md). */
  readonly consistency: 'read-index' | 'bounded';
  readonly maxStalenessMs: number;
}

/**
 * Connects to the node at `address`, whatever its role, asks it to serve this connection's
 * queries as `reads` says (READ_CONSISTENCY, a dqlite-ts extension) and opens `options.database`.
 * Only `query`, `iterate` and their kind read there; a node that does not lead answers anything
 * else with NotLeaderError. A node that refuses the request makes it throw ReadsUnsupportedError;
 * canonical's C dqlite 1.11 does not answer an unknown request at all, so the answer is awaited
 * for `answerTimeoutMs` only (default the request timeout), and then the same error is thrown:
 * read from the leader instead.
 */
export async function connectForReads(
  address: string,
  options: ClientOptions,
  reads: ReadChoice,
  answerTimeoutMs?: number,
): Promise<DqliteClient> {
  const resolved = resolveClientOptions(options);
  const connection = await openConnection(address, resolved);
  try {
    const mode =
      reads.consistency === 'read-index'
        ? ReadConsistencyMode.readIndex
        : ReadConsistencyMode.bounded;
    const answer = await connection
      .request(
        {
          type: 'READ_CONSISTENCY',
          mode: BigInt(mode),
          maxStalenessMs: BigInt(Math.max(0, Math.round(reads.maxStalenessMs))),
        },
        answerTimeoutMs ?? resolved.requestTimeoutMs,
      )
      .catch((error: unknown) => {
        if (error instanceof TimeoutError) {
          throw new ReadsUnsupportedError(address, `no answer in ${answerTimeoutMs} ms`);
        }
        throw error;
      });
    if (answer.type === 'FAILURE') {
      throw new ReadsUnsupportedError(address, answer.message);
    }
    if (answer.type !== 'EMPTY') {
      throw new ConnectionError(`expected EMPTY, got ${answer.type}`, address, {
        request: 'READ_CONSISTENCY',
      });
    }
  } catch (error) {
    connection.close();
    throw error;
  }
  return openDatabase(connection, 0n, resolved);
}

async function openDatabase(
  connection: Connection,
  leaderId: bigint,
  resolved: ResolvedClientOptions,
): Promise<DqliteClient> {
  try {
    const response = await connection.request(
      { type: 'OPEN', name: resolved.database, flags: 0n, vfs: 'volatile' },
      resolved.requestTimeoutMs,
    );
    if (response.type === 'FAILURE') {
      throw errorFromFailure(response.code, response.message, {
        address: connection.address,
        request: 'OPEN',
      });
    }
    if (response.type !== 'DB') {
      throw new ConnectionError(`expected DB, got ${response.type}`, connection.address, {
        request: 'OPEN',
      });
    }
    return new DqliteClient(connection, leaderId, response.db, resolved);
  } catch (error) {
    connection.close();
    throw error;
  }
}

function checkSql(sql: string): void {
  if (typeof sql !== 'string') throw new TypeError('sql must be a string');
  if (sql.includes('\0')) throw new RangeError('sql contains a NUL character');
}

const UINT64_MAX = 2n ** 64n - 1n;

function nodeId(id: NodeId): bigint {
  const value = typeof id === 'number' && Number.isSafeInteger(id) ? BigInt(id) : id;
  if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) {
    throw new RangeError(`node id must be an unsigned 64-bit integer, got ${String(id)}`);
  }
  return value;
}
