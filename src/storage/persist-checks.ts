import { configurationProblem } from '../raft/configuration.js';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import { isEntryType } from './batch-record.js';

/** What a persist is checked against: the state once every queued operation has run. */
export interface PersistContext {
  readonly entryBytesMax: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly logFirstIndex: number;
  readonly logLastIndex: number;
  /** Term of a stored entry in [logFirstIndex, logLastIndex]. */
  readonly termAt: (index: number) => number;
  readonly hardStateTerm: number;
}

/**
 * Throws a TypeError or RangeError naming the problem when a persist breaks the contract: entries
 * must be well formed, contiguous, of non-decreasing terms (§5.3), and start after the snapshot
 * and no later than the end of the log (a replacement of a suffix, or an append); the term never
 * decreases (§5.1). Checked at the call, so nothing of a refused persist is queued.
 */
export function checkPersist(
  write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
  context: PersistContext,
): void {
  if (typeof write !== 'object' || write === null || !Array.isArray(write.entries)) {
    throw new TypeError('persist: write.entries must be an array');
  }
  write.entries.forEach((entry, position) => checkEntry(entry, position, context.entryBytesMax));
  checkPlacement(write.entries, context);
  if (write.hardState !== undefined) checkHardState(write.hardState, context.hardStateTerm);
}

function checkEntry(entry: Entry, position: number, entryBytesMax: number): void {
  const name = `persist: entries[${position}]`;
  if (typeof entry !== 'object' || entry === null) throw new TypeError(`${name} must be an entry`);
  if (!isPositiveSafeInteger(entry.index)) throw new RangeError(`${name}.index must be >= 1`);
  if (!isPositiveSafeInteger(entry.term)) throw new RangeError(`${name}.term must be >= 1`);
  if (!isEntryType(entry.type))
    throw new RangeError(`${name}.type ${String(entry.type)} is unknown`);
  if (!(entry.data instanceof Uint8Array)) throw new TypeError(`${name}.data must be a Uint8Array`);
  if (entry.data.byteLength > entryBytesMax) {
    throw new RangeError(
      `${name}.data has ${entry.data.byteLength} bytes, more than entryBytesMax ${entryBytesMax}`,
    );
  }
}

function checkPlacement(entries: readonly Entry[], context: PersistContext): void {
  const first = entries[0];
  if (first === undefined) return;
  const logEmpty = context.logLastIndex < context.logFirstIndex;
  const nextIndex = logEmpty ? context.snapshotIndex + 1 : context.logLastIndex + 1;
  if (first.index <= context.snapshotIndex) {
    throw new RangeError(
      `persist: entries[0].index ${first.index} is covered by snapshot ${context.snapshotIndex}`,
    );
  }
  if (first.index > nextIndex) {
    throw new RangeError(
      `persist: entries[0].index ${first.index} leaves a gap after ${nextIndex - 1}`,
    );
  }
  const previousIndex = first.index - 1;
  let previousTerm = context.snapshotTerm;
  if (previousIndex >= context.logFirstIndex && previousIndex <= context.logLastIndex) {
    previousTerm = context.termAt(previousIndex);
  }
  entries.forEach((entry, position) => {
    if (entry.index !== first.index + position) {
      throw new RangeError(`persist: entries[${position}].index ${entry.index} is not contiguous`);
    }
    if (entry.term < previousTerm) {
      throw new RangeError(
        `persist: entries[${position}].term ${entry.term} is below ${previousTerm}`,
      );
    }
    previousTerm = entry.term;
  });
}

function checkHardState(hardState: HardState, currentTerm: number): void {
  if (typeof hardState !== 'object' || hardState === null) {
    throw new TypeError('persist: hardState must be an object');
  }
  if (!isSafeCount(hardState.term)) throw new RangeError('persist: hardState.term must be >= 0');
  if (!isSafeCount(hardState.vote)) throw new RangeError('persist: hardState.vote must be >= 0');
  if (hardState.term < currentTerm) {
    throw new RangeError(
      `persist: hardState.term ${hardState.term} is below the stored ${currentTerm}`,
    );
  }
}

/** Throws a RangeError naming the problem when `metadata` cannot describe a snapshot. */
export function checkSnapshotMetadata(metadata: SnapshotMetadata, what: string): void {
  if (typeof metadata !== 'object' || metadata === null)
    throw new TypeError(`${what}: metadata must be an object`);
  if (!isPositiveSafeInteger(metadata.index))
    throw new RangeError(`${what}: metadata.index must be >= 1`);
  if (!isPositiveSafeInteger(metadata.term))
    throw new RangeError(`${what}: metadata.term must be >= 1`);
  if (!isSafeCount(metadata.bytes)) throw new RangeError(`${what}: metadata.bytes must be >= 0`);
  if (!isSafeCount(metadata.configurationIndex) || metadata.configurationIndex > metadata.index) {
    throw new RangeError(`${what}: metadata.configurationIndex must be in [0, metadata.index]`);
  }
  const problem = configurationProblem(metadata.configuration);
  if (problem !== undefined) throw new RangeError(`${what}: metadata.configuration: ${problem}`);
}

export function isSafeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPositiveSafeInteger(value: unknown): value is number {
  return isSafeCount(value) && value >= 1;
}
