// Forced recovery of a stopped node after its cluster lost quorum for good: the node's Raft log
// gets a configuration entry that names only the given members (normally the node itself), so
// that it can elect itself and serve again. Kept apart from the running node because it runs on a
// data directory no node has open, once, from the command line or an operator's script.

import net from 'node:net';
import path from 'node:path';
import {
  Role,
  configurationProblem,
  recoveryWrite,
  type Configuration,
  type RaftInitialState,
} from '../raft/index.js';
import { FileStorage } from '../storage/index.js';
import { parsePeerAddress } from '../transport/index.js';
import { checkDataFormat } from './data-format.js';
import { readIdentity } from './node-identity.js';

/** How long the check that the node is stopped waits for its address to answer. */
const liveProbeMs = 1000;

/** A member of the recovered configuration: every one is a voter. */
export interface RecoveryMember {
  readonly id: number;
  readonly address: string;
}

export interface RecoverOptions {
  /** The stopped node's data directory. */
  readonly dataDir: string;
  /**
   * The voters of the new configuration. They must include this node; normally they are only
   * this node, and new nodes join it once it serves again.
   */
  readonly members: readonly RecoveryMember[];
  /** Only report what the node holds; change nothing. Default false. */
  readonly dryRun?: boolean;
}

/** What a node's log holds, and what recovery wrote. */
export interface RecoveryReport {
  readonly id: number;
  readonly address: string;
  /** The index and term of the newest entry the node holds (the snapshot's when its log is empty). */
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The highest term the node has seen (its durable term). */
  readonly term: number;
  /** The configuration entry written, unless `dryRun`. */
  readonly written?: { readonly index: number; readonly term: number };
}

/**
 * Rewrites a stopped node's Raft configuration so that it can form a new cluster after the others
 * are lost for good (canonical raft's `raft_recover`). Every entry the node holds stays: a
 * configuration entry with `members` as the only voters goes after its last one, in a term above
 * any it has seen and with its own vote in that term (raft-bootstrap.ts, `recoveryWrite`), written
 * and fsynced through the node's own storage. Entries only the lost nodes held are gone, and
 * with them any write acknowledged by a majority this node was not part of; run with `dryRun` on
 * each survivor first and recover the one with the highest last term, then last index.
 *
 * Refuses a running node (something answers at its address), a data directory of a newer format,
 * and members that leave this node out.
 *
 * @example
 * await recoverNode({ dataDir: './data', members: [{ id: 0x80f97f092399, address: '10.0.0.1:9001' }] });
 */
export async function recoverNode(options: RecoverOptions): Promise<RecoveryReport> {
  checkRecoverOptions(options);
  checkDataFormat(options.dataDir);
  const identity = readIdentity(options.dataDir);
  if (await answers(identity.address)) {
    throw new Error(
      `node ${identity.id.toString(16)} is running: something answers at ${identity.address}; ` +
        'stop it before recovering it',
    );
  }
  const configuration = recoveryConfiguration(identity, options.members);
  const storage = FileStorage.open({ directory: path.join(options.dataDir, 'raft') });
  try {
    const state = storage.load();
    const report = { ...identity, ...lastOf(state), term: state.hardState.term };
    if (options.dryRun === true) return report;
    const write = recoveryWrite(state, identity.id, configuration);
    await new Promise<void>((resolve, reject) =>
      storage.persist(write, (error) => (error === undefined ? resolve() : reject(error))),
    );
    const entry = write.entries[0];
    if (entry === undefined) throw new Error('recovery wrote no entry');
    return { ...report, written: { index: entry.index, term: entry.term } };
  } finally {
    await storage.close();
  }
}

function checkRecoverOptions(options: RecoverOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('recoverNode: options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!['dataDir', 'members', 'dryRun'].includes(key)) {
      throw new TypeError(`recoverNode: unknown option "${key}"`);
    }
  }
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError('recoverNode: dataDir must be a directory path');
  }
  if (!Array.isArray(options.members) || options.members.length === 0) {
    throw new TypeError('recoverNode: members must be a non-empty array of { id, address }');
  }
}

/** The new configuration, every member a voter, validated; it must keep this node. */
function recoveryConfiguration(
  self: { readonly id: number },
  members: readonly RecoveryMember[],
): Configuration {
  for (const member of members) {
    parsePeerAddress(member.address, `recoverNode: the address of member ${member.id}`);
  }
  const servers = members.map((member) => ({ id: member.id, address: member.address }));
  const configuration: Configuration = {
    servers: servers.map((server) => ({ ...server, role: Role.voter })),
  };
  const problem = configurationProblem(configuration);
  if (problem !== undefined) throw new RangeError(`recoverNode: members: ${problem}`);
  if (!servers.some((server) => server.id === self.id)) {
    throw new RangeError(
      `recoverNode: members must include this node, ${self.id.toString(16)}: it is the one that ` +
        'will lead the new cluster',
    );
  }
  return configuration;
}

function lastOf(state: RaftInitialState): { lastIndex: number; lastTerm: number } {
  const last = state.entries.at(-1);
  if (last !== undefined) return { lastIndex: last.index, lastTerm: last.term };
  return { lastIndex: state.snapshot?.index ?? 0, lastTerm: state.snapshot?.term ?? 0 };
}

/** Whether a connection to `address` succeeds within `liveProbeMs`: then the node runs. */
function answers(address: string): Promise<boolean> {
  const endpoint = parsePeerAddress(address);
  return new Promise((resolve) => {
    const socket = 'path' in endpoint ? net.connect(endpoint.path) : net.connect(endpoint);
    const finish = (live: boolean) => {
      socket.destroy();
      resolve(live);
    };
    socket.setTimeout(liveProbeMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
