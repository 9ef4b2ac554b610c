import { HEADER_BYTES, ValueType, WORD_BYTES } from '../../../src/wire/index.js';
import type { Request, Response, RowBatch, WireValue } from '../../../src/wire/index.js';

/**
 * dqlite 1.11 does not zero the padding after a blob it sends (docs/wire-protocol.md §1), so a
 * captured message and our re-encoding of it differ in exactly those bytes. These helpers find
 * them from the decoded message, independently of the codec: offsets are summed from the
 * field sizes of §1 and §5.
 */

/** Offsets, within the whole message (header included), of every padding byte after a blob. */
export function blobPaddingOffsets(message: Request | Response): number[] {
  const offsets: number[] = [];
  switch (message.type) {
    case 'EXEC':
    case 'QUERY':
      if (message.parameters) {
        const start = HEADER_BYTES + WORD_BYTES; // db and stmt ids, u32 each
        collectParameters(message.parameters, message.schema ?? 0, start, offsets);
      }
      break;
    case 'EXEC_SQL':
    case 'QUERY_SQL':
      if (message.parameters) {
        const start = HEADER_BYTES + WORD_BYTES + textBytes(message.sql);
        collectParameters(message.parameters, message.schema ?? 0, start, offsets);
      }
      break;
    case 'ROWS':
      collectBatch(message, offsets);
      break;
    case 'FAILURE':
      if (message.partialBatch) collectBatch(message.partialBatch, offsets);
      break;
    default:
      break; // no other message carries blobs
  }
  return offsets;
}

/** A copy of `bytes` with the given offsets zeroed. */
export function zeroBytesAt(bytes: Buffer, offsets: readonly number[]): Buffer {
  const copy = Buffer.from(bytes);
  for (const offset of offsets) copy[offset] = 0;
  return copy;
}

function collectParameters(
  values: readonly WireValue[],
  schema: number,
  start: number,
  offsets: number[],
): void {
  // Schema 1 counts parameters in a u32, schema 0 in a byte; then one type byte each (§5.2).
  const countBytes = schema === 1 ? 4 : 1;
  const headerBytes = roundUpToWord(countBytes + values.length);
  collectValues(values, start + headerBytes, offsets);
}

function collectBatch(batch: RowBatch, offsets: number[]): void {
  let offset = HEADER_BYTES + WORD_BYTES; // column count
  for (const column of batch.columns) offset += textBytes(column);
  // Row header: one nibble per column, padded to words (§5.3).
  const rowHeaderBytes = roundUpToWord(Math.ceil(batch.columns.length / 2));
  for (const row of batch.rows) {
    offset = collectValues(row, offset + rowHeaderBytes, offsets);
  }
}

/** Walks values laid out from `start`; returns the offset after the last one. */
function collectValues(values: readonly WireValue[], start: number, offsets: number[]): number {
  let offset = start;
  for (const value of values) {
    if (value.type === ValueType.BLOB) {
      const dataEnd = offset + WORD_BYTES + value.value.byteLength;
      const end = offset + WORD_BYTES + roundUpToWord(value.value.byteLength);
      for (let padding = dataEnd; padding < end; padding++) offsets.push(padding);
      offset = end;
    } else if (value.type === ValueType.TEXT || value.type === ValueType.ISO8601) {
      offset += textBytes(value.value);
    } else {
      offset += WORD_BYTES;
    }
  }
  return offset;
}

/** UTF-8 bytes and at least one NUL, padded to words: `"abcdefgh"` takes 16 bytes (§1). */
function textBytes(text: string): number {
  return (Math.floor(Buffer.byteLength(text, 'utf8') / WORD_BYTES) + 1) * WORD_BYTES;
}

function roundUpToWord(bytes: number): number {
  return Math.ceil(bytes / WORD_BYTES) * WORD_BYTES;
}
