import { parseArgs } from 'node:util';
import { NODE_LIMITS_DEFAULT, createNode, type NodeLimits } from '../../index.js';
import { logLevels, nodeLogger, parseLogLevel } from './node-log.js';
import { TLS_ARGUMENTS, TLS_USAGE, tlsFromFiles } from './tls-files.js';
import { UsageError } from './usage-error.js';

export const NODE_USAGE = `dqlite-ts node --address HOST:PORT --data DIR [--join HOST:PORT,...]
                [--voters N] [--standbys N] [--listen HOST:PORT|PATH]
                [--busy-timeout MS] [--snapshot-entries N] [--snapshot-trailing N]
                [--no-lease-reads]
                [--limit NAME=VALUE ...] [--http HOST:PORT] [--log-level LEVEL] ${TLS_USAGE}
  Runs one node in the foreground. The first node of a new cluster starts without --join; the
  others join through any existing node. A restart with the same --data keeps the node's
  identity and data; given --join, it asks to be added again if it was removed meanwhile.
  SIGTERM or SIGINT hands leadership over and exits.
  --snapshot-entries N snapshots the databases and compacts the log every N entries (default
  8192); --snapshot-trailing N keeps the last N entries before a snapshot (default 1024), so a
  follower less than N entries behind catches up from the log instead of a snapshot.
  --limit sets one of the node's limits (docs/limits.md), e.g. --limit connectionsMax=1000
  --limit idleTimeoutMs=0; names: ${Object.keys(NODE_LIMITS_DEFAULT).join(', ')}.
  --http serves Prometheus metrics (/metrics), probes (/healthz, /readyz) and a status page (/)
  on HOST:PORT (docs/operations.md, "Monitoring").
  --log-level is one of ${logLevels.join(', ')} (default info). The node logs on stderr: JSON
  lines, or short lines when stderr is a terminal.
  --tls-* (PEM files, all three or none) make every connection, to other nodes and from clients,
  mutual TLS: each side needs a certificate from the CA in --tls-ca, which should sign only this
  cluster's certificates (host names are not checked).`;

/** `dqlite-ts node`: one node in the foreground until a signal stops it. */
export async function runNode(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: 'string' },
      data: { type: 'string' },
      join: { type: 'string' },
      voters: { type: 'string' },
      standbys: { type: 'string' },
      listen: { type: 'string' },
      'busy-timeout': { type: 'string' },
      'snapshot-entries': { type: 'string' },
      'snapshot-trailing': { type: 'string' },
      'no-lease-reads': { type: 'boolean', default: false },
      limit: { type: 'string', multiple: true },
      http: { type: 'string' },
      'log-level': { type: 'string' },
      ...TLS_ARGUMENTS,
    },
  });
  if (values.address === undefined) throw new UsageError('missing --address');
  if (values.data === undefined) throw new UsageError('missing --data');
  const tls = tlsFromFiles(values);
  const logger = nodeLogger(parseLogLevel(values['log-level']));
  let fatal: Error | undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const node = await createNode({
    address: values.address,
    dataDir: values.data,
    join: values.join?.split(',').filter((address) => address !== '') ?? [],
    voters: integerOption(values.voters, '--voters'),
    standbys: integerOption(values.standbys, '--standbys'),
    listen: values.listen,
    busyTimeoutMs: integerOption(values['busy-timeout'], '--busy-timeout'),
    snapshotThresholdEntries: integerOption(values['snapshot-entries'], '--snapshot-entries'),
    raft: trailingOption(values['snapshot-trailing']),
    leaseReads: values['no-lease-reads'] !== true,
    limits: limitsOption(values.limit ?? []),
    tls,
    http: values.http === undefined ? undefined : { address: values.http },
    logger,
    onFatal: (error) => {
      fatal = error;
      stop();
    },
  });
  console.log(
    `dqlite-ts node ${node.id.toString(16)} serving at ${node.address} (data in ${values.data})`,
  );
  if (node.httpAddress !== undefined) {
    console.log(`dqlite-ts node ${node.id.toString(16)} monitoring at http://${node.httpAddress}/`);
  }
  const onSignal = () => stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await stopped;
  if (fatal !== undefined) {
    // The node logged the error with its stack; this line says the process ends because of it.
    console.error(`dqlite-ts node ${node.id.toString(16)} stopped: ${fatal.message}`);
    return 1;
  }
  await node.close();
  console.log(`dqlite-ts node ${node.id.toString(16)} closed`);
  return 0;
}

function integerOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new UsageError(`${name} must be an integer, got "${text}"`);
  return value;
}

/** `--snapshot-trailing N`: entries kept in the log before each snapshot (Raft's default 1024). */
function trailingOption(text: string | undefined): { snapshotTrailingEntries: number } | undefined {
  const entries = integerOption(text, '--snapshot-trailing');
  return entries === undefined ? undefined : { snapshotTrailingEntries: entries };
}

/** `--limit NAME=VALUE`, repeated: createNode checks the names and ranges and says what is wrong. */
function limitsOption(settings: readonly string[]): NodeLimits {
  const limits: Record<string, number> = {};
  for (const setting of settings) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(setting);
    if (match === null) throw new UsageError(`--limit takes NAME=INTEGER, got "${setting}"`);
    const name = match[1] as string;
    if (!(name in NODE_LIMITS_DEFAULT)) {
      throw new UsageError(
        `--limit: unknown limit "${name}" (${Object.keys(NODE_LIMITS_DEFAULT).join(', ')})`,
      );
    }
    limits[name] = Number(match[2]);
  }
  return limits;
}
