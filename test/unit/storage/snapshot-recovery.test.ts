import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageCorruptError } from '../../../src/storage/index.js';
import { directoryContents, flipByte } from './crash-fixture.js';
import {
  describeEntries,
  entries,
  loadCopy,
  openStorage,
  persist,
  snapshotData,
  snapshotMetadata,
  takeSnapshot,
  temporaryDirectory,
  writeChunk,
} from './storage-fixture.js';

// Recovery of snapshots: damage to the current snapshot's metadata or data stops startup with a
// clear error; a staged snapshot that was never installed is forgotten.

const metadataName = 'snapshot-0000000000000001.meta';
const dataName = 'snapshot-0000000000000001.data';

async function withSnapshot(): Promise<string> {
  const directory = temporaryDirectory();
  const { storage } = openStorage(directory);
  await persist(storage, { entries: entries(1, 10, 1) });
  await takeSnapshot(storage, snapshotMetadata(8, 1, 500), snapshotData(500), {
    keepLogAfter: true,
    trailingEntries: 2,
  });
  await storage.close();
  return directory;
}

async function expectCorrupt(directory: string, pattern: RegExp): Promise<void> {
  const before = directoryContents(directory);
  const failure = loadCopy(directory);
  await expect(failure).rejects.toThrow(StorageCorruptError);
  await expect(failure).rejects.toThrow(pattern);
  expect(directoryContents(directory)).toEqual(before);
}

describe('snapshot recovery', () => {
  it('fails when the data file is missing', async () => {
    const directory = await withSnapshot();
    fs.unlinkSync(path.join(directory, dataName));
    await expectCorrupt(
      directory,
      /snapshot-0000000000000001\.data at offset 0: snapshot data file missing/,
    );
  });

  it('fails when the metadata file is missing', async () => {
    const directory = await withSnapshot();
    fs.unlinkSync(path.join(directory, metadataName));
    await expectCorrupt(directory, /\.data at offset 0: snapshot data without its metadata file/);
  });

  it('fails when the metadata is damaged anywhere', async () => {
    const directory = await withSnapshot();
    const bytes = fs.statSync(path.join(directory, metadataName)).size;
    for (const offset of [0, 8, 17, 40, 66, 75, bytes - 1]) {
      flipByte(path.join(directory, metadataName), offset);
      await expectCorrupt(directory, /\.meta at offset 0: snapshot metadata: /);
      flipByte(path.join(directory, metadataName), offset);
    }
  });

  it('fails when the data is damaged or cut', async () => {
    const directory = await withSnapshot();
    flipByte(path.join(directory, dataName), 321);
    await expectCorrupt(directory, /\.data at offset 0: snapshot data checksum mismatch/);
    flipByte(path.join(directory, dataName), 321);
    fs.truncateSync(path.join(directory, dataName), 499);
    await expectCorrupt(
      directory,
      /\.data at offset 499: snapshot data has 499 bytes, metadata says 500/,
    );
  });

  it('ignores and deletes a staged snapshot that was never installed', async () => {
    const directory = await withSnapshot();
    const { storage } = openStorage(directory);
    await writeChunk(storage, snapshotMetadata(10, 1, 100), 0, snapshotData(60, 4));
    await storage.close();
    expect(fs.existsSync(path.join(directory, 'snapshot.staging'))).toBe(true);
    const state = await loadCopy(directory);
    expect(state.snapshot).toEqual(snapshotMetadata(8, 1, 500));
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(7, 4, 1)));
    expect(fs.existsSync(path.join(directory, 'snapshot.staging'))).toBe(false);
  });

  it('deletes leftovers of older generations and temporary files', async () => {
    const directory = await withSnapshot();
    fs.writeFileSync(path.join(directory, 'snapshot-0000000000000002.meta.tmp'), 'half written');
    fs.copyFileSync(
      path.join(directory, dataName),
      path.join(directory, 'snapshot-0000000000000000.data'),
    );
    await loadCopy(directory);
    expect(
      fs
        .readdirSync(directory)
        .filter((name) => name.startsWith('snapshot'))
        .sort(),
    ).toEqual([dataName, metadataName]);
  });
});
