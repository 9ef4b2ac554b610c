// What a node logs of its own Raft and state machine: role changes, membership changes as they
// are applied, snapshots taken and installed. Kept apart from ReplicatedEngine, which only tells
// it what happened: which events deserve a line at the default level, and how a configuration
// entry reads as a change, are decisions about the log, not about running the node. Nothing here
// runs per request.

import {
  EntryType,
  decodeConfiguration,
  type Configuration,
  type Entry,
  type RaftEvent,
  type RaftInitialState,
  type SnapshotMetadata,
} from '../raft/index.js';
import { describeDifferences, membershipDifferences } from './membership-description.js';
import type { NodeLogger } from './node-logger.js';

/** The node's log of Raft: one line per role change, membership change and snapshot. */
export class EngineLog {
  readonly #log: NodeLogger;
  /** The configuration of the last configuration entry applied here (or restored). */
  #appliedConfiguration: Configuration;
  /** Entries up to here were in the log at startup: applying them again is logged at debug. */
  readonly #replayedIndex: number;

  /** `loaded` is what the node's disk held at startup. */
  constructor(log: NodeLogger, loaded: RaftInitialState) {
    this.#log = log;
    this.#appliedConfiguration = loaded.snapshot?.configuration ?? { servers: [] };
    this.#replayedIndex = loaded.entries.at(-1)?.index ?? loaded.snapshot?.index ?? 0;
  }

  /** Role changes at info (pre-votes, which an isolated node repeats, at debug); the rest debug. */
  event(event: RaftEvent): void {
    if (event.type === 'role-changed' && event.role !== 'pre-candidate') {
      this.#log.info({ role: event.role, term: event.term }, `became ${event.role}`);
    } else {
      this.#log.debug({ ...event }, `raft: ${event.type}`);
    }
  }

  /** An entry was applied: a configuration entry is a membership change. */
  applied(entry: Entry): void {
    if (entry.type !== EntryType.configuration) return;
    const configuration = decodeConfiguration(entry.data);
    const changes = membershipDifferences(this.#appliedConfiguration, configuration);
    this.#appliedConfiguration = configuration;
    const fields = { index: entry.index, term: entry.term, changes };
    const message = `membership changed: ${describeDifferences(changes)}`;
    if (entry.index <= this.#replayedIndex) this.#log.debug({ ...fields, replayed: true }, message);
    else this.#log.info(fields, message);
  }

  /** The SQL engine wrote a snapshot of `index` in `ms`. */
  taken(snapshot: { readonly index: number; readonly bytes: number }, ms: number): void {
    this.#log.info(
      { index: snapshot.index, bytes: snapshot.bytes, ms: Math.round(ms) },
      'snapshot taken',
    );
  }

  /** The databases now hold `metadata`'s snapshot, restored in `ms`. */
  restored(metadata: SnapshotMetadata, ms: number): void {
    this.#appliedConfiguration = metadata.configuration;
    this.#log.info(
      { index: metadata.index, bytes: metadata.bytes, ms: Math.round(ms) },
      'snapshot installed',
    );
  }
}
