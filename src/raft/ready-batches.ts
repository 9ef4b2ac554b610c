// The output side of the Raft core: each Ready batch taken from the state's queues, and the
// persists handed out until their host reports them durable. Kept apart from RaftCore, whose
// methods are the inputs (ticks, messages, requests, completions): what a Ready holds and when a
// hard state, an entry or a message may leave is the durability contract (ready.ts), and it is
// kept here in one place.

import { assert } from './assert.js';
import type { RaftState } from './raft-state.js';
import type { PersistToken, Ready } from './ready.js';
import type { HardState, Message } from './types.js';

/**
 * Builds Ready batches from one node's state. Invariant: a persist's `capIndex` is at most the
 * last entry it wrote, and below every index truncated since it was handed out (`onTruncate`),
 * so `persisted` never marks an entry durable that is not on disk.
 */
export class ReadyBatches {
  readonly #state: RaftState;
  /** Persists handed out and not completed, with the highest index each may mark durable. */
  readonly #persists = new Map<PersistToken, { capIndex: number }>();
  #handedHardState: HardState;
  /** The term of the last hard state known durable. */
  #durableTerm: number;

  /** `hardState` is the one the node started with, durable already. */
  constructor(state: RaftState, hardState: HardState) {
    this.#state = state;
    this.#handedHardState = hardState;
    this.#durableTerm = hardState.term;
    state.log.onTruncate = (index) => {
      for (const record of this.#persists.values()) {
        record.capIndex = Math.min(record.capIndex, index - 1);
      }
    };
  }

  /** Whether `take(persist)` would return any work. */
  hasWork(persist: boolean): boolean {
    const state = this.#state;
    const log = state.log;
    const persistWork =
      state.messagesAfterPersist.length > 0 ||
      log.unstableIndex <= log.lastIndex() ||
      this.#hardStateChanged();
    return (
      (persist && persistWork) ||
      state.messages.length > 0 ||
      state.snapshotWrites.length > 0 ||
      state.snapshotReads.length > 0 ||
      state.readStates.length > 0 ||
      state.events.length > 0 ||
      state.restoreSnapshot !== undefined ||
      Math.min(log.commitIndex, log.durableIndex) > log.appliedIndex
    );
  }

  /** Takes the next batch of work; without `persist`, what needs a persist stays for later. */
  take(persist: boolean): Ready {
    const state = this.#state;
    this.#holdLeaderMessages();
    const hardState =
      persist && this.#hardStateChanged() ? { term: state.term, vote: state.vote } : undefined;
    const entries = persist ? state.log.takeUnstable() : [];
    const messagesAfterPersist = persist ? state.messagesAfterPersist : [];
    if (persist) state.messagesAfterPersist = [];
    let persistToken: PersistToken | undefined;
    if (hardState !== undefined || entries.length > 0 || messagesAfterPersist.length > 0) {
      this.#handedHardState = { term: state.term, vote: state.vote };
      const last = entries.at(-1);
      persistToken = {
        lastIndex: last?.index ?? 0,
        lastTerm: last?.term ?? 0,
        hardState: this.#handedHardState,
      };
      this.#persists.set(persistToken, { capIndex: last?.index ?? 0 });
    }
    const restoreSnapshot = state.restoreSnapshot;
    state.restoreSnapshot = undefined;
    const committedEntries = state.log.takeApplicable();
    if (committedEntries.length > 0) state.pruneConfigurations();
    const ready: Ready = {
      hardState,
      entries,
      persistToken,
      messages: state.messages,
      messagesAfterPersist,
      snapshotWrites: state.snapshotWrites,
      snapshotReads: state.snapshotReads,
      restoreSnapshot,
      committedEntries,
      readStates: state.readStates,
      events: state.events,
    };
    state.messages = [];
    state.snapshotWrites = [];
    state.snapshotReads = [];
    state.readStates = [];
    state.events = [];
    return ready;
  }

  /** A persist from `take` is durable. Persists complete in the order they were handed out. */
  persisted(token: PersistToken): void {
    const record = this.#persists.get(token);
    assert(record !== undefined, 'persisted() called with a token ready() handed out');
    this.#persists.delete(token);
    this.#durableTerm = Math.max(this.#durableTerm, token.hardState.term);
    if (record.capIndex > 0) this.#state.log.markDurable(record.capIndex);
  }

  #hardStateChanged(): boolean {
    return (
      this.#handedHardState.term !== this.#state.term ||
      this.#handedHardState.vote !== this.#state.vote
    );
  }

  /**
   * A leader must not act in a term that is not durable: after a crash it could forget the term,
   * vote for another candidate in it and let two leaders write the same index (§5.1 persists
   * currentTerm before responding). This only bites when a node wins without asking anyone (a
   * single voter); elsewhere the RequestVotes already waited for the persist.
   */
  #holdLeaderMessages(): void {
    const state = this.#state;
    if (state.messages.every((message) => message.term <= this.#durableTerm)) return;
    const sendable: Message[] = [];
    for (const message of state.messages) {
      const preVote =
        (message.type === 'RequestVote' || message.type === 'RequestVoteResult') && message.preVote;
      if (message.term <= this.#durableTerm || preVote) sendable.push(message);
      else state.messagesAfterPersist.push(message);
    }
    state.messages = sendable;
  }
}
