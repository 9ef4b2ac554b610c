import { assert } from '../raft/assert.js';
import { EntryType, type Entry } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { readUint64, writeUint64 } from './uint64.js';

/**
 * One record of a log segment: the entries of one persist (or of one slice of a large persist).
 * Little-endian, like the wire protocol:
 *
 *     header (32 bytes): magic u32, format version u32, first index u64, entry count u32,
 *                        body bytes u32, body checksum u32, header checksum u32
 *     body:              per entry: index u64, term u64, type u8, data bytes u32, data
 *
 * The header checksum covers the 28 bytes before it, body checksum included, so together they
 * cover the whole record. The header has its own checksum so that recovery can trust a record's
 * length before it reads the body: that is how it tells a torn last write from damage in the
 * middle of a segment (see `readSegment`). A record whose first index is at or below the last
 * stored index replaces the stored entries from that index on: the truncation and the new entries
 * are one record, so a crash keeps both or neither.
 */

export const batchMagic = 0x474c5144; // "DQLG" in little-endian byte order
export const batchFormatVersion = 1;
export const batchHeaderBytes = 32;
export const entryHeaderBytes = 21;
const headerChecksumOffset = 28;

/** Encoded size of one entry inside a record body. */
export function entryEncodedBytes(entry: Entry): number {
  return entryHeaderBytes + entry.data.byteLength;
}

/**
 * Entry data of at least this many bytes is written from where it lies (a part of its own in
 * `encodeBatchParts`); smaller data is copied in among the headers, where one more part would
 * cost more than the copy.
 */
const referencedDataBytesMin = 4096;

/** Encodes contiguous entries (checked by the caller) as one record, in one buffer. */
export function encodeBatch(entries: readonly Entry[]): Buffer {
  return Buffer.concat(encodeBatchParts(entries));
}

/**
 * Encodes contiguous entries as one record, as the pieces to write one after another (a
 * vectored write): headers and small data copied into one buffer, larger data referenced as it
 * is, never copied. A record of megabytes was copied whole for each write before, on every
 * node's main thread. The caller must not change the entries' data until the parts are written.
 */
export function encodeBatchParts(entries: readonly Entry[]): Uint8Array[] {
  const first = entries[0];
  assert(first !== undefined, 'a record holds at least one entry');
  let bodyBytes = 0;
  let copiedBytes = batchHeaderBytes;
  for (const entry of entries) {
    bodyBytes += entryEncodedBytes(entry);
    copiedBytes += entryHeaderBytes;
    if (entry.data.byteLength < referencedDataBytesMin) copiedBytes += entry.data.byteLength;
  }
  // Every byte of it is written below (the asserts count them), so it need not be zeroed first.
  const copied = Buffer.allocUnsafe(copiedBytes);
  const parts: Uint8Array[] = [];
  let position = batchHeaderBytes;
  let cut = 0;
  for (const entry of entries) {
    writeUint64(copied, entry.index, position);
    writeUint64(copied, entry.term, position + 8);
    copied.writeUInt8(entry.type, position + 16);
    copied.writeUInt32LE(entry.data.byteLength, position + 17);
    position += entryHeaderBytes;
    if (entry.data.byteLength < referencedDataBytesMin) {
      copied.set(entry.data, position);
      position += entry.data.byteLength;
    } else {
      parts.push(copied.subarray(cut, position), entry.data);
      cut = position;
    }
  }
  assert(position === copied.length, `record headers filled ${position} of ${copied.length} bytes`);
  if (cut < position) parts.push(copied.subarray(cut, position));
  let bodyChecksum = crc32c(copied, 0, batchHeaderBytes, parts[0]?.byteLength ?? 0);
  for (const part of parts.slice(1)) bodyChecksum = crc32c(part, bodyChecksum);
  copied.writeUInt32LE(batchMagic, 0);
  copied.writeUInt32LE(batchFormatVersion, 4);
  writeUint64(copied, first.index, 8);
  copied.writeUInt32LE(entries.length, 16);
  copied.writeUInt32LE(bodyBytes, 20);
  copied.writeUInt32LE(bodyChecksum, 24);
  copied.writeUInt32LE(crc32c(copied, 0, 0, headerChecksumOffset), headerChecksumOffset);
  const recordBytes = parts.reduce((total, part) => total + part.byteLength, 0);
  assert(recordBytes === batchHeaderBytes + bodyBytes, `record of ${recordBytes} bytes`);
  return parts;
}

/**
 * What recovery found at one offset. `bad-header` and `bad-body` are what a torn write leaves;
 * `malformed` has valid checksums around impossible content, which only a bug or deliberate damage
 * produces, so recovery never mistakes it for a torn write.
 */
export type BatchDecoding =
  | {
      readonly kind: 'record';
      readonly firstIndex: number;
      readonly entries: readonly Entry[];
      readonly end: number;
    }
  | { readonly kind: 'bad-header'; readonly problem: string }
  | { readonly kind: 'bad-body'; readonly problem: string; readonly end: number }
  | { readonly kind: 'malformed'; readonly problem: string };

/** Decodes the record at `offset`; never reads outside `buffer`. */
export function decodeBatch(buffer: Buffer, offset: number): BatchDecoding {
  const headerProblem = batchHeaderProblem(buffer, offset);
  if (headerProblem !== undefined) return { kind: 'bad-header', problem: headerProblem };
  if (buffer.readUInt32LE(offset + 4) !== batchFormatVersion) {
    return { kind: 'malformed', problem: `format version ${buffer.readUInt32LE(offset + 4)}` };
  }
  const firstIndex = readUint64(buffer, offset + 8);
  const entryCount = buffer.readUInt32LE(offset + 16);
  const end = offset + batchHeaderBytes + buffer.readUInt32LE(offset + 20);
  if (firstIndex === undefined || firstIndex < 1) {
    return { kind: 'malformed', problem: 'first index out of range' };
  }
  if (entryCount === 0) return { kind: 'malformed', problem: 'record without entries' };
  if (end > buffer.length) {
    return { kind: 'bad-body', problem: 'record runs past the end of the file', end };
  }
  if (crc32c(buffer, 0, offset + batchHeaderBytes, end) !== buffer.readUInt32LE(offset + 24)) {
    return { kind: 'bad-body', problem: 'body checksum mismatch', end };
  }
  return decodeEntries(buffer, { start: offset + batchHeaderBytes, end, firstIndex, entryCount });
}

/** Why the header at `offset` is not a valid one, or `undefined` when it is. */
export function batchHeaderProblem(buffer: Buffer, offset: number): string | undefined {
  if (offset + batchHeaderBytes > buffer.length) return 'incomplete record header';
  if (buffer.readUInt32LE(offset) !== batchMagic) return 'bad record magic';
  const checksum = crc32c(buffer, 0, offset, offset + headerChecksumOffset);
  if (checksum !== buffer.readUInt32LE(offset + headerChecksumOffset)) {
    return 'header checksum mismatch';
  }
  return undefined;
}

/** The first offset >= `start` holding a valid record header, or -1. */
export function findBatchHeader(buffer: Buffer, start: number): number {
  for (let offset = start; offset + batchHeaderBytes <= buffer.length; offset++) {
    // The magic test rejects almost every offset before the checksum is computed.
    if (buffer.readUInt32LE(offset) !== batchMagic) continue;
    if (batchHeaderProblem(buffer, offset) === undefined) return offset;
  }
  return -1;
}

interface BodyLayout {
  readonly start: number;
  readonly end: number;
  readonly firstIndex: number;
  readonly entryCount: number;
}

function decodeEntries(buffer: Buffer, body: BodyLayout): BatchDecoding {
  const entries: Entry[] = [];
  let position = body.start;
  let previousTerm = 0;
  for (let i = 0; i < body.entryCount; i++) {
    if (position + entryHeaderBytes > body.end) {
      return { kind: 'malformed', problem: `entry ${i} header runs past the record` };
    }
    const index = readUint64(buffer, position);
    const term = readUint64(buffer, position + 8);
    const type = buffer.readUInt8(position + 16);
    const dataEnd = position + entryHeaderBytes + buffer.readUInt32LE(position + 17);
    if (index !== body.firstIndex + i) return { kind: 'malformed', problem: `entry ${i} index` };
    if (term === undefined || term < 1 || term < previousTerm) {
      return { kind: 'malformed', problem: `entry ${index} term ${String(term)}` };
    }
    if (!isEntryType(type)) return { kind: 'malformed', problem: `entry ${index} type ${type}` };
    if (dataEnd > body.end) return { kind: 'malformed', problem: `entry ${index} data too long` };
    entries.push({
      index,
      term,
      type,
      data: buffer.subarray(position + entryHeaderBytes, dataEnd),
    });
    previousTerm = term;
    position = dataEnd;
  }
  if (position !== body.end) return { kind: 'malformed', problem: 'bytes after the last entry' };
  return { kind: 'record', firstIndex: body.firstIndex, entries, end: body.end };
}

export function isEntryType(type: number): type is EntryType {
  return (
    type === EntryType.command || type === EntryType.barrier || type === EntryType.configuration
  );
}
