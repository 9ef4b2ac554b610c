/**
 * SQLite's write-ahead log format (https://www.sqlite.org/fileformat2.html#walformat), as far as
 * capturing a committed transaction needs it. All fields are big-endian.
 *
 * The WAL starts with a 32-byte header (magic, format version, page size, checkpoint sequence,
 * salt-1, salt-2, two checksums) and continues with frames: a 24-byte frame header (page number;
 * for the last frame of a transaction, the database size in pages after it commits, else 0;
 * salt-1; salt-2; two cumulative checksums) followed by one page. A frame belongs to the current
 * WAL only if its salts equal the header's: when SQLite restarts the WAL after a checkpoint it
 * writes a new header with new salts and overwrites frames from the start.
 */

export const walHeaderBytes = 32;
export const walFrameHeaderBytes = 24;
const walMagicBigEndianChecksums = 0x377f0683;
const walMagicLittleEndianChecksums = 0x377f0682;
const walFormatVersion = 3007000;

export interface WalHeader {
  readonly pageSize: number;
  readonly checkpointSequence: number;
  readonly salt1: number;
  readonly salt2: number;
}

export interface WalFrameHeader {
  readonly pageNumber: number;
  /** Non-zero only on a transaction's commit frame: the database size in pages after it. */
  readonly databasePages: number;
  readonly salt1: number;
  readonly salt2: number;
}

/** A WAL this code cannot read: a bug or a foreign file, never a normal condition. */
export class WalFormatError extends Error {
  override readonly name = 'WalFormatError';
}

export function parseWalHeader(bytes: Buffer): WalHeader {
  if (bytes.length < walHeaderBytes) throw new WalFormatError('WAL header is truncated');
  const magic = bytes.readUInt32BE(0);
  if (magic !== walMagicBigEndianChecksums && magic !== walMagicLittleEndianChecksums) {
    throw new WalFormatError(`not a WAL file (magic 0x${magic.toString(16)})`);
  }
  const version = bytes.readUInt32BE(4);
  if (version !== walFormatVersion) throw new WalFormatError(`WAL format version ${version}`);
  const pageSize = bytes.readUInt32BE(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new WalFormatError(`WAL page size ${pageSize}`);
  }
  return {
    pageSize,
    checkpointSequence: bytes.readUInt32BE(12),
    salt1: bytes.readUInt32BE(16),
    salt2: bytes.readUInt32BE(20),
  };
}

export function parseWalFrameHeader(bytes: Buffer): WalFrameHeader {
  return {
    pageNumber: bytes.readUInt32BE(0),
    databasePages: bytes.readUInt32BE(4),
    salt1: bytes.readUInt32BE(8),
    salt2: bytes.readUInt32BE(12),
  };
}

export function frameBytes(pageSize: number): number {
  return walFrameHeaderBytes + pageSize;
}
