import { encodeConfiguration } from './configuration.js';
import type { RaftInitialState } from './raft-storage.js';
import { EntryType, type Configuration, type Entry, type HardState, type NodeId } from './types.js';

/** The state a brand-new cluster's first node starts from: entry 1 holds the configuration. */
export function bootstrapState(configuration: Configuration): RaftInitialState {
  return {
    hardState: { term: 1, vote: 0 },
    snapshot: undefined,
    entries: [
      {
        index: 1,
        term: 1,
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
