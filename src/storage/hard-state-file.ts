import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import type { HardState } from '../raft/types.js';
import { overwriteFileDurably } from './durable-file.js';
import { decodeHardState, encodeHardState, type VersionedHardState } from './hard-state-record.js';
import type { Step } from './operation-queue.js';
import type { Repair } from './recovery-repair.js';
import { StorageCorruptError } from './storage-corrupt-error.js';
import { hardStateFileName, type HardStateSlot, type StorageFile } from './storage-file.js';

const slots: readonly HardStateSlot[] = [0, 1];

export interface HardStateRecovery {
  readonly current: VersionedHardState;
  readonly slotCurrent: HardStateSlot;
  readonly repairs: readonly Repair[];
}

/**
 * Term and vote (§5.1: persisted before answering a vote or acknowledging entries), kept in two
 * alternating files. A write always goes to the copy that is not current, with a higher version,
 * so a crash during the write leaves the other copy intact and recovery picks the valid copy with
 * the higher version. No rename is involved, so writes after startup need no directory fsync:
 * recovery makes sure both files exist, and every record has the same size, so a write
 * overwrites the old record in place.
 */
export class HardStateFile {
  readonly #directory: string;
  #current: VersionedHardState;
  #slotCurrent: HardStateSlot;

  constructor(directory: string, recovery: HardStateRecovery) {
    this.#directory = directory;
    this.#current = recovery.current;
    this.#slotCurrent = recovery.slotCurrent;
  }

  /** The hard state once every queued write has run. */
  get hardState(): HardState {
    return this.#current.hardState;
  }

  /** Plans writing `hardState` to the copy that is not current. */
  write(hardState: HardState): Step[] {
    const next: VersionedHardState = {
      version: this.#current.version + 1,
      hardState: { term: hardState.term, vote: hardState.vote },
    };
    const slot: HardStateSlot = this.#slotCurrent === 0 ? 1 : 0;
    const record = encodeHardState(next);
    assert(typeof decodeHardState(record) === 'object', 'hard state record decodes');
    this.#current = next;
    this.#slotCurrent = slot;
    // In place: a vote must be recordable on a full disk, or no election can finish there.
    return [
      () => overwriteFileDurably(path.join(this.#directory, hardStateFileName(slot)), record),
    ];
  }
}

/**
 * Reads both copies. Both valid: the higher version wins (equal versions hold equal states:
 * only recovery writes a copy of the current one). One valid: the other is a torn write. None
 * valid: either the very first write was torn before the second file existed (a fresh node), or,
 * when both files exist, damage that a crash cannot explain.
 */
export function recoverHardState(
  directory: string,
  files: readonly StorageFile[],
): HardStateRecovery {
  const present = new Set(files.filter((file) => file.kind === 'hard-state').map((f) => f.name));
  const decoded = slots.map((slot) => {
    const name = hardStateFileName(slot);
    if (!present.has(name)) return undefined;
    return decodeHardState(fs.readFileSync(path.join(directory, name)));
  });
  let slotCurrent: HardStateSlot | undefined;
  let current: VersionedHardState | undefined;
  for (const slot of slots) {
    const copy = decoded[slot];
    if (typeof copy !== 'object') continue;
    if (current === undefined || copy.version > current.version) {
      current = copy;
      slotCurrent = slot;
    }
  }
  const missing = slots.filter((slot) => !present.has(hardStateFileName(slot)));
  if (current === undefined || slotCurrent === undefined) {
    const first = missing[0];
    if (first === undefined) {
      const problems = decoded.map((copy) => String(copy)).join('; ');
      throw new StorageCorruptError(
        path.join(directory, hardStateFileName(0)),
        0,
        `both hard-state copies are invalid (${problems})`,
      );
    }
    current = { version: 0, hardState: { term: 0, vote: 0 } };
    slotCurrent = first;
  }
  const record = encodeHardState(current);
  const repairs: Repair[] = missing.map((slot) => ({
    kind: 'write',
    name: hardStateFileName(slot),
    data: record,
  }));
  return { current, slotCurrent, repairs };
}
