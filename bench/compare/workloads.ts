// The named workloads. Each opens its own clients to the leader (drivers/client), runs a closed
// loop for the given time and closes them. The `-followers` ones read through connections to
// every member in turn, opened with READ_CONSISTENCY read-index (docs/reads.md: linearizable, as
// leader reads are); a cluster that does not serve such reads (C dqlite) reads from its leader. Every workload works on one table, `kv`: a 32-byte
// text key and a 1 KiB blob, preloaded with `rows` keys; writes replace random existing keys, so
// the database stays the same size however long a run lasts.

import { randomBytes } from 'node:crypto';
import { connect, connectForReads, ReadsUnsupportedError } from '../../drivers/client/index.js';
import type { DqliteClient, Statement } from '../../drivers/client/index.js';
import { runClosedLoop, type LoadResult, type Operation } from './load.js';

export const DATABASE = 'bench';
export const VALUE_BYTES = 1024;
/** Rows per preload transaction (~1.1 MiB of pages each; C dqlite 1.11 failed some 5,000-row ones with SQLITE_IOERR). */
const PRELOAD_CHUNK_ROWS = 1000;
const CONNECT_OPTIONS = { leaderTimeoutMs: 15_000, requestTimeoutMs: 30_000 } as const;

export const WORKLOAD_NAMES = [
  'kvwrite-1',
  'kvwrite-32',
  'kvread-1',
  'kvread-32',
  'mixed-32',
  'tx-100',
  'kvread-32-followers',
  'mixed-32-followers',
] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface WorkloadTarget {
  readonly addresses: readonly string[];
  /** Keys 0..rows-1 exist in `kv`. */
  readonly rows: number;
}

/** The 32-byte key of row `index`, as the preload's printf('k%031d') writes it. */
export function keyOf(index: number): string {
  return `k${String(index).padStart(31, '0')}`;
}

/** A small seeded generator (xorshift32), so each worker's key sequence is reproducible. */
function randomIndexes(seed: number, below: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % below;
  };
}

/** Creates `kv` and fills it with `rows` rows of random 1 KiB values, in a few transactions. */
export async function preload(addresses: readonly string[], rows: number): Promise<void> {
  const client = await connect({ cluster: addresses, database: DATABASE, ...CONNECT_OPTIONS });
  try {
    await client.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)');
    for (let first = 0; first < rows; first += PRELOAD_CHUNK_ROWS) {
      const last = Math.min(rows, first + PRELOAD_CHUNK_ROWS) - 1;
      await client.exec(
        `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT OR REPLACE INTO kv (k, v) SELECT printf('k%031d', i), randomblob(${VALUE_BYTES}) FROM n`,
        [first, last],
      );
    }
  } finally {
    await client.close();
  }
}

interface Worker {
  readonly client: DqliteClient;
  readonly write: Statement;
  readonly read: Statement;
  /** With `-followers`: a connection to one member, in turn, that serves this worker's reads. */
  readonly member: DqliteClient | undefined;
  readonly nextIndex: () => number;
  readonly value: Buffer;
}

const READ_SQL = 'SELECT v FROM kv WHERE k = ?';
/** How long a member may take to answer READ_CONSISTENCY (C dqlite never does). */
const READS_ANSWER_MS = 1000;

async function openWorkers(
  target: WorkloadTarget,
  count: number,
  followers: boolean,
): Promise<Worker[]> {
  const workers: Worker[] = [];
  let membersServe = followers;
  try {
    for (let index = 0; index < count; index++) {
      const client = await connect({
        cluster: target.addresses,
        database: DATABASE,
        ...CONNECT_OPTIONS,
      });
      let member: DqliteClient | undefined;
      if (membersServe) {
        const address = target.addresses[index % target.addresses.length] as string;
        const options = { cluster: [address], database: DATABASE, ...CONNECT_OPTIONS };
        member = await connectForReads(
          address,
          options,
          { consistency: 'read-index', maxStalenessMs: 0 },
          READS_ANSWER_MS,
        ).catch((error: unknown) => {
          if (!(error instanceof ReadsUnsupportedError)) throw error;
          membersServe = false; // the leader serves every read, as in the plain workload
          return undefined;
        });
      }
      workers.push({
        client,
        write: await client.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)'),
        read: await client.prepare(READ_SQL),
        member,
        nextIndex: randomIndexes(index + 1, target.rows),
        value: randomBytes(VALUE_BYTES),
      });
    }
    if (!membersServe) {
      for (const worker of workers) await worker.member?.close();
      return workers.map((worker) => ({ ...worker, member: undefined }));
    }
    return workers;
  } catch (error) {
    await closeWorkers(workers);
    throw error;
  }
}

async function closeWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(
    workers.flatMap((worker) =>
      [worker.client, worker.member].map((client) => client?.close().catch(() => undefined)),
    ),
  );
}

function writeOnce(worker: Worker): Promise<unknown> {
  // A different value each time, so no write is a no-op at the page level.
  worker.value.writeUInt32LE(worker.nextIndex(), 0);
  return worker.write.exec([keyOf(worker.nextIndex()), worker.value]);
}

async function readOnce(worker: Worker): Promise<unknown> {
  const key = keyOf(worker.nextIndex());
  const result =
    worker.member === undefined
      ? await worker.read.query([key])
      : await worker.member.query(READ_SQL, [key]);
  if (result.rows.length !== 1) throw new Error('a preloaded key was not found');
  return result;
}

const TX_INSERTS = 100;

async function transactionOnce(worker: Worker): Promise<unknown> {
  await worker.client.exec('BEGIN');
  try {
    for (let insert = 0; insert < TX_INSERTS; insert++) await writeOnce(worker);
    return await worker.client.exec('COMMIT');
  } catch (error) {
    await worker.client.exec('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const READ_SHARE = 0.8;

function mixedOnce(worker: Worker): Promise<unknown> {
  // The key generator doubles as the coin: its low bits are uniform.
  return worker.nextIndex() % 100 < READ_SHARE * 100 ? readOnce(worker) : writeOnce(worker);
}

const SHAPES: Record<
  WorkloadName,
  { clients: number; operation: (worker: Worker) => Promise<unknown>; followers?: true }
> = {
  'kvwrite-1': { clients: 1, operation: writeOnce },
  'kvwrite-32': { clients: 32, operation: writeOnce },
  'kvread-1': { clients: 1, operation: readOnce },
  'kvread-32': { clients: 32, operation: readOnce },
  'mixed-32': { clients: 32, operation: mixedOnce },
  'tx-100': { clients: 1, operation: transactionOnce },
  'kvread-32-followers': { clients: 32, operation: readOnce, followers: true },
  'mixed-32-followers': { clients: 32, operation: mixedOnce, followers: true },
};

/** Runs one workload for `durationMs` against the cluster's leader. */
export async function runWorkload(
  name: WorkloadName,
  target: WorkloadTarget,
  durationMs: number,
): Promise<LoadResult> {
  const shape = SHAPES[name];
  const workers = await openWorkers(target, shape.clients, shape.followers === true);
  try {
    const operations: Operation[] = workers.map((worker) => () => shape.operation(worker));
    return await runClosedLoop(operations, durationMs);
  } finally {
    await closeWorkers(workers);
  }
}
