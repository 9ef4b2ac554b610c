import { parseArgs } from 'node:util';
import { recoverNode, type RecoveryMember, type RecoveryReport } from '../../index.js';
import { UsageError } from './usage-error.js';

export const RECOVER_USAGE = `dqlite-ts recover --data DIR --members ID@HOST:PORT[,...] [--dry-run]
  Disaster recovery, on a stopped node, after the cluster lost a majority of its voters for good.
  Prints the node's last log index and term, then writes a new configuration whose only voters
  are --members (ID in hexadecimal, as \`dqlite-ts cluster\` prints it; normally just this node),
  keeping every entry the node holds. Start the node again afterwards: it leads alone, and new
  nodes join it with --join. --dry-run only prints the last index and term: run it on every
  survivor and recover the one with the highest last term, then the highest last index. Refuses
  to run while the node answers at its address. See docs/operations.md, "Losing quorum".`;

/** `dqlite-ts recover`: recoverNode from the command line, its dry run printed first. */
export async function runRecover(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      members: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  if (values.data === undefined) throw new UsageError('missing --data');
  if (values.members === undefined) throw new UsageError('missing --members');
  const members = parseMembers(values.members);
  const found = await recoverNode({ dataDir: values.data, members, dryRun: true });
  console.log(describeLast(found));
  if (values['dry-run'] === true) return 0;
  const recovered = await recoverNode({ dataDir: values.data, members });
  const written = recovered.written;
  if (written === undefined) throw new Error('recovery wrote nothing');
  const names = members.map((member) => `${member.id.toString(16)}@${member.address}`);
  console.log(
    `wrote configuration entry ${written.index} in term ${written.term}: voters ${names.join(', ')}`,
  );
  console.log('start the node again; new nodes join it with --join');
  return 0;
}

/** "node ID at ADDRESS: last index I, last term T (term T')": what survivors are compared by. */
export function describeLast(report: RecoveryReport): string {
  return (
    `node ${report.id.toString(16)} at ${report.address}: last index ${report.lastIndex}, ` +
    `last term ${report.lastTerm} (current term ${report.term})`
  );
}

/** `ID@HOST:PORT[,...]`, ids in hexadecimal as every command prints them (an optional 0x). */
export function parseMembers(text: string): RecoveryMember[] {
  return text
    .split(',')
    .filter((item) => item !== '')
    .map((item) => {
      const match = /^(?:0x)?([0-9a-fA-F]+)@(.+)$/.exec(item.trim());
      if (match === null) {
        throw new UsageError(`--members takes ID@HOST:PORT (ID in hexadecimal), got "${item}"`);
      }
      const id = Number.parseInt(match[1] as string, 16);
      if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`bad node id in "${item}"`);
      return { id, address: match[2] as string };
    });
}
