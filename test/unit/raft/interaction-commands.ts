import type { RaftConfig } from '../../../src/raft/config.js';
import { Role, type Message, type NodeId } from '../../../src/raft/types.js';
import type { CommandArguments } from './datadriven.js';
import { describeMessage } from './describe-raft.js';
import { InstantStorage } from './instant-storage.js';
import { InteractionCluster, type InteractionNode } from './interaction-cluster.js';
import type { InteractionSession } from './interaction-session.js';

/**
 * The commands that drive the network and the leader: cluster set-up, ticks, delivery, partitions
 * and client requests. Each appends its output lines to `out`.
 */

/** Most messages one `deliver-all` delivers before it calls the run a livelock. */
const deliverAllMax = 10_000;
/** Most ticks `campaign` gives a node to start an election. */
const campaignTicksMax = 1_000;

/** `key=value` names of the `cluster` command and the RaftConfig fields they set. */
const integerOptions = {
  election: 'electionTimeoutTicks',
  heartbeat: 'heartbeatTicks',
  inflight: 'inflightMessagesMax',
  inflightBytes: 'inflightBytesMax',
  appendBytes: 'appendBytesMax',
  uncommitted: 'uncommittedEntriesMax',
  trailing: 'snapshotTrailingEntries',
  chunk: 'snapshotChunkBytes',
  snapshotTimeout: 'snapshotTimeoutTicks',
  rounds: 'promotionRoundsMax',
} as const;
const booleanOptions = { preVote: 'preVote', checkQuorum: 'checkQuorum', lease: 'leaseReads' };

export function startCluster(
  session: InteractionSession,
  args: CommandArguments,
  out: string[],
): void {
  const config: Record<string, number | boolean> = { electionTimeoutTicks: 10, heartbeatTicks: 1 };
  for (const [key, field] of Object.entries(integerOptions)) {
    const value = args.integer(key);
    if (value !== undefined) config[field] = value;
  }
  for (const [key, field] of Object.entries(booleanOptions)) {
    const value = args.boolean(key);
    if (value !== undefined) config[field] = value;
  }
  session.cluster = new InteractionCluster({
    voters: args.integer('voters') ?? args.fail('voters= is required'),
    config: config as Partial<RaftConfig>,
    snapshotThresholdEntries: args.integer('snapshotThreshold') ?? 1_000_000,
    manualDisks: args.integers('manual'),
  });
  out.push(...session.cluster.render());
}

/** Node ids from the positional arguments; `all` means every live node. */
function targetNodes(session: InteractionSession, args: CommandArguments): NodeId[] {
  if (args.positionalCount() === 1 && args.word(0) === 'all') {
    return [...session.cluster.nodes.values()].filter((node) => node.up).map((node) => node.id);
  }
  const ids = args.nodeIds();
  if (ids.length === 0) args.fail('name at least one node');
  return ids;
}

export function tick(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const ids = targetNodes(session, args);
  const count = args.integer('n') ?? 1;
  for (let round = 0; round < count; round++) {
    for (const id of ids) session.cluster.liveNode(id).tick();
  }
  out.push(...session.cluster.render());
}

export function campaign(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const node = session.cluster.liveNode(args.integerAt(0));
  if (node.driver.core.status().role === 'leader') throw new Error(`node ${node.id} leads`);
  const before = session.cluster.campaigns(node.id);
  let ticks = 0;
  while (session.cluster.campaigns(node.id) === before) {
    if (ticks >= campaignTicksMax) throw new Error(`node ${node.id} never campaigned`);
    node.tick();
    ticks += 1;
  }
  out.push(`n${node.id} campaigns after ${ticks} ticks`, ...session.cluster.render());
}

/** AppendEntries without entries (heartbeat=true) or with some (heartbeat=false). */
function isHeartbeat(message: Message): boolean {
  return message.type === 'AppendEntries' && message.entries.length === 0;
}

function carriesEntries(message: Message): boolean {
  return message.type === 'AppendEntries' && message.entries.length > 0;
}

function kindFilter(heartbeat: boolean | undefined): (message: Message) => boolean {
  if (heartbeat === undefined) return () => true;
  return heartbeat ? isHeartbeat : carriesEntries;
}

function messageFilter(args: CommandArguments): (message: Message) => boolean {
  const from = args.integer('from');
  const to = args.integer('to');
  const type = args.string('type');
  const kind = kindFilter(args.boolean('heartbeat'));
  return (message) =>
    (from === undefined || message.from === from) &&
    (to === undefined || message.to === to) &&
    (type === undefined || message.type === type) &&
    kind(message);
}

/** Delivers one queued message and prints it with its consequences indented below it. */
function deliverOne(session: InteractionSession, message: Message, out: string[]): void {
  const cluster = session.cluster;
  cluster.queue.splice(cluster.queue.indexOf(message), 1);
  out.push(describeMessage(message));
  cluster.deliver(message);
  out.push(...cluster.render().map((line) => `  ${line}`));
}

export function deliver(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const matches = messageFilter(args);
  const count = args.integer('count') ?? Infinity;
  let delivered = 0;
  for (const message of [...session.cluster.queue]) {
    if (delivered >= count) break;
    if (!matches(message) || !session.cluster.queue.includes(message)) continue;
    deliverOne(session, message, out);
    delivered += 1;
  }
  if (delivered === 0) out.push('no message matched');
}

export function deliverAll(
  session: InteractionSession,
  args: CommandArguments,
  out: string[],
): void {
  const limit = args.integer('limit') ?? deliverAllMax;
  for (let delivered = 0; session.cluster.queue.length > 0; delivered++) {
    if (delivered >= limit) throw new Error(`still delivering after ${limit} messages: livelock?`);
    const message = session.cluster.queue[0];
    if (message !== undefined) deliverOne(session, message, out);
  }
  if (out.length === 0) out.push('no message queued');
}

export function drop(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const matches = messageFilter(args);
  const count = args.integer('count') ?? Infinity;
  const kept: Message[] = [];
  for (const message of session.cluster.queue) {
    if (out.length < count && matches(message)) out.push(`dropped ${describeMessage(message)}`);
    else kept.push(message);
  }
  session.cluster.queue = kept;
  if (out.length === 0) out.push('no message matched');
}

export function dropUndeliverable(session: InteractionSession, out: string[]): void {
  for (const message of session.cluster.dropUndeliverable()) {
    const reason = session.cluster.lossReason(message.from, message.to);
    out.push(`dropped ${describeMessage(message)} (${reason})`);
  }
}

export function cut(session: InteractionSession, args: CommandArguments, out: string[]): void {
  session.cluster.cut(args.integerAt(0), args.integerAt(1));
  dropUndeliverable(session, out);
  out.push(...session.cluster.render());
}

export function isolate(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const id = args.integerAt(0);
  for (const other of session.cluster.nodes.keys()) {
    if (other !== id) session.cluster.cut(id, other);
  }
  dropUndeliverable(session, out);
  out.push(...session.cluster.render());
}

export function heal(session: InteractionSession, _args: CommandArguments, out: string[]): void {
  session.cluster.heal();
  out.push(...session.cluster.render());
}

type RequestResult =
  | { readonly ok: false; readonly code: string; readonly message: string }
  | { readonly ok: true; readonly index?: number; readonly term?: number; catchingUp?: true };

function describeResult(result: RequestResult): string {
  if (!result.ok) return `refused ${result.code}: ${result.message}`;
  if (result.catchingUp === true) return 'ok: catching up';
  if (result.index !== undefined) return `ok index=${result.index} term=${result.term}`;
  return 'ok';
}

/** Runs a leader request on node `args[0]` and prints its result, then what it caused. */
function request(
  session: InteractionSession,
  args: CommandArguments,
  out: string[],
  action: (driver: InteractionNode['driver']) => RequestResult,
): void {
  const node = session.cluster.liveNode(args.integerAt(0));
  out.push(describeResult(action(node.driver)), ...session.cluster.render());
}

export function propose(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const text = args.rest(1);
  request(session, args, out, (driver) => driver.propose(Buffer.from(text)));
}

/** `propose-all <id> a b …`: one command entry per word, appended in one input (proposeAll). */
export function proposeAll(
  session: InteractionSession,
  args: CommandArguments,
  out: string[],
): void {
  const words = args
    .rest(1)
    .split(' ')
    .filter((word) => word !== '');
  const node = session.cluster.liveNode(args.integerAt(0));
  const { appended, refusal } = node.driver.proposeAll(words.map((word) => Buffer.from(word)));
  const lines = appended.map((entry) => `ok index=${entry.index} term=${entry.term}`);
  if (refusal !== undefined) lines.push(`refused ${refusal.code}: ${refusal.message}`);
  out.push(...lines, ...session.cluster.render());
}

export function add(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const id = args.integer('id') ?? args.fail('id= is required');
  const address = args.string('address') ?? `node-${id}`;
  request(session, args, out, (driver) => {
    const result = driver.changeMembership({ type: 'add', id, address });
    // The new server starts with an empty log. Spares receive nothing, so it may start after the
    // leader appended the change.
    if (result.ok && !session.cluster.nodes.has(id)) {
      session.cluster.startNode(id, new InstantStorage());
    }
    return result;
  });
}

const roles: Record<string, Role> = {
  voter: Role.voter,
  standby: Role.standby,
  spare: Role.spare,
};

export function assign(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const id = args.integer('id') ?? args.fail('id= is required');
  const role = roles[args.string('role') ?? ''] ?? args.fail('role=voter|standby|spare');
  request(session, args, out, (driver) => driver.changeMembership({ type: 'assign', id, role }));
}

export function remove(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const id = args.integer('id') ?? args.fail('id= is required');
  request(session, args, out, (driver) => driver.changeMembership({ type: 'remove', id }));
}

export function transfer(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const target = args.integer('to');
  request(session, args, out, (driver) => driver.transferLeadership(target));
}

export function read(session: InteractionSession, args: CommandArguments, out: string[]): void {
  const id = args.integer('id') ?? args.fail('id= is required');
  const follower = args.boolean('follower') ?? false;
  request(session, args, out, (driver) => driver.readIndex(id, { follower }));
}
