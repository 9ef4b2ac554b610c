import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchHeaderBytes, entryHeaderBytes } from '../../../src/storage/batch-record.js';
import { FileStorage, fileStorageLimits } from '../../../src/storage/index.js';
import { readSegment } from '../../../src/storage/segment-reader.js';
import { lastSegmentPath, recordOffsets } from './crash-fixture.js';
import {
  describeEntries,
  entries,
  entry,
  installSnapshot,
  openStorage,
  persist,
  readChunk,
  reopen,
  segmentFiles,
  snapshotData,
  snapshotMetadata,
  takeSnapshot,
  temporaryDirectory,
  writeChunk,
} from './storage-fixture.js';

// Every limit at its edge, and every misuse refused at the call with nothing queued.

const noop = () => undefined;

describe('FileStorage options', () => {
  it('rejects unknown options and a missing directory', () => {
    const directory = temporaryDirectory();
    expect(() => FileStorage.open({ directory, segmentBytes: 10 } as never)).toThrow(
      /unknown FileStorage option "segmentBytes"/,
    );
    expect(() => FileStorage.open({} as never)).toThrow(TypeError);
  });

  for (const [name, limit] of Object.entries(fileStorageLimits)) {
    it(`accepts ${name} from ${limit.minimum} to ${limit.maximum} and nothing outside`, () => {
      const directory = temporaryDirectory();
      for (const value of [limit.minimum, limit.maximum]) {
        expect(() => FileStorage.open({ directory, [name]: value })).not.toThrow();
      }
      for (const value of [limit.minimum - 1, limit.maximum + 1, 1.5, Number.NaN]) {
        expect(() => FileStorage.open({ directory, [name]: value })).toThrow(RangeError);
      }
    });
  }
});

describe('FileStorage limits', () => {
  it('takes an entry of exactly entryBytesMax and refuses one byte more', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { entryBytesMax: 100 });
    await persist(storage, { entries: [entry(1, 1, 100)] });
    expect(() => storage.persist({ entries: [entry(2, 1, 101)] }, noop)).toThrow(
      /entries\[0\]\.data has 101 bytes, more than entryBytesMax 100/,
    );
    await persist(storage, { entries: [entry(2, 1, 0)] });
    const { state } = await reopen(storage, directory);
    expect(describeEntries(state.entries)).toEqual(
      describeEntries([entry(1, 1, 100), entry(2, 1, 0)]),
    );
  });

  it('fills a record up to exactly recordBytesMax, and starts a new one a byte later', async () => {
    const entryBytes = entryHeaderBytes + 10;
    const exact = batchHeaderBytes + 3 * entryBytes;
    for (const [recordBytesMax, records] of [
      [exact, 1],
      [exact - 1, 2],
    ] as const) {
      const directory = temporaryDirectory();
      const { storage } = openStorage(directory, { recordBytesMax, preallocationBytes: 0 });
      await persist(storage, { entries: entries(1, 3, 1, 10) });
      await storage.close();
      expect(recordOffsets(lastSegmentPath(directory))).toHaveLength(records);
    }
  });

  it('writes an entry larger than recordBytesMax alone in its record', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { recordBytesMax: 1 });
    await persist(storage, { entries: entries(1, 3, 1, 50) });
    const { state } = await reopen(storage, directory);
    expect(state.entries).toHaveLength(3);
    expect(recordOffsets(lastSegmentPath(directory))).toHaveLength(3);
  });

  it('takes snapshot chunks of exactly snapshotChunkBytesMax and refuses larger ones', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { snapshotChunkBytesMax: 32 });
    const metadata = snapshotMetadata(1, 1, 64);
    await writeChunk(storage, metadata, 0, snapshotData(64).subarray(0, 32));
    expect(() => storage.writeSnapshotChunk(metadata, 32, snapshotData(33), noop)).toThrow(
      /data of 33 bytes exceeds snapshotChunkBytesMax 32/,
    );
    await writeChunk(storage, metadata, 32, snapshotData(64).subarray(32));
    await installSnapshot(storage, metadata, { keepLogAfter: false, trailingEntries: 0 });
    expect(await readChunk(storage, metadata, 0, 32)).toHaveLength(32);
    expect(() => storage.readSnapshotChunk(metadata, 0, 33, noop)).toThrow(/length of 33 bytes/);
  });

  it('queues operationsQueuedMax operations and refuses one more', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { operationsQueuedMax: 3 });
    const queued = [1, 2, 3].map((index) => persist(storage, { entries: [entry(index, 1)] }));
    expect(() => storage.persist({ entries: [entry(4, 1)] }, noop)).toThrow(
      /3 operations already queued/,
    );
    await Promise.all(queued);
    await persist(storage, { entries: [entry(4, 1)] });
    const { state } = await reopen(storage, directory);
    expect(state.entries).toHaveLength(4);
  });

  it('starts a segment per record with segmentBytesMax 1', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 1 });
    for (let index = 1; index <= 5; index++) await persist(storage, { entries: [entry(index, 1)] });
    const { state } = await reopen(storage, directory, { segmentBytesMax: 1 });
    expect(state.entries).toHaveLength(5);
  });
});

describe('FileStorage misuse', () => {
  it('refuses persists that break the log contract, queueing nothing', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { hardState: { term: 3, vote: 1 }, entries: entries(1, 5, 2) });
    const refused: [unknown, RegExp][] = [
      [{ entries: [entry(7, 2)] }, /leaves a gap after 5/],
      [{ entries: [entry(6, 2), entry(8, 2)] }, /entries\[1\]\.index 8 is not contiguous/],
      [{ entries: [entry(6, 1)] }, /entries\[0\]\.term 1 is below 2/],
      [{ entries: [entry(6, 3), entry(7, 2)] }, /entries\[1\]\.term 2 is below 3/],
      [{ entries: [{ ...entry(6, 2), type: 9 }] }, /type 9 is unknown/],
      [{ entries: [{ ...entry(6, 2), index: 0 }] }, /index must be >= 1/],
      [{ entries: [{ ...entry(6, 2), data: 'text' }] }, /data must be a Uint8Array/],
      [{ entries: [], hardState: { term: 2, vote: 1 } }, /hardState\.term 2 is below the stored 3/],
      [{ entries: [], hardState: { term: -1, vote: 1 } }, /hardState\.term must be >= 0/],
      [{}, /write\.entries must be an array/],
    ];
    for (const [write, message] of refused) {
      expect(() => storage.persist(write as never, noop)).toThrow(message);
    }
    expect(() => storage.persist({ entries: [] }, 'done' as never)).toThrow(
      /done must be a function/,
    );
    const { state } = await reopen(storage, directory);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(1, 5, 2)));
    expect(state.hardState).toEqual({ term: 3, vote: 1 });
  });

  it('refuses entries the snapshot covers', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 5, 1) });
    await takeSnapshot(storage, snapshotMetadata(4, 1, 8), snapshotData(8), {
      keepLogAfter: true,
      trailingEntries: 3,
    });
    expect(() => storage.persist({ entries: [entry(4, 1)] }, noop)).toThrow(
      /covered by snapshot 4/,
    );
    await persist(storage, { entries: [entry(5, 2)] });
  });

  it('refuses snapshot chunks and installs that do not follow the staging', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const metadata = snapshotMetadata(3, 1, 20);
    expect(() => storage.writeSnapshotChunk(metadata, 5, snapshotData(5), noop)).toThrow(
      /continues no staged snapshot/,
    );
    expect(() => storage.writeSnapshotChunk(metadata, 0, snapshotData(21), noop)).toThrow(
      /exceeds metadata\.bytes/,
    );
    await writeChunk(storage, metadata, 0, snapshotData(10));
    expect(() => storage.writeSnapshotChunk(metadata, 9, snapshotData(5), noop)).toThrow(
      /but 10 bytes are staged/,
    );
    expect(() => storage.writeSnapshotChunk(metadata, 10, snapshotData(11), noop)).toThrow(
      /ends past metadata\.bytes/,
    );
    expect(() =>
      storage.writeSnapshotChunk(snapshotMetadata(4, 1, 20), 10, snapshotData(5), noop),
    ).toThrow(/continues no staged snapshot/);
    const install = (target = metadata) =>
      storage.installSnapshot(target, { keepLogAfter: false, trailingEntries: 0 }, noop);
    expect(() => install()).toThrow(/10 of 20 bytes staged/);
    expect(() => install(snapshotMetadata(2, 1, 20))).toThrow(/is not staged/);
    expect(() =>
      storage.installSnapshot(metadata, { keepLogAfter: 'yes', trailingEntries: 0 } as never, noop),
    ).toThrow(/keepLogAfter must be a boolean/);
    expect(() =>
      storage.installSnapshot(metadata, { keepLogAfter: true, trailingEntries: -1 }, noop),
    ).toThrow(/trailingEntries must be >= 0/);
    const badConfiguration = { ...metadata, configuration: { servers: [] } };
    expect(() => storage.writeSnapshotChunk(badConfiguration, 0, snapshotData(1), noop)).toThrow(
      /no voters/,
    );
    expect(() =>
      storage.writeSnapshotChunk({ ...metadata, configurationIndex: 4 }, 0, snapshotData(1), noop),
    ).toThrow(/configurationIndex must be in \[0, metadata.index\]/);
  });

  it('refuses a snapshot older than the current one, and keepLogAfter with a different term', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 6, 1) });
    await takeSnapshot(storage, snapshotMetadata(5, 1, 4), snapshotData(4), {
      keepLogAfter: true,
      trailingEntries: 1,
    });
    const older = snapshotMetadata(4, 1, 4);
    await writeChunk(storage, older, 0, snapshotData(4));
    expect(() =>
      storage.installSnapshot(older, { keepLogAfter: true, trailingEntries: 0 }, noop),
    ).toThrow(/older than the current one/);
    const otherTerm = snapshotMetadata(6, 2, 4);
    await writeChunk(storage, otherTerm, 0, snapshotData(4));
    expect(() =>
      storage.installSnapshot(otherTerm, { keepLogAfter: true, trailingEntries: 0 }, noop),
    ).toThrow(/entry 6 has term 1, not 2/);
  });

  it('refuses reads past the end and reports a snapshot that is not current through done', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const metadata = snapshotMetadata(1, 1, 10);
    await expect(readChunk(storage, metadata, 0, 1)).rejects.toThrow(/not the current snapshot/);
    await takeSnapshot(storage, metadata, snapshotData(10), {
      keepLogAfter: false,
      trailingEntries: 0,
    });
    expect(() => storage.readSnapshotChunk(metadata, 11, 1, noop)).toThrow(
      /past the snapshot's 10 bytes/,
    );
    expect(await readChunk(storage, metadata, 4, 100)).toHaveLength(6);
  });

  it('requires load once before anything, and nothing after close', async () => {
    const directory = temporaryDirectory();
    const storage = FileStorage.open({ directory });
    expect(() => storage.persist({ entries: [] }, noop)).toThrow(/persist\(\) before load\(\)/);
    storage.load();
    expect(() => storage.load()).toThrow(/load\(\) runs once/);
    await storage.close();
    expect(() => storage.persist({ entries: [] }, noop)).toThrow(/persist\(\) after close\(\)/);
    await storage.close();
  });
});

describe('preallocation', () => {
  it('writes zeros ahead in the open segment only, and recovers every entry after them', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory, { segmentBytesMax: 2000, preallocationBytes: 700 });
    for (let first = 1; first <= 80; first += 4) {
      await persist(storage, { entries: entries(first, 4, 1, 60) });
    }
    await storage.close();
    const files = segmentFiles(directory);
    expect(files.length).toBeGreaterThan(2);
    for (const [position, name] of files.entries()) {
      const file = path.join(directory, name);
      const size = fs.statSync(file).size;
      const records = readSegment(file, fs.readFileSync(file), true).validBytes;
      // Closed segments were cut to their records before the next one was created.
      if (position < files.length - 1) expect(size, name).toBe(records);
      else expect(size, name).toBeGreaterThan(records);
    }
    const { storage: reopened, state } = await reopen(storage, directory);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(1, 80, 1, 60)));
    await persist(reopened, { entries: entries(81, 2, 2, 60) });
    const { state: after } = await reopen(reopened, directory);
    expect(after.entries.at(-1)?.index).toBe(82);
  });
});
