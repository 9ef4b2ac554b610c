import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import type { Entry } from '../raft/types.js';
import { batchHeaderBytes, encodeBatchParts, entryEncodedBytes } from './batch-record.js';
import { syncDirectory, writeAllParts, writeFully } from './durable-file.js';
import type { Step } from './operation-queue.js';
import { isWaitableStorageError } from './space-errors.js';
import { segmentFileName } from './storage-file.js';
import type { TermHistory } from './term-history.js';

/**
 * Segments are written with O_DSYNC: each write returns once its data (and the size needed to read
 * it back) is on disk, as a write followed by fdatasync would, in one system call and one trip
 * through libuv's thread pool instead of two: a persist is on every write's critical path.
 */
const { O_CREAT, O_DSYNC, O_EXCL, O_RDWR, O_WRONLY } = fs.constants;
const createDurably = O_WRONLY | O_CREAT | O_EXCL | O_DSYNC;
const openDurably = O_RDWR | O_DSYNC;

/*
 * Zeros are written ahead of the records (FileStorageOptions.preallocationBytes). A durable write
 * that grows the file also commits the file system's journal (the new size), and every node of a
 * local cluster shares that journal; an overwrite of zeros already on disk does not. So the open
 * segment grows a megabyte at a time and most appends are overwrites: measured here, 100 against
 * 160-200 µs per 15 KiB O_DSYNC write alone, and far more with three nodes appending at once.
 */

/** A live segment file. */
export interface Segment {
  readonly sequence: number;
  /** Index of the segment's first entry. Invariant: every record in it starts at or above. */
  readonly firstIndex: number;
  /** Where the next record goes once every queued write has run. */
  bytes: number;
  /**
   * Size of the file once every queued write has run, when zeros were written past `bytes` ahead
   * of the records (only the segment open for appends has them; recovery cuts them off).
   */
  allocated?: number;
}

/** The log as recovery found it. */
export interface SegmentLogState {
  /** Invariant: sequences and first indexes strictly increase; empty exactly when the log is. */
  readonly segments: Segment[];
  readonly sequenceNext: number;
  readonly firstIndex: number;
  /** Invariant: lastIndex >= firstIndex - 1; the log is empty when equal. */
  readonly lastIndex: number;
  readonly terms: TermHistory;
}

/** What a compaction leaves for the snapshot metadata to record, and the files it deletes. */
export interface Compaction {
  /** Segments with a lower sequence no longer hold live entries. */
  readonly sequenceFirst: number;
  /** Entries below this index are compacted away. */
  readonly indexFirst: number;
  /** Deletes the segments compacted away; the caller fsyncs the directory afterwards. */
  readonly steps: readonly Step[];
}

/**
 * The log's segment files. Every method updates the in-memory model at once, when the operation
 * is queued, and returns the file system steps that make it durable; the operation queue runs
 * those in order. So validation and planning see the state after every queued operation.
 *
 * Truncation (§5.3, a conflicting suffix) is written, not performed: a record whose first index is
 * at or below the last stored index replaces the entries from there on, and recovery replays it
 * that way. A record that starts below the current segment's first index starts a new segment;
 * the older segments that start at or above it hold nothing live any more and are deleted once
 * the new record and its directory entry are durable.
 */
export class SegmentLog {
  readonly #directory: string;
  readonly #segmentBytesMax: number;
  readonly #preallocationBytes: number;
  readonly #recordBytesMax: number;
  readonly #segments: Segment[];
  #sequenceNext: number;
  #firstIndex: number;
  #lastIndex: number;
  readonly #terms: TermHistory;
  /** The segment file open for appends (the I/O side: follows the steps as they run). */
  #open: { readonly name: string; readonly handle: FileHandle } | undefined;

  constructor(
    directory: string,
    limits: {
      readonly segmentBytesMax: number;
      readonly recordBytesMax: number;
      readonly preallocationBytes: number;
    },
    state: SegmentLogState,
  ) {
    this.#directory = directory;
    this.#segmentBytesMax = limits.segmentBytesMax;
    this.#preallocationBytes = Math.min(limits.preallocationBytes, limits.segmentBytesMax);
    this.#recordBytesMax = limits.recordBytesMax;
    this.#segments = state.segments;
    this.#sequenceNext = state.sequenceNext;
    this.#firstIndex = state.firstIndex;
    this.#lastIndex = state.lastIndex;
    this.#terms = state.terms;
    assert(this.#lastIndex >= this.#firstIndex - 1, 'log bounds are ordered');
    assert((this.#segments.length === 0) === this.isEmpty, 'segments exist exactly for a log');
  }

  get firstIndex(): number {
    return this.#firstIndex;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  get isEmpty(): boolean {
    return this.#lastIndex < this.#firstIndex;
  }

  /** How many segment files hold the log, and their bytes once every queued write has run. */
  files(): { readonly segments: number; readonly bytes: number } {
    let bytes = 0;
    for (const segment of this.#segments) bytes += segment.allocated ?? segment.bytes;
    return { segments: this.#segments.length, bytes };
  }

  termAt(index: number): number {
    assert(index >= this.#firstIndex && index <= this.#lastIndex, `entry ${index} is stored`);
    return this.#terms.termAt(index);
  }

  /** Plans writing checked, contiguous `entries`, replacing stored ones from the first's index. */
  append(entries: readonly Entry[]): Step[] {
    const first = entries[0];
    assert(first !== undefined, 'append writes at least one entry');
    assert(first.index >= this.#firstIndex, `entry ${first.index} starts inside the log`);
    assert(first.index <= this.#lastIndex + 1, `entry ${first.index} leaves no gap`);
    this.#terms.truncateFrom(first.index);
    const steps: Step[] = [];
    for (const group of groupIntoRecords(entries, this.#recordBytesMax)) {
      steps.push(...this.#appendRecord(group));
    }
    for (const entry of entries) this.#terms.append(entry.index, entry.term);
    this.#lastIndex = first.index + entries.length - 1;
    return steps;
  }

  /** Plans dropping every entry; the next one appended will be `nextIndex`. */
  discardAll(nextIndex: number): Compaction {
    const obsolete = this.#segments.splice(0);
    this.#firstIndex = nextIndex;
    this.#lastIndex = nextIndex - 1;
    this.#terms.clear();
    return {
      sequenceFirst: this.#sequenceNext,
      indexFirst: nextIndex,
      steps: obsolete.map((segment) => () => this.#delete(segment)),
    };
  }

  /** Plans dropping entries below `index`, deleting the segments that hold only such entries. */
  compactBefore(index: number): Compaction {
    assert(
      index >= this.#firstIndex && index <= this.#lastIndex,
      `compaction at ${index} keeps entries`,
    );
    const obsolete: Segment[] = [];
    // A segment's live entries end where the next segment starts.
    while (this.#segments.length > 1 && (this.#segments[1] as Segment).firstIndex <= index) {
      obsolete.push(this.#segments.shift() as Segment);
    }
    this.#firstIndex = index;
    this.#terms.compactBefore(index);
    const first = this.#segments[0];
    assert(first !== undefined && first.firstIndex <= index, 'a segment holds the new first entry');
    return {
      sequenceFirst: first.sequence,
      indexFirst: index,
      steps: obsolete.map((segment) => () => this.#delete(segment)),
    };
  }

  /** Closes the open segment; run as the last step. */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    await open?.handle.close();
  }

  /**
   * The steps that append `entries` as one record. The record is encoded (copied and checksummed)
   * by its write step, not here: a persist of many megabytes then encodes one record per step,
   * with the event loop free between them, instead of all of them at once while heartbeats wait.
   */
  #appendRecord(entries: readonly Entry[]): Step[] {
    const record = { entries, bytes: recordBytes(entries) };
    const firstIndex = (entries[0] as Entry).index;
    const current = this.#segments[this.#segments.length - 1];
    const roll =
      current === undefined ||
      firstIndex < current.firstIndex ||
      current.bytes >= this.#segmentBytesMax;
    if (!roll) {
      const offset = current.bytes;
      current.bytes += record.bytes;
      // The segment is open with O_DSYNC: each write returns once it is durable.
      const end = current.allocated ?? offset;
      return [...this.#preallocate(current, end), () => this.#write(current, record, offset)];
    }
    const superseded = this.#segments.filter((segment) => segment.firstIndex >= firstIndex);
    this.#segments.splice(this.#segments.length - superseded.length);
    // Only the last segment may end in zeros (recovery reads any other to its end): the one that
    // stops taking appends is cut to its records before the next one exists, even when it is
    // superseded (it stays on disk until the new segment is durable).
    const closing = current;
    const trim: Step[] =
      closing !== undefined && (closing.allocated ?? 0) > closing.bytes
        ? [() => this.#trim(closing)]
        : [];
    if (closing !== undefined) closing.allocated = undefined;
    const created: Segment = { sequence: this.#sequenceNext++, firstIndex, bytes: record.bytes };
    const previous = this.#segments[this.#segments.length - 1];
    assert(
      previous === undefined || previous.firstIndex < firstIndex,
      'segment first indexes increase',
    );
    this.#segments.push(created);
    const steps: Step[] = [
      ...trim,
      () => this.#create(created),
      ...this.#preallocate(created, 0),
      () => this.#write(created, record, 0),
      () => syncDirectory(this.#directory),
    ];
    if (superseded.length > 0) {
      steps.push(...superseded.map((segment) => () => this.#delete(segment)));
      steps.push(() => syncDirectory(this.#directory));
    }
    return steps;
  }

  #path(segment: Segment): string {
    return path.join(this.#directory, segmentFileName(segment.sequence, segment.firstIndex));
  }

  async #create(segment: Segment): Promise<void> {
    await this.close();
    // 'wx' fails on an existing file: sequences are never reused, so one would be a bug.
    const handle = await fs.promises.open(this.#path(segment), createDurably);
    this.#open = { name: this.#path(segment), handle };
  }

  async #handleOf(segment: Segment): Promise<FileHandle> {
    const name = this.#path(segment);
    if (this.#open?.name === name) return this.#open.handle;
    await this.close();
    const handle = await fs.promises.open(name, openDurably);
    this.#open = { name, handle };
    return handle;
  }

  /**
   * The step that writes zeros ahead when the segment's next record would grow the file, or
   * none. `from` is where the file ends now (its records' end for a new segment).
   */
  #preallocate(segment: Segment, from: number): Step[] {
    if (segment.bytes <= from || this.#preallocationBytes === 0) return [];
    const target = segment.bytes + this.#preallocationBytes;
    segment.allocated = target;
    return [() => this.#zeroFill(segment, from, target)];
  }

  async #zeroFill(segment: Segment, from: number, to: number): Promise<void> {
    try {
      await writeFully(await this.#handleOf(segment), Buffer.alloc(to - from), from);
    } catch (error) {
      // Only a speed-up: with the disk nearly full the records may still fit where a megabyte of
      // zeros does not. The records then grow the file; recovery cuts whatever zeros did land.
      if (!isWaitableStorageError(error)) throw error;
    }
  }

  /** Cuts a segment's zeros off, durably, before it stops being the last one. */
  async #trim(segment: Segment): Promise<void> {
    const handle = await this.#handleOf(segment);
    await handle.truncate(segment.bytes);
    await handle.datasync();
  }

  async #write(
    segment: Segment,
    record: { readonly entries: readonly Entry[]; readonly bytes: number },
    offset: number,
  ): Promise<void> {
    const parts = encodeBatchParts(record.entries);
    const bytes = parts.reduce((total, part) => total + part.byteLength, 0);
    assert(bytes === record.bytes, `record of ${bytes} bytes as planned`);
    await writeAllParts(await this.#handleOf(segment), parts, offset);
  }

  async #delete(segment: Segment): Promise<void> {
    if (this.#open?.name === this.#path(segment)) await this.close();
    await fs.promises.unlink(this.#path(segment));
  }
}

/**
 * Cuts entries into records of at most `recordBytesMax` bytes; an entry too large for that
 * travels alone, so a record never exceeds max(recordBytesMax, one entry and the headers).
 */
export function groupIntoRecords(entries: readonly Entry[], recordBytesMax: number): Entry[][] {
  const groups: Entry[][] = [];
  let group: Entry[] = [];
  let groupBytes = batchHeaderBytes;
  for (const entry of entries) {
    const bytes = entryEncodedBytes(entry);
    if (group.length > 0 && groupBytes + bytes > recordBytesMax) {
      groups.push(group);
      group = [];
      groupBytes = batchHeaderBytes;
    }
    group.push(entry);
    groupBytes += bytes;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** The bytes `encodeBatchParts(entries)` take. */
function recordBytes(entries: readonly Entry[]): number {
  let bytes = batchHeaderBytes;
  for (const entry of entries) bytes += entryEncodedBytes(entry);
  return bytes;
}
