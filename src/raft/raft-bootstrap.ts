import { encodeConfiguration } from './configuration.js';
import type { RaftInitialState } from './raft-storage.js';
import { EntryType, type Configuration, type Entry, type HardState, type NodeId } from './types.js';

/**
 * The term a brand-new cluster starts in. No node leads it: the first election raises the term
 * above it (becomeLeader asserts this), so a node whose durable term is at most this one has never
 * answered a leader.
 */
export const bootstrapTerm = 1;

/** The state a brand-new cluster's first node starts from: entry 1 holds the configuration. */
export function bootstrapState(configuration: Configuration): RaftInitialState {
  return {
    hardState: { term: bootstrapTerm, vote: 0 },
    snapshot: undefined,
    entries: [
      {
        index: 1,
        term: bootstrapTerm,
        type: EntryType.configuration,
        data: encodeConfiguration(configuration),
      },
    ],
  };
}

/**
 * Forced recovery after a permanent loss of quorum (canonical raft's `raft_recover`): what one
 * surviving node persists before it restarts so that `configuration` (normally just itself) is in
 * force. The entry takes a term above any it has seen, and the node votes for itself in that term,
 * so no other node can ever write a different entry with that index and term. Entries only the
 * lost majority held are gone; other survivors rejoin by being added again.
 */
export function recoveryWrite(
  state: RaftInitialState,
  id: NodeId,
  configuration: Configuration,
): { readonly hardState: HardState; readonly entries: readonly Entry[] } {
  const last = state.entries.at(-1);
  const lastIndex = last?.index ?? state.snapshot?.index ?? 0;
  const term = Math.max(last?.term ?? 0, state.snapshot?.term ?? 0, state.hardState.term) + 1;
  const data = encodeConfiguration(configuration);
  return {
    hardState: { term, vote: id },
    entries: [{ index: lastIndex + 1, term, type: EntryType.configuration, data }],
  };
}
