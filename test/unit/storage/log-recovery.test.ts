import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../../../src/storage/batch-record.js';
import { crc32c } from '../../../src/storage/crc32c.js';
import { StorageCorruptError } from '../../../src/storage/index.js';
import {
  copyDirectory,
  directoryContents,
  flipByte,
  lastSegmentPath,
  recordOffsets,
} from './crash-fixture.js';
import {
  describeEntries,
  entries,
  entry,
  loadCopy,
  openStorage,
  persist,
  segmentFiles,
  temporaryDirectory,
} from './storage-fixture.js';

// Recovery of the log: a torn last write is dropped, any other damage stops startup with a
// StorageCorruptError that names the file and the offset of the bad record.

/** A closed directory with three batches in one segment: 1..3, 4..5, 6..8. */
async function threeBatches(): Promise<string> {
  const directory = temporaryDirectory();
  // These tests cut and damage records at exact offsets: no zeros after the last one.
  const { storage } = openStorage(directory, { preallocationBytes: 0 });
  await persist(storage, { entries: entries(1, 3, 1) });
  await persist(storage, { entries: entries(4, 2, 1) });
  await persist(storage, { entries: entries(6, 3, 2) });
  await storage.close();
  return directory;
}

const firstTwoBatches = describeEntries([...entries(1, 5, 1)]);

async function expectCorruptAt(directory: string, file: string, offset: number): Promise<void> {
  const before = directoryContents(directory);
  const failure = await loadCopy(directory).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(StorageCorruptError);
  const corrupt = failure as StorageCorruptError;
  expect(corrupt.file).toBe(file);
  expect(corrupt.offset).toBe(offset);
  expect(corrupt.message).toContain(file);
  expect(corrupt.message).toContain(`offset ${offset}`);
  // A failed startup repairs nothing.
  expect(directoryContents(directory)).toEqual(before);
}

describe('log recovery', () => {
  it('drops the last batch cut at every byte offset, and appends after it', async () => {
    const original = await threeBatches();
    const segment = path.basename(lastSegmentPath(original));
    const fileBytes = fs.statSync(lastSegmentPath(original)).size;
    const lastOffset = recordOffsets(lastSegmentPath(original)).at(-1) as number;
    for (let cut = lastOffset; cut < fileBytes; cut++) {
      const copy = copyDirectory(original);
      fs.truncateSync(path.join(copy, segment), cut);
      const state = await loadCopy(copy);
      expect(describeEntries(state.entries), `cut at ${cut}`).toEqual(firstTwoBatches);
      expect(fs.statSync(path.join(copy, segment)).size).toBe(lastOffset);
      if (cut % 16 === 0) {
        const { storage } = openStorage(copy);
        await persist(storage, { entries: entries(6, 1, 3) });
        await storage.close();
        const again = await loadCopy(copy);
        expect(describeEntries(again.entries)).toEqual([
          ...firstTwoBatches,
          ...describeEntries(entries(6, 1, 3)),
        ]);
      }
    }
  });

  it('drops the last batch when any one of its bytes is damaged', async () => {
    const original = await threeBatches();
    const segment = path.basename(lastSegmentPath(original));
    const fileBytes = fs.statSync(lastSegmentPath(original)).size;
    const lastOffset = recordOffsets(lastSegmentPath(original)).at(-1) as number;
    for (let offset = lastOffset; offset < fileBytes; offset++) {
      const copy = copyDirectory(original);
      flipByte(path.join(copy, segment), offset);
      const state = await loadCopy(copy);
      expect(describeEntries(state.entries), `byte ${offset}`).toEqual(firstTwoBatches);
    }
  });

  it('drops a zeroed or garbage tail after the last batch', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from('not a record at all, just noise')]) {
      const copy = await threeBatches();
      fs.appendFileSync(lastSegmentPath(copy), tail);
      const state = await loadCopy(copy);
      expect(state.entries).toHaveLength(8);
    }
  });

  it('fails on a damaged byte in any earlier batch, naming the file and the batch', async () => {
    const original = await threeBatches();
    const segment = path.basename(lastSegmentPath(original));
    const [first, second, last] = recordOffsets(lastSegmentPath(original)) as [
      number,
      number,
      number,
    ];
    for (let offset = first; offset < last; offset++) {
      const copy = copyDirectory(original);
      flipByte(path.join(copy, segment), offset);
      await expectCorruptAt(copy, path.join(copy, segment), offset < second ? first : second);
    }
  });

  it('fails on damage at the end of a segment that is not the last', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let first = 1; first <= 9; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    await storage.close();
    const [firstSegment] = segmentFiles(directory) as [string];
    const file = path.join(directory, firstSegment);
    fs.truncateSync(file, fs.statSync(file).size - 1);
    await expectCorruptAt(directory, file, 0);
  });

  it('fails on a valid record with impossible content', async () => {
    const directory = await threeBatches();
    const file = lastSegmentPath(directory);
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(2, 4); // an unknown format version, header checksum recomputed below
    bytes.writeUInt32LE(crc32c(bytes, 0, 0, 28), 28);
    fs.writeFileSync(file, bytes);
    await expectCorruptAt(directory, file, 0);
  });

  it('fails when a segment in the middle is missing', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let first = 1; first <= 9; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    await storage.close();
    const [, middle, last] = segmentFiles(directory) as [string, string, string];
    fs.unlinkSync(path.join(directory, middle));
    await expectCorruptAt(directory, path.join(directory, last), 0);
  });

  it('fails when the first segment is missing and no snapshot explains it', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let first = 1; first <= 6; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    await storage.close();
    const [first, second] = segmentFiles(directory) as [string, string];
    fs.unlinkSync(path.join(directory, first));
    await expect(loadCopy(directory)).rejects.toThrow(
      /the log starts at 4 but there is no snapshot/,
    );
    expect(segmentFiles(directory)).toEqual([second]);
  });

  it('fails on an empty segment that is not the last', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let first = 1; first <= 6; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    await storage.close();
    const [first] = segmentFiles(directory) as [string];
    fs.truncateSync(path.join(directory, first), 0);
    await expectCorruptAt(directory, path.join(directory, first), 0);
  });

  it('deletes an empty last segment, as a crash right after creating it leaves', async () => {
    const directory = await threeBatches();
    fs.writeFileSync(path.join(directory, 'segment-0000000000000009-0000000000000009.log'), '');
    const state = await loadCopy(directory);
    expect(state.entries).toHaveLength(8);
    expect(segmentFiles(directory)).toHaveLength(1);
  });

  it('leaves files it does not know alone', async () => {
    const directory = await threeBatches();
    fs.writeFileSync(path.join(directory, 'notes.txt'), 'operator notes');
    await loadCopy(directory);
    expect(fs.readFileSync(path.join(directory, 'notes.txt'), 'utf8')).toBe('operator notes');
  });

  it('fails on records whose indexes or terms are out of order, checksums notwithstanding', async () => {
    const cases = [
      { records: [[entry(1, 1), entry(3, 1)]], offset: 0, problem: /entry 1 index/ },
      { records: [[entry(1, 2), entry(2, 1)]], offset: 0, problem: /entry 2 term 1/ },
      {
        records: [entries(1, 2, 2), [entry(3, 1)]],
        offset: 1,
        problem: /term 1 at 3 after term 2/,
      },
      {
        records: [entries(1, 2, 1), [entry(5, 1)]],
        offset: 1,
        problem: /gap: record starts at 5, expected 3/,
      },
      { records: [entries(2, 2, 1)], offset: 0, problem: /the name says 1/ },
    ];
    for (const { records, offset, problem } of cases) {
      const directory = temporaryDirectory();
      const file = path.join(directory, 'segment-0000000000000001-0000000000000001.log');
      const encoded = records.map((record) => encodeBatch(record));
      fs.writeFileSync(file, Buffer.concat(encoded));
      const recordOffset = offset === 0 ? 0 : (encoded[0] as Buffer).length;
      await expectCorruptAt(directory, file, recordOffset);
      await expect(loadCopy(directory)).rejects.toThrow(problem);
    }
  });
});
