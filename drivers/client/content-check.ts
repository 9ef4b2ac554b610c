import type { NodeRoleName, Request, Response, ResponseOf } from '../../src/wire/index.js';
import { openConnection } from './connection.js';
import type { Connection } from './connection.js';
import { connectToLeader } from './connector.js';
import { ConnectionError, errorFromFailure } from './errors.js';
import { resolveClientOptions, type ClientOptions } from './options.js';

/** One database's size and content hash as a node found them at the checked index. */
export interface DatabaseDigest {
  readonly name: string;
  readonly pages: number;
  readonly hash: string;
}

/** What one node answered for the check. */
export interface NodeCheck {
  readonly id: bigint;
  readonly address: string;
  readonly role: NodeRoleName;
  /** Its databases at the checked index; undefined when it could not answer (`error`). */
  readonly databases?: readonly DatabaseDigest[];
  readonly error?: string;
  /** Not asked, and why: a spare holds no log and no databases, so it has nothing to check. */
  readonly skipped?: string;
  /** It answered, and its databases differ from the majority's. */
  readonly diverged: boolean;
}

export interface ClusterCheck {
  /** The Raft index every node hashed its databases at. */
  readonly index: bigint;
  readonly nodes: readonly NodeCheck[];
  /** The nodes whose content differs from the majority's (empty when the cluster agrees). */
  readonly diverged: readonly NodeCheck[];
}

/**
 * Checks that every node of a dqlite-ts cluster holds the same data: the leader proposes a
 * content check through Raft, every node hashes each database when it applies that entry, and
 * the answers are compared. A node that differs from the majority is `diverged` (what it holds
 * came from somewhere other than the replicated log). `database`, when given, limits the
 * comparison to that database. A dqlite-ts extension: canonical's C dqlite refuses the request.
 *
 * @example
 * const check = await checkCluster({ cluster: ['127.0.0.1:9001', '127.0.0.1:9002'] });
 * if (check.diverged.length > 0) console.error('diverged:', check.diverged);
 */
export async function checkCluster(
  options: Omit<ClientOptions, 'database'> & { readonly database?: string },
): Promise<ClusterCheck> {
  const resolved = resolveClientOptions({ ...options, database: options.database ?? 'main' });
  const timeoutMs = resolved.requestTimeoutMs;
  const { connection } = await connectToLeader(resolved.cluster, resolved);
  let started: ResponseOf<'CHECKSUMS'>;
  let servers: ResponseOf<'SERVERS'>;
  try {
    servers = await ask(connection, { type: 'CLUSTER', format: 1n }, 'SERVERS', timeoutMs);
    started = await ask(connection, { type: 'CHECK', index: 0n }, 'CHECKSUMS', timeoutMs);
  } finally {
    connection.close();
  }
  const only = (databases: ResponseOf<'CHECKSUMS'>['databases']): DatabaseDigest[] =>
    databases
      .filter((digest) => options.database === undefined || digest.name === options.database)
      .map((digest) => ({ name: digest.name, pages: Number(digest.pages), hash: digest.hash }));
  const answers = await Promise.all(
    servers.servers.map(async (server) => {
      if (server.role === 'spare') return { server, skipped: 'a spare holds no data' };
      try {
        const node = await openConnection(server.address, resolved);
        try {
          const found = await ask(
            node,
            { type: 'CHECK', index: started.index },
            'CHECKSUMS',
            timeoutMs,
          );
          return { server, databases: only(found.databases) };
        } finally {
          node.close();
        }
      } catch (error) {
        return { server, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const majority = majorityDigest(answers.map((answer) => answer.databases));
  const nodes: NodeCheck[] = answers.map((answer) => ({
    id: answer.server.id,
    address: answer.server.address,
    role: answer.server.role ?? 'voter',
    ...('skipped' in answer
      ? { skipped: answer.skipped }
      : answer.databases === undefined
        ? { error: answer.error }
        : { databases: answer.databases }),
    diverged: answer.databases !== undefined && digestKey(answer.databases) !== majority,
  }));
  return { index: started.index, nodes, diverged: nodes.filter((node) => node.diverged) };
}

/** The digest most answering nodes share (ties: the first node's, which is listed first). */
function majorityDigest(answers: readonly (readonly DatabaseDigest[] | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const databases of answers) {
    if (databases === undefined) continue;
    const key = digestKey(databases);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let best = '';
  let bestCount = 0;
  for (const [key, count] of counts) {
    if (count > bestCount) [best, bestCount] = [key, count];
  }
  return best;
}

function digestKey(databases: readonly DatabaseDigest[]): string {
  return databases.map((digest) => `${digest.name}:${digest.pages}:${digest.hash}`).join('\n');
}

/** One request on `connection`; FAILURE becomes the matching DqliteError. */
async function ask<T extends Response['type']>(
  connection: Connection,
  request: Request,
  expected: T,
  timeoutMs: number,
): Promise<ResponseOf<T>> {
  const response = await connection.request(request, timeoutMs);
  if (response.type === 'FAILURE') {
    throw errorFromFailure(response.code, response.message, {
      address: connection.address,
      request: request.type,
    });
  }
  if (response.type !== expected) {
    throw new ConnectionError(`expected ${expected}, got ${response.type}`, connection.address, {
      request: request.type,
    });
  }
  return response as ResponseOf<T>;
}
