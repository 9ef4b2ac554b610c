import { decodeConfiguration, encodeConfiguration } from '../raft/configuration.js';
import type { SnapshotMetadata } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { readUint64, writeUint64 } from './uint64.js';

/**
 * A snapshot's metadata file, little-endian:
 *
 *     magic u32, format version u32, generation u64, index u64, term u64,
 *     configuration index u64, bytes u64, log sequence first u64, log index first u64,
 *     data checksum u32, configuration bytes u32, configuration (encodeConfiguration),
 *     checksum u32 over everything before it
 *
 * `logSequenceFirst` and `logIndexFirst` say which part of the log survives this snapshot, so the
 * compaction is decided by the same atomic rename that makes the snapshot current: after a crash
 * before the obsolete segments were deleted, recovery ignores them (and deletes them).
 */

export const snapshotMetadataMagic = 0x4d535144; // "DQSM" in little-endian byte order
export const snapshotMetadataFormatVersion = 1;
const fixedBytes = 72;
const checksumBytes = 4;

export interface SnapshotRecord {
  readonly generation: number;
  readonly metadata: SnapshotMetadata;
  /** CRC-32C of the snapshot data. */
  readonly dataChecksum: number;
  /** Segments with a lower sequence hold no live entries. */
  readonly logSequenceFirst: number;
  /** Entries below this index are compacted away. */
  readonly logIndexFirst: number;
}

export function encodeSnapshotRecord(record: SnapshotRecord): Buffer {
  const configuration = encodeConfiguration(record.metadata.configuration);
  const buffer = Buffer.alloc(fixedBytes + configuration.length + checksumBytes);
  buffer.writeUInt32LE(snapshotMetadataMagic, 0);
  buffer.writeUInt32LE(snapshotMetadataFormatVersion, 4);
  writeUint64(buffer, record.generation, 8);
  writeUint64(buffer, record.metadata.index, 16);
  writeUint64(buffer, record.metadata.term, 24);
  writeUint64(buffer, record.metadata.configurationIndex, 32);
  writeUint64(buffer, record.metadata.bytes, 40);
  writeUint64(buffer, record.logSequenceFirst, 48);
  writeUint64(buffer, record.logIndexFirst, 56);
  buffer.writeUInt32LE(record.dataChecksum, 64);
  buffer.writeUInt32LE(configuration.length, 68);
  buffer.set(configuration, fixedBytes);
  const end = buffer.length - checksumBytes;
  buffer.writeUInt32LE(crc32c(buffer, 0, 0, end), end);
  return buffer;
}

/** The record in `buffer`, or why it is not a valid one. */
export function decodeSnapshotRecord(buffer: Buffer): SnapshotRecord | string {
  if (buffer.length < fixedBytes + checksumBytes) return `${buffer.length} bytes`;
  const end = buffer.length - checksumBytes;
  if (buffer.readUInt32LE(0) !== snapshotMetadataMagic) return 'bad magic';
  if (crc32c(buffer, 0, 0, end) !== buffer.readUInt32LE(end)) return 'checksum mismatch';
  if (buffer.readUInt32LE(4) !== snapshotMetadataFormatVersion) return 'unsupported format version';
  if (buffer.readUInt32LE(68) !== end - fixedBytes) return 'configuration length mismatch';
  const numbers = [8, 16, 24, 32, 40, 48, 56].map((offset) => readUint64(buffer, offset));
  const [generation, index, term, configurationIndex, bytes, logSequenceFirst, logIndexFirst] =
    numbers;
  if (
    generation === undefined ||
    index === undefined ||
    term === undefined ||
    configurationIndex === undefined ||
    bytes === undefined ||
    logSequenceFirst === undefined ||
    logIndexFirst === undefined
  ) {
    return 'field too large';
  }
  let configuration;
  try {
    configuration = decodeConfiguration(buffer.subarray(fixedBytes, end));
  } catch (error) {
    // Converted: a configuration that does not decode is damage, reported with its reason.
    return error instanceof Error ? error.message : String(error);
  }
  return {
    generation,
    metadata: { index, term, configuration, configurationIndex, bytes },
    dataChecksum: buffer.readUInt32LE(64),
    logSequenceFirst,
    logIndexFirst,
  };
}
