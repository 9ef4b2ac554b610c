import type { Entry } from '../raft/types.js';
import { decodeBatch, findBatchHeader, type BatchDecoding } from './batch-record.js';
import { StorageCorruptError } from './storage-corrupt-error.js';

export interface SegmentRecord {
  /** Byte offset of the record in its segment, for error messages. */
  readonly offset: number;
  readonly firstIndex: number;
  readonly entries: readonly Entry[];
}

export interface SegmentContents {
  readonly records: readonly SegmentRecord[];
  /** Bytes of whole valid records; a torn tail, if any, starts here. */
  readonly validBytes: number;
}

/**
 * Decodes every record of one segment file.
 *
 * Only the last segment may end in a torn write: each record is fsynced before the next one is
 * written and before a later segment is created, so every earlier byte was durable. In the last
 * segment, the first bad record is a torn tail when no valid record header follows it (a write
 * that never completed is the last thing in the file); then it and everything after it are
 * dropped. A valid header after it means durable records follow the damage, so this is
 * corruption, not a crash, and a `StorageCorruptError` names the bad record. A record with valid
 * checksums but impossible content is always corruption.
 *
 * One false alarm is possible: entry data of the torn record that happens to contain a complete
 * record header with a valid checksum. Startup then fails loudly; no entry is lost silently.
 */
export function readSegment(file: string, buffer: Buffer, tailTolerated: boolean): SegmentContents {
  const records: SegmentRecord[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const decoding = decodeBatch(buffer, offset);
    if (decoding.kind === 'record') {
      records.push({ offset, firstIndex: decoding.firstIndex, entries: decoding.entries });
      offset = decoding.end;
      continue;
    }
    if (decoding.kind === 'malformed' || !tailTolerated) {
      throw new StorageCorruptError(file, offset, decoding.problem);
    }
    if (findBatchHeader(buffer, resumeOffset(decoding, offset, buffer.length)) !== -1) {
      throw new StorageCorruptError(file, offset, `${decoding.problem}, and valid records follow`);
    }
    return { records, validBytes: offset };
  }
  return { records, validBytes: offset };
}

/**
 * Where a later valid record could start after a bad one: after its body when the header (and
 * so the length) is trustworthy, otherwise at the next byte.
 */
function resumeOffset(decoding: BatchDecoding, offset: number, fileBytes: number): number {
  if (decoding.kind === 'bad-body') return Math.min(decoding.end, fileBytes);
  return offset + 1;
}
