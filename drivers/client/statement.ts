import type { Request, Response, ResponseContext, ResponseOf } from '../../src/wire/index.js';
import type { BatchStream } from './batch-stream.js';
import { collect, iterateRows } from './results.js';
import type { ExecResult, QueryResult } from './results.js';
import { tupleSchema, wireParameters } from './values.js';
import { ClosedError } from './errors.js';
import type { ResolvedClientOptions } from './options.js';
import type { Parameter, RowValue } from './values.js';

/**
 * What a statement needs of the client that prepared it (`DqliteClient` is one): the requests it
 * sends go over that client's connection, in its call order.
 * @internal
 */
export interface StatementClient {
  call<T extends Response['type']>(
    request: Request,
    expected: T,
    context?: ResponseContext,
  ): Promise<ResponseOf<T>>;
  execResult(response: ResponseOf<'RESULT'>): ExecResult;
  startQuery(request: Request & { db: number | bigint }): BatchStream;
}

/**
 * A statement prepared on the leader. Finalize it when done: the node keeps it until then.
 * Using it after finalize() throws ClosedError here rather than sending the id: dqlite 1.11
 * crashes on some requests naming a freed statement id (docs/wire-protocol.md §13).
 */
export class Statement {
  /** Number of `?` parameters SQLite found in the statement. */
  readonly parameterCount: number;
  readonly #client: StatementClient;
  readonly #db: number;
  readonly #id: number;
  readonly #options: ResolvedClientOptions;
  #finalized = false;

  /** @internal use DqliteClient.prepare() */
  constructor(
    client: StatementClient,
    db: number,
    id: number,
    parameterCount: number,
    options: ResolvedClientOptions,
  ) {
    this.#client = client;
    this.#db = db;
    this.#id = id;
    this.parameterCount = parameterCount;
    this.#options = options;
  }

  async exec(parameters?: readonly Parameter[]): Promise<ExecResult> {
    const request = this.#request('EXEC', parameters);
    return this.#client.execResult(await this.#client.call(request, 'RESULT'));
  }

  async query(parameters?: readonly Parameter[]): Promise<QueryResult> {
    return collect(this.#client.startQuery(this.#request('QUERY', parameters)), this.#options);
  }

  iterate(parameters?: readonly Parameter[]): AsyncIterable<RowValue[]> {
    return iterateRows(
      () => this.#client.startQuery(this.#request('QUERY', parameters)),
      this.#options,
    );
  }

  /** Releases the statement on the node. Idempotent. */
  async finalize(): Promise<void> {
    if (this.#finalized) return;
    this.#finalized = true;
    await this.#client.call({ type: 'FINALIZE', db: this.#db, stmt: this.#id }, 'EMPTY');
  }

  #request(type: 'EXEC' | 'QUERY', parameters: readonly Parameter[] | undefined) {
    if (this.#finalized) throw new ClosedError('the statement was finalized');
    return {
      type,
      db: this.#db,
      stmt: this.#id,
      parameters: wireParameters(parameters),
      schema: tupleSchema(parameters),
    } as const;
  }
}
