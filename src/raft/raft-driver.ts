import { assert } from './assert.js';
import type { MembershipChange } from './configuration.js';
import { DriverSnapshots } from './driver-snapshots.js';
import type { MembershipResult, ProposeAllResult, ProposeResult, RaftCore } from './raft-core.js';
import type { RaftStorage } from './raft-storage.js';
import type { RaftTransport } from './raft-transport.js';
import type { StateMachine } from './state-machine.js';
import type { PersistToken, RaftEvent, Ready, ReadState } from './ready.js';
import type { Message, NodeId } from './types.js';

export interface RaftDriverOptions {
  readonly core: RaftCore;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  /** Take a snapshot once this many entries were applied since the last one. Default 8192. */
  readonly snapshotThresholdEntries?: number;
  /**
   * Also take one once this many bytes of entries were applied since the last, so large entries
   * cannot keep the in-memory log growing. Default 256 MiB.
   */
  readonly snapshotThresholdBytes?: number;
  readonly onReadState?: (read: ReadState) => void;
  readonly onEvent?: (event: RaftEvent) => void;
  /**
   * Runs a callback soon, after the current burst of input (a host passes `setImmediate`). When
   * given, `propose` only appends and leaves the sending to one pass for the whole burst, so
   * proposals that arrive together share one AppendEntries per peer and one persist. Default:
   * each proposal is processed at once (the simulator, which has no event loop).
   */
  readonly defer?: (run: () => void) => void;
  /** Storage failed: the node cannot stay safe and must stop. Default: throw. */
  readonly onFatal?: (error: Error) => void;
}

/**
 * The one loop that follows the `Ready` contract (docs/contributing.md, "One loop owns the
 * ordering"): it persists, sends, applies and advances, with one persist in flight at a time so
 * that entries proposed during an fsync are written together by the next one (group commit). Inputs
 * arrive through `tick`, `receive` and the request methods; storage completions re-enter through
 * callbacks. Nothing here reads a clock, so the simulator drives it as it drives production. The
 * snapshot chunks and restores of a Ready, and the snapshots this node takes, are DriverSnapshots'
 * work; this loop decides only when each is handed over.
 */
export class RaftDriver {
  readonly core: RaftCore;
  readonly #options: RaftDriverOptions;
  /** Taking, storing, staging, reading and restoring snapshots (DriverSnapshots). */
  readonly #snapshots: DriverSnapshots;
  #persistInFlight = false;
  #processing = false;
  #again = false;
  /** State-machine work in order; a restore holds back later applies until it is done. */
  readonly #applyQueue: Array<() => boolean> = [];
  /** The last index the state machine applied (or restored to). */
  #appliedIndex = 0;
  /** Read states waiting for the state machine to reach their index. */
  #pendingReads: ReadState[] = [];
  #stopped = false;
  /** A pass for deferred proposals is scheduled. */
  #processDeferred = false;

  constructor(options: RaftDriverOptions) {
    this.core = options.core;
    this.#options = options;
    this.#snapshots = new DriverSnapshots(
      {
        core: options.core,
        storage: options.storage,
        stateMachine: options.stateMachine,
        stopped: () => this.#stopped,
        input: (action) => this.#input(action),
        process: () => this.#process(),
        fatal: (error) => this.#fatal(error),
      },
      {
        entries: options.snapshotThresholdEntries ?? 8192,
        bytes: options.snapshotThresholdBytes ?? 256 * 1024 * 1024,
      },
    );
    this.#process();
  }

  tick(): void {
    this.#input(() => this.core.tick());
  }

  receive(message: Message): void {
    this.#input(() => this.core.step(message));
  }

  propose(data: Uint8Array): ProposeResult {
    return this.#proposeInput(() => this.core.propose(data));
  }

  /** RaftCore.proposeAll: consecutive entries, appended in one input. */
  proposeAll(data: readonly Uint8Array[]): ProposeAllResult {
    return this.#proposeInput(() => this.core.proposeAll(data));
  }

  #proposeInput<T>(propose: () => T): T {
    const defer = this.#options.defer;
    if (defer === undefined) return this.#input(propose);
    assert(!this.#stopped, 'a stopped driver takes no input');
    const result = propose();
    if (!this.#processDeferred) {
      this.#processDeferred = true;
      defer(() => {
        this.#processDeferred = false;
        if (!this.#stopped) this.#process();
      });
    }
    return result;
  }

  proposeBarrier(): ProposeResult {
    return this.#input(() => this.core.proposeBarrier());
  }

  changeMembership(change: MembershipChange): MembershipResult {
    return this.#input(() => this.core.changeMembership(change));
  }

  transferLeadership(target?: NodeId) {
    return this.#input(() => this.core.transferLeadership(target));
  }

  /** RaftCore.readIndex; `follower` lets a follower ask its leader. */
  readIndex(requestId: number, options: { follower?: boolean } = {}) {
    return this.#input(() => this.core.readIndex(requestId, options));
  }

  /**
   * Whether a read this leader ran may be answered now with no round: what `readIndex` would
   * serve at once, already applied here (the same two conditions its readState waits for).
   */
  readConfirmedNow(): boolean {
    if (this.#stopped) return false;
    const index = this.core.readIndexNow();
    return index !== undefined && index <= this.#appliedIndex;
  }

  /** Stops processing; callbacks that complete later are ignored (a crash in the simulator). */
  stop(): void {
    this.#stopped = true;
  }

  #input<T>(action: () => T): T {
    assert(!this.#stopped, 'a stopped driver takes no input');
    const result = action();
    this.#process();
    return result;
  }

  /** Drains Ready batches. Re-entrant calls (synchronous callbacks) only flag another pass. */
  #process(): void {
    if (this.#processing) {
      this.#again = true;
      return;
    }
    this.#processing = true;
    try {
      let passes = 0;
      do {
        this.#again = false;
        while (!this.#stopped && this.core.hasReady({ persist: !this.#persistInFlight })) {
          assert(++passes < 1_000_000, 'Ready processing terminates');
          this.#handle(this.core.ready({ persist: !this.#persistInFlight }));
        }
        this.#runApplyQueue();
        this.#snapshots.maybeTake(this.#applyQueue.length === 0);
      } while (this.#again && !this.#stopped);
    } finally {
      this.#processing = false;
    }
  }

  #handle(ready: Ready): void {
    const { storage, transport } = this.#options;
    const token = ready.persistToken;
    if (token !== undefined) {
      this.#persistInFlight = true;
      const write = {
        entries: ready.entries,
        ...(ready.hardState ? { hardState: ready.hardState } : {}),
      };
      storage.persist(write, (error) => this.#persisted(token, ready.messagesAfterPersist, error));
    }
    for (const message of ready.messages) transport.send(message);
    for (const write of ready.snapshotWrites) this.#snapshots.write(write);
    for (const read of ready.snapshotReads) this.#snapshots.read(read);
    const restore = ready.restoreSnapshot;
    if (restore !== undefined) {
      // Later applies wait until the machine is done restoring.
      const restored = this.#snapshots.restore(restore);
      this.#applyQueue.push(() => {
        if (!restored()) return false;
        this.#appliedIndex = restore.index;
        return true;
      });
    }
    for (const entry of ready.committedEntries) {
      this.#applyQueue.push(() => {
        this.#options.stateMachine.apply(entry);
        this.#appliedIndex = entry.index;
        this.#snapshots.applied(entry.data.byteLength);
        return true;
      });
    }
    // A read may run only once the state machine reached its index (thesis §6.4 step 4), which
    // can be later than the entries of this Ready when this node's own disk lags.
    this.#pendingReads.push(...ready.readStates);
    for (const event of ready.events) this.#options.onEvent?.(event);
  }

  #persisted(token: PersistToken, after: readonly Message[], error: Error | undefined): void {
    if (this.#stopped) return;
    if (error !== undefined) return this.#fatal(error);
    this.#persistInFlight = false;
    this.core.persisted(token);
    for (const message of after) this.#options.transport.send(message);
    this.#process();
  }

  #runApplyQueue(): void {
    while (this.#applyQueue.length > 0) {
      const task = this.#applyQueue[0];
      if (task === undefined || !task()) break;
      this.#applyQueue.shift();
    }
    this.#releaseReads();
  }

  #releaseReads(): void {
    if (this.#pendingReads.length === 0) return;
    const ready = this.#pendingReads.filter((read) => read.index <= this.#appliedIndex);
    if (ready.length === 0) return;
    this.#pendingReads = this.#pendingReads.filter((read) => read.index > this.#appliedIndex);
    for (const read of ready) this.#options.onReadState?.(read);
  }

  #fatal(error: Error): void {
    this.#stopped = true;
    if (this.#options.onFatal) this.#options.onFatal(error);
    else throw error;
  }
}
