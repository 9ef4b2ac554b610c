import fs from 'node:fs';
import path from 'node:path';
import type { RaftInitialState } from '../../../src/raft/raft-storage.js';
import { readSegment } from '../../../src/storage/segment-reader.js';
import type { FileStorage, FileStorageOptions } from '../../../src/storage/index.js';
import {
  describeEntries,
  openStorage,
  segmentFiles,
  temporaryDirectory,
} from './storage-fixture.js';

/** Helpers that fake what a crash leaves on disk: copies taken mid-operation, cut and damaged files. */

/** A copy of `directory` in a new temporary directory. */
export function copyDirectory(directory: string): string {
  const copy = temporaryDirectory();
  fs.cpSync(directory, copy, { recursive: true });
  return copy;
}

/**
 * Opens `directory` with a hook that copies it after every file system step while `recording`
 * is on: each copy is a state a crash at that point could leave, if the steps so far reached the
 * disk (the fsync barriers between steps are what the storage relies on).
 */
export function openRecording(
  directory: string,
  options: Omit<FileStorageOptions, 'directory' | 'afterEachStep'> = {},
): {
  storage: FileStorage;
  state: RaftInitialState;
  record: <T>(run: () => Promise<T>) => Promise<string[]>;
} {
  let copies: string[] | undefined;
  const afterEachStep = () => copies?.push(copyDirectory(directory));
  const { storage, state } = openStorage(directory, { ...options, afterEachStep });
  const record = async <T>(run: () => Promise<T>): Promise<string[]> => {
    copies = [];
    try {
      await run();
      return copies;
    } finally {
      copies = undefined;
    }
  };
  return { storage, state, record };
}

/** A stable rendering of a loaded state, to compare crash outcomes with expected states. */
export function describeState(state: RaftInitialState): string {
  const snapshot =
    state.snapshot === undefined ? 'none' : `${state.snapshot.index}/${state.snapshot.term}`;
  return JSON.stringify({
    hardState: state.hardState,
    snapshot,
    entries: describeEntries(state.entries),
  });
}

export function lastSegmentPath(directory: string): string {
  const last = segmentFiles(directory).at(-1);
  if (last === undefined) throw new Error(`no segment in ${directory}`);
  return path.join(directory, last);
}

/** Byte offsets of the records of a segment file. */
export function recordOffsets(file: string): number[] {
  return readSegment(file, fs.readFileSync(file), false).records.map((record) => record.offset);
}

/** Every file's name and bytes, to check that a failed load changed nothing. */
export function directoryContents(directory: string): Record<string, string> {
  const contents: Record<string, string> = {};
  for (const name of fs.readdirSync(directory).sort()) {
    contents[name] = fs.readFileSync(path.join(directory, name)).toString('hex');
  }
  return contents;
}

export function flipByte(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = (bytes[offset] as number) ^ 0x55;
  fs.writeFileSync(file, bytes);
}
