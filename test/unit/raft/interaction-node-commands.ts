import { recoveryWrite } from '../../../src/raft/raft-bootstrap.js';
import type { Done } from '../../../src/raft/raft-storage.js';
import { Role } from '../../../src/raft/types.js';
import type { CommandArguments } from './datadriven.js';
import {
  describeConfiguration,
  describeEntries,
  describeHardState,
  describeMessage,
  describeStatus,
} from './describe-raft.js';
import { dropUndeliverable } from './interaction-commands.js';
import { ManualStorage } from './manual-storage.js';
import type { RecordingStateMachine } from './test-cluster.js';
import type { InteractionSession } from './interaction-session.js';

/**
 * The commands about one node's life and storage (crash, restart, snapshot, fsync, forced
 * recovery) and the printers (`status`, `log`, `queue`). Each appends its output lines to `out`.
 */

/** Storage callbacks in the harness complete at once; an error there is a harness bug. */
const mustSucceed: Done = (error) => {
  if (error !== undefined) throw error;
};

export function crash(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.liveNode(args.integerAt(0));
  node.driver.stop();
  node.up = false;
  if (node.storage instanceof ManualStorage) {
    const lost = node.storage.forgetUnsynced();
    if (lost > 0) out.push(`n${node.id} lost ${lost} unsynced persist(s)`);
  }
  dropUndeliverable(session, out);
  out.push(...session.cluster.render());
}

export function restart(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.node(args.integerAt(0));
  if (node.up) args.fail(`node ${node.id} is running`);
  session.cluster.startNode(node.id, node.storage);
  session.cluster.forgetShown(node.id);
  out.push(...session.cluster.render());
}

/** Snapshots the state machine now, as the driver does at its threshold. */
export function snapshotNow(
  session: InteractionSession,
  args: CommandArguments,
  out: string[],
): void {
  const node = session.cluster.liveNode(args.integerAt(0));
  const core = node.driver.core;
  const applied = core.status().appliedIndex;
  if (node.fsm.lastAppliedIndex !== applied) {
    throw new Error(`state machine at ${node.fsm.lastAppliedIndex}, core applied ${applied}`);
  }
  const data = takeAtOnce(node.fsm);
  const metadata = core.snapshotMetadata(data.byteLength);
  node.storage.writeSnapshotChunk(metadata, 0, data, mustSucceed);
  const trailingEntries = core.config.snapshotTrailingEntries;
  node.storage.installSnapshot(metadata, { keepLogAfter: true, trailingEntries }, mustSucceed);
  core.snapshotTaken(metadata);
  out.push(
    `n${node.id} snapshot at ${metadata.index}/${metadata.term} size=${metadata.bytes}` +
      ` configuration=${describeConfiguration(metadata.configuration)}`,
    ...session.cluster.render(),
  );
}

/** The test machine's snapshot data; its snapshot and reads complete inside the calls. */
function takeAtOnce(fsm: RecordingStateMachine): Uint8Array {
  let data: Uint8Array | undefined;
  fsm.snapshot((error, source) => {
    if (error !== undefined || source === undefined) throw error ?? new Error('no snapshot');
    source.read(0, source.bytes, (readError, chunk) => {
      if (readError !== undefined) throw readError;
      data = chunk;
    });
    source.release();
  });
  if (data === undefined) throw new Error('the test machine did not answer at once');
  return data;
}

/** Completes the persist a node with a manual disk is running. */
export function sync(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.liveNode(args.integerAt(0));
  if (!(node.storage instanceof ManualStorage)) args.fail(`node ${node.id} has an instant disk`);
  const synced = node.storage.sync();
  out.push(`n${node.id} synced ${synced} persist(s)`, ...session.cluster.render());
}

/**
 * Forced recovery after a permanent loss of quorum: stops the node, writes `recoveryWrite` with
 * the given voters to its storage and starts it again.
 */
export function recover(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.node(args.integerAt(0));
  const voters = args.integers('voters');
  if (voters.length === 0) args.fail('voters= is required');
  if (node.up) crash(session, args, out);
  const servers = voters.map((id) => ({ id, address: `node-${id}`, role: Role.voter }));
  const write = recoveryWrite(node.storage.load(), node.id, { servers });
  out.push(
    `n${node.id} recovery write: hardState(${describeHardState(write.hardState)})` +
      ` entries=${describeEntries(write.entries)}`,
  );
  node.storage.persist(write, mustSucceed);
  if (node.storage instanceof ManualStorage) node.storage.sync();
  restart(session, args, out);
}

export function status(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const ids = args.positionalCount() > 0 ? args.nodeIds() : [...session.cluster.nodes.keys()];
  for (const id of ids.sort((a, b) => a - b)) {
    const node = session.cluster.node(id);
    if (!node.up) {
      out.push(`n${id}: down`);
      continue;
    }
    const current = node.driver.core.status();
    out.push(
      describeStatus(current, node.storage instanceof ManualStorage),
      `n${id} configuration ${current.configurationIndex}: ` +
        describeConfiguration(current.configuration),
    );
  }
}

/** A node's durable storage and what its state machine holds. */
export function logOf(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.node(args.integerAt(0));
  const stored = node.storage.load();
  const snapshot = stored.snapshot;
  out.push(
    `n${node.id} hardState(${describeHardState(stored.hardState)})` +
      ` snapshot=${snapshot === undefined ? 'none' : `${snapshot.index}/${snapshot.term}`}`,
    `n${node.id} entries=${describeEntries(stored.entries)}`,
    `n${node.id} applied=${JSON.stringify(node.fsm.texts())}` +
      (node.fsm.restoredFrom.length > 0 ? ` restored from ${node.fsm.restoredFrom.join(',')}` : ''),
  );
}

export function queue(session: InteractionSession, _args: CommandArguments, out: string[]): void {
  for (const message of session.cluster.queue) out.push(describeMessage(message));
  if (out.length === 0) out.push('(empty)');
}
