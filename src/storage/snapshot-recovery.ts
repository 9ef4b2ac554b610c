import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from './crc32c.js';
import type { Repair } from './recovery-repair.js';
import { decodeSnapshotRecord, type SnapshotRecord } from './snapshot-metadata-record.js';
import { StorageCorruptError } from './storage-corrupt-error.js';
import {
  snapshotDataFileName,
  snapshotMetadataFileName,
  snapshotStagingFileName,
  type StorageFile,
} from './storage-file.js';

export interface SnapshotRecovery {
  readonly current: SnapshotRecord | undefined;
  readonly generationNext: number;
  readonly repairs: readonly Repair[];
}

/** Bytes read at a time to verify a snapshot's checksum; snapshots can exceed memory. */
const verifyChunkBytes = 1024 * 1024;

/**
 * Finds the current snapshot: the highest generation with a metadata file (see `SnapshotStore`
 * for the install order this relies on). Its data must exist, or still be staged when a crash
 * interrupted the install after its commit point, and must match the recorded size and checksum.
 * Data of a higher generation than every metadata file means lost metadata, which no crash
 * produces. Older generations and temporary files are leftovers and are deleted.
 */
export function recoverSnapshot(
  directory: string,
  files: readonly StorageFile[],
): SnapshotRecovery {
  const repairs: Repair[] = files
    .filter((file) => file.kind === 'temporary' && file.name !== snapshotStagingFileName)
    .map((file) => ({ kind: 'delete', name: file.name }));
  const staged = files.some((file) => file.name === snapshotStagingFileName);
  const metadataFiles = generationsOf(files, 'snapshot-metadata');
  const dataFiles = generationsOf(files, 'snapshot-data');
  const generationLast = Math.max(0, ...metadataFiles, ...dataFiles);
  const generation = Math.max(0, ...metadataFiles);
  const orphan = dataFiles.find((dataGeneration) => dataGeneration > generation);
  if (orphan !== undefined) {
    const file = path.join(directory, snapshotDataFileName(orphan));
    throw new StorageCorruptError(file, 0, 'snapshot data without its metadata file');
  }
  if (generation === 0) {
    if (staged) repairs.push({ kind: 'delete', name: snapshotStagingFileName });
    return { current: undefined, generationNext: generationLast + 1, repairs };
  }
  const current = readRecord(directory, generation);
  let dataName = snapshotDataFileName(generation);
  if (!dataFiles.includes(generation)) {
    if (!staged) {
      throw new StorageCorruptError(
        path.join(directory, dataName),
        0,
        'snapshot data file missing',
      );
    }
    repairs.push({ kind: 'rename', from: snapshotStagingFileName, to: dataName });
    dataName = snapshotStagingFileName;
  } else if (staged) {
    repairs.push({ kind: 'delete', name: snapshotStagingFileName });
  }
  verifyData(path.join(directory, dataName), current);
  for (const older of metadataFiles.filter((g) => g < generation)) {
    repairs.push({ kind: 'delete', name: snapshotMetadataFileName(older) });
  }
  for (const older of dataFiles.filter((g) => g < generation)) {
    repairs.push({ kind: 'delete', name: snapshotDataFileName(older) });
  }
  return { current, generationNext: generationLast + 1, repairs };
}

function generationsOf(
  files: readonly StorageFile[],
  kind: 'snapshot-metadata' | 'snapshot-data',
): number[] {
  return files.flatMap((file) => (file.kind === kind ? [file.generation] : []));
}

function readRecord(directory: string, generation: number): SnapshotRecord {
  const file = path.join(directory, snapshotMetadataFileName(generation));
  const record = decodeSnapshotRecord(fs.readFileSync(file));
  if (typeof record === 'string') {
    throw new StorageCorruptError(file, 0, `snapshot metadata: ${record}`);
  }
  if (record.generation !== generation) {
    throw new StorageCorruptError(file, 0, `snapshot metadata of generation ${record.generation}`);
  }
  return record;
}

function verifyData(file: string, record: SnapshotRecord): void {
  const descriptor = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(descriptor).size;
    if (size !== record.metadata.bytes) {
      const problem = `snapshot data has ${size} bytes, metadata says ${record.metadata.bytes}`;
      throw new StorageCorruptError(file, Math.min(size, record.metadata.bytes), problem);
    }
    const chunk = Buffer.alloc(Math.min(verifyChunkBytes, size));
    let checksum = 0;
    for (let offset = 0; offset < size;) {
      const read = fs.readSync(descriptor, chunk, 0, Math.min(chunk.length, size - offset), offset);
      if (read === 0) throw new StorageCorruptError(file, offset, 'snapshot data ends early');
      checksum = crc32c(chunk, checksum, 0, read);
      offset += read;
    }
    if (checksum !== record.dataChecksum) {
      throw new StorageCorruptError(file, 0, 'snapshot data checksum mismatch');
    }
  } finally {
    fs.closeSync(descriptor);
  }
}
