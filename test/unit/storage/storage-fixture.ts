import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import {
  Role,
  type Entry,
  type EntryType,
  type HardState,
  type SnapshotMetadata,
} from '../../../src/raft/types.js';
import type { RaftInitialState } from '../../../src/raft/raft-storage.js';
import { FileStorage, type FileStorageOptions } from '../../../src/storage/index.js';

/**
 * Shared helpers of the storage tests: temporary directories removed after each test, promise
 * wrappers over the callback API, and builders for entries and snapshots.
 */

const directories: string[] = [];
const opened: FileStorage[] = [];

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  for (const directory of directories.splice(0))
    fs.rmSync(directory, { recursive: true, force: true });
});

/** A fresh directory under the system's temporary directory, removed after the test. */
export function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-storage-'));
  directories.push(directory);
  return directory;
}

/** Opens and loads a storage, closed after the test. */
export function openStorage(
  directory: string,
  options: Omit<FileStorageOptions, 'directory'> = {},
): { storage: FileStorage; state: RaftInitialState } {
  const storage = FileStorage.open({ directory, ...options });
  opened.push(storage);
  return { storage, state: storage.load() };
}

/** Closes `storage` and opens the same directory again, as a restart does. */
export async function reopen(
  storage: FileStorage,
  directory: string,
  options: Omit<FileStorageOptions, 'directory'> = {},
): Promise<{ storage: FileStorage; state: RaftInitialState }> {
  await storage.close();
  return openStorage(directory, options);
}

/** Loads a copy of a directory in a throwaway instance (for crash-state checks). */
export async function loadCopy(directory: string): Promise<RaftInitialState> {
  const storage = FileStorage.open({ directory });
  try {
    return storage.load();
  } finally {
    await storage.close();
  }
}

export function persist(
  storage: FileStorage,
  write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
): Promise<void> {
  return new Promise((resolve, reject) =>
    storage.persist(write, (error) => (error ? reject(error) : resolve())),
  );
}

/** `count` entries from `first`, all of `term`, each with a few bytes naming it. */
export function entries(first: number, count: number, term: number, dataBytes = 8): Entry[] {
  return Array.from({ length: count }, (_, offset) => entry(first + offset, term, dataBytes));
}

export function entry(index: number, term: number, dataBytes = 8, type: EntryType = 1): Entry {
  const data = Buffer.alloc(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type, data };
}

export const configuration = { servers: [{ id: 1, address: '127.0.0.1:9001', role: Role.voter }] };

export function snapshotMetadata(index: number, term: number, bytes: number): SnapshotMetadata {
  return { index, term, configuration, configurationIndex: 1, bytes };
}

export function snapshotData(bytes: number, seed = 1): Buffer {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 13 + seed * 101) & 0xff;
  return data;
}

export function writeChunk(
  storage: FileStorage,
  metadata: SnapshotMetadata,
  offset: number,
  data: Uint8Array,
): Promise<void> {
  return new Promise((resolve, reject) =>
    storage.writeSnapshotChunk(metadata, offset, data, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

export function installSnapshot(
  storage: FileStorage,
  metadata: SnapshotMetadata,
  options: { keepLogAfter: boolean; trailingEntries: number },
): Promise<void> {
  return new Promise((resolve, reject) =>
    storage.installSnapshot(metadata, options, (error) => (error ? reject(error) : resolve())),
  );
}

/** Stages `data` in chunks of `chunkBytes` and installs it. */
export async function takeSnapshot(
  storage: FileStorage,
  metadata: SnapshotMetadata,
  data: Buffer,
  options: { keepLogAfter: boolean; trailingEntries: number },
  chunkBytes = 64,
): Promise<void> {
  let offset = 0;
  do {
    const chunk = data.subarray(offset, offset + chunkBytes);
    await writeChunk(storage, metadata, offset, chunk);
    offset += chunk.length;
  } while (offset < data.length);
  await installSnapshot(storage, metadata, options);
}

export function readChunk(
  storage: FileStorage,
  metadata: SnapshotMetadata,
  offset: number,
  length: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    storage.readSnapshotChunk(metadata, offset, length, (error, data) =>
      error ? reject(error) : resolve(Buffer.from(data)),
    ),
  );
}

/** Entries reduced to comparable plain values. */
export function describeEntries(list: readonly Entry[]): string[] {
  return list.map((e) => `${e.index}/${e.term}/${e.type}/${Buffer.from(e.data).toString('hex')}`);
}

export function segmentFiles(directory: string): string[] {
  return fs
    .readdirSync(directory)
    .filter((name) => name.startsWith('segment-'))
    .sort();
}
