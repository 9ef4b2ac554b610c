import type { HardState } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { readUint64, writeUint64 } from './uint64.js';

/**
 * One copy of term and vote: magic u32, format version u32, version u64 (a counter that grows
 * with every write, so the newer copy wins), term u64, vote u64, checksum u32 over the 32 bytes
 * before it. Little-endian.
 */

export const hardStateMagic = 0x53485144; // "DQHS" in little-endian byte order
export const hardStateFormatVersion = 1;
export const hardStateRecordBytes = 36;

export interface VersionedHardState {
  readonly version: number;
  readonly hardState: HardState;
}

export function encodeHardState(state: VersionedHardState): Buffer {
  const record = Buffer.alloc(hardStateRecordBytes);
  record.writeUInt32LE(hardStateMagic, 0);
  record.writeUInt32LE(hardStateFormatVersion, 4);
  writeUint64(record, state.version, 8);
  writeUint64(record, state.hardState.term, 16);
  writeUint64(record, state.hardState.vote, 24);
  record.writeUInt32LE(crc32c(record, 0, 0, 32), 32);
  return record;
}

/** The copy in `record`, or why it is not a valid one. */
export function decodeHardState(record: Buffer): VersionedHardState | string {
  if (record.length !== hardStateRecordBytes) return `${record.length} bytes`;
  if (record.readUInt32LE(0) !== hardStateMagic) return 'bad magic';
  if (crc32c(record, 0, 0, 32) !== record.readUInt32LE(32)) return 'checksum mismatch';
  if (record.readUInt32LE(4) !== hardStateFormatVersion) return 'unsupported format version';
  const version = readUint64(record, 8);
  const term = readUint64(record, 16);
  const vote = readUint64(record, 24);
  if (version === undefined || term === undefined || vote === undefined) return 'field too large';
  return { version, hardState: { term, vote } };
}
