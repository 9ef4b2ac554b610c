import fs from 'node:fs';
import path from 'node:path';
import type { Entry } from '../raft/types.js';
import type { Repair } from './recovery-repair.js';
import type { Segment, SegmentLogState } from './segment-log.js';
import { readSegment, type SegmentRecord } from './segment-reader.js';
import { StorageCorruptError } from './storage-corrupt-error.js';
import type { StorageFile } from './storage-file.js';
import { TermHistory } from './term-history.js';

type SegmentFile = Extract<StorageFile, { kind: 'segment' }>;

/** What the current snapshot says about the log (nothing when there is no snapshot). */
export interface LogBounds {
  /** Segments with a lower sequence were discarded by the snapshot. */
  readonly sequenceFirst: number;
  /** Entries below this index were compacted away. */
  readonly indexFirst: number;
  /** 0 without a snapshot. */
  readonly snapshotIndex: number;
  /** 0 without a snapshot. */
  readonly snapshotTerm: number;
}

export interface LogRecovery {
  readonly state: SegmentLogState;
  readonly entries: readonly Entry[];
  readonly repairs: readonly Repair[];
}

interface ReadSegment {
  readonly file: SegmentFile;
  readonly records: readonly SegmentRecord[];
  readonly bytes: number;
}

/**
 * Rebuilds the log by replaying every live segment's records in sequence order: a record that
 * starts at or below the last replayed index replaces the entries from there on, exactly as the
 * writes did. Then drops what the snapshot compacted, and checks that the result is contiguous
 * and fits the snapshot. Repairs: truncate the torn tail of the last segment (delete it if nothing
 * is left), delete segments the snapshot discarded or compacted and segments a later one
 * superseded.
 */
export function recoverLog(
  directory: string,
  files: readonly StorageFile[],
  bounds: LogBounds,
): LogRecovery {
  const all = files.filter((file): file is SegmentFile => file.kind === 'segment');
  all.sort((a, b) => a.sequence - b.sequence);
  const repairs: Repair[] = [];
  const obsolete = all.filter((file) => file.sequence < bounds.sequenceFirst);
  repairs.push(...obsolete.map((file) => deletion(file)));
  const read = readLiveSegments(directory, all.slice(obsolete.length), repairs);
  const current = dropSuperseded(read, repairs);
  const entries: Entry[] = [];
  for (const segment of current) replaySegment(directory, segment, entries, bounds.indexFirst);
  const kept = keepFrom(directory, entries, bounds, current);
  const live = dropCompacted(current, bounds.indexFirst, repairs);
  const terms = new TermHistory();
  for (const entry of kept) terms.append(entry.index, entry.term);
  const firstIndex = kept[0]?.index ?? bounds.indexFirst;
  const sequenceLast = Math.max(0, ...all.map((file) => file.sequence));
  const state: SegmentLogState = {
    segments: live.map((segment) => ({ ...segment })),
    sequenceNext: Math.max(sequenceLast + 1, bounds.sequenceFirst, 1),
    firstIndex,
    lastIndex: firstIndex + kept.length - 1,
    terms,
  };
  return { state, entries: kept, repairs };
}

function readLiveSegments(
  directory: string,
  files: readonly SegmentFile[],
  repairs: Repair[],
): ReadSegment[] {
  const read: ReadSegment[] = [];
  files.forEach((file, position) => {
    const name = path.join(directory, file.name);
    const buffer = fs.readFileSync(name);
    const last = position === files.length - 1;
    const contents = readSegment(name, buffer, last);
    if (contents.records.length === 0) {
      // Only the last segment can be empty: it was created and the crash came before its first
      // record was durable. An earlier one lost records that were acknowledged.
      if (!last) throw new StorageCorruptError(name, 0, 'segment without records');
      repairs.push(deletion(file));
      return;
    }
    if (contents.validBytes < buffer.length) {
      repairs.push({ kind: 'truncate', name: file.name, bytes: contents.validBytes });
    }
    read.push({ file, records: contents.records, bytes: contents.validBytes });
  });
  return read;
}

function replaySegment(
  directory: string,
  segment: ReadSegment,
  entries: Entry[],
  indexFirst: number,
): void {
  const name = path.join(directory, segment.file.name);
  segment.records.forEach((record, position) => {
    const corrupt = (problem: string) => new StorageCorruptError(name, record.offset, problem);
    if (position === 0 && record.firstIndex !== segment.file.firstIndex) {
      throw corrupt(
        `first record starts at ${record.firstIndex}, the name says ${segment.file.firstIndex}`,
      );
    }
    if (record.firstIndex < segment.file.firstIndex) {
      throw corrupt(`record starts at ${record.firstIndex}, before the segment`);
    }
    const base = entries[0]?.index ?? record.firstIndex;
    const next = base + entries.length;
    if (record.firstIndex < base)
      throw corrupt(`record starts at ${record.firstIndex}, before the log`);
    if (record.firstIndex > next) {
      // Compaction deletes segments oldest first, but a crash may persist only some of those
      // deletions, in any order: a gap below the snapshot's first kept index is such a leftover.
      if (record.firstIndex > indexFirst)
        throw corrupt(`gap: record starts at ${record.firstIndex}, expected ${next}`);
      entries.length = 0;
    } else {
      entries.length = record.firstIndex - base;
    }
    const previous = entries[entries.length - 1];
    const firstTerm = (record.entries[0] as Entry).term;
    if (previous !== undefined && firstTerm < previous.term) {
      throw corrupt(`term ${firstTerm} at ${record.firstIndex} after term ${previous.term}`);
    }
    // A loop, not a spread: a record may hold more entries than a call takes arguments.
    for (const entry of record.entries) entries.push(entry);
  });
}

/**
 * Drops segments superseded by a later one that starts at or below their first index: its first
 * record replaced every entry they hold. Skipping them, rather than replaying them, keeps the
 * replay correct whichever of them a crash left undeleted. What remains has increasing first
 * indexes.
 */
function dropSuperseded(read: readonly ReadSegment[], repairs: Repair[]): ReadSegment[] {
  const current: ReadSegment[] = [];
  for (const segment of read) {
    while (
      current.length > 0 &&
      (current[current.length - 1] as ReadSegment).file.firstIndex >= segment.file.firstIndex
    ) {
      repairs.push(deletion((current.pop() as ReadSegment).file));
    }
    current.push(segment);
  }
  return current;
}

/** Drops segments the snapshot compacted: their live entries end where the next segment starts. */
function dropCompacted(
  current: readonly ReadSegment[],
  indexFirst: number,
  repairs: Repair[],
): Segment[] {
  const live = [...current];
  while (live.length > 1 && (live[1] as ReadSegment).file.firstIndex <= indexFirst) {
    repairs.push(deletion((live.shift() as ReadSegment).file));
  }
  return live.map((segment) => ({
    sequence: segment.file.sequence,
    firstIndex: segment.file.firstIndex,
    bytes: segment.bytes,
  }));
}

/** The replayed entries from `bounds.indexFirst` on, checked against the snapshot. */
function keepFrom(
  directory: string,
  entries: readonly Entry[],
  bounds: LogBounds,
  read: readonly ReadSegment[],
): Entry[] {
  const first = entries[0];
  if (first === undefined) return [];
  const kept = entries.slice(Math.max(0, bounds.indexFirst - first.index));
  const problem = snapshotFitProblem(entries, kept, bounds);
  if (problem !== undefined) {
    const where = path.join(directory, (read[0] as ReadSegment).file.name);
    throw new StorageCorruptError(where, 0, problem);
  }
  return kept;
}

/**
 * Why a replayed, non-empty log does not fit the snapshot: a log without a snapshot starts at 1;
 * with one it starts no later than the first kept index, reaches the snapshot's index, agrees
 * with its term there and has no lower term after it (§5.3).
 */
function snapshotFitProblem(
  entries: readonly Entry[],
  kept: readonly Entry[],
  bounds: LogBounds,
): string | undefined {
  const first = (entries[0] as Entry).index;
  const last = first + entries.length - 1;
  if (bounds.snapshotIndex === 0 && first !== 1) {
    return `the log starts at ${first} but there is no snapshot`;
  }
  if (first > bounds.indexFirst) return `the log starts at ${first}, after ${bounds.indexFirst}`;
  if (last < bounds.snapshotIndex) {
    return `the log ends at ${last}, before snapshot ${bounds.snapshotIndex}`;
  }
  const keptFirst = kept[0];
  if (keptFirst === undefined) return `the log ends at ${last}, before ${bounds.indexFirst}`;
  const atSnapshot = kept[bounds.snapshotIndex - keptFirst.index];
  if (atSnapshot !== undefined && atSnapshot.term !== bounds.snapshotTerm) {
    return `entry ${atSnapshot.index} has term ${atSnapshot.term}, the snapshot ${bounds.snapshotTerm}`;
  }
  const afterSnapshot = kept[bounds.snapshotIndex + 1 - keptFirst.index];
  if (afterSnapshot !== undefined && afterSnapshot.term < bounds.snapshotTerm) {
    return `entry ${afterSnapshot.index} has term ${afterSnapshot.term}, below the snapshot's`;
  }
  return undefined;
}

function deletion(file: SegmentFile): Repair {
  return { kind: 'delete', name: file.name };
}
