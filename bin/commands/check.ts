import { parseArgs } from 'node:util';
import { checkCluster, type ClusterCheck } from '../../index.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const CHECK_USAGE = `dqlite-ts check --cluster HOST:PORT[,...] ${TLS_USAGE} [DATABASE]
  Checks that every node holds the same data: each voter and standby hashes its databases at one
  Raft index (spares hold no data), and the command prints each node's answer. Exits 1 when a
  node's content differs from the majority's or a node could not answer, 0 when all agree.
  dqlite-ts clusters only.`;

/** `dqlite-ts check`: a content check across the cluster (checkCluster). */
export async function runCheck(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cluster: { type: 'string' }, ...TLS_ARGUMENTS },
  });
  if (values.cluster === undefined) throw new UsageError('missing --cluster');
  if (positionals.length > 1) throw new UsageError('check takes at most one DATABASE');
  const check = await checkCluster({
    cluster: values.cluster.split(','),
    database: positionals[0],
    tls: tlsFromFiles(values),
  });
  for (const line of describeCheck(check)) console.log(line);
  const unanswered = check.nodes.filter((node) => node.error !== undefined);
  return check.diverged.length > 0 || unanswered.length > 0 ? 1 : 0;
}

/** One line per node and database, then the verdict. */
export function describeCheck(check: ClusterCheck): string[] {
  const lines = [`content check at index ${check.index}`];
  for (const node of check.nodes) {
    const who = `node ${node.id.toString(16)} ${node.address} (${node.role})`;
    if (node.skipped !== undefined) {
      lines.push(`${who}: not checked: ${node.skipped}`);
      continue;
    }
    if (node.error !== undefined) {
      lines.push(`${who}: no answer: ${node.error}`);
      continue;
    }
    const verdict = node.diverged ? 'DIVERGED' : 'ok';
    lines.push(`${who}: ${verdict}`);
    for (const digest of node.databases ?? []) {
      lines.push(`  ${digest.name} ${digest.pages} pages sha256 ${digest.hash}`);
    }
  }
  if (check.diverged.length > 0) {
    const names = check.diverged.map((node) => node.address).join(', ');
    lines.push(`DIVERGED: ${names} hold data the others do not`);
  } else lines.push('every node that answered holds the same data');
  return lines;
}
