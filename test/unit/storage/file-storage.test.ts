import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import {
  describeEntries,
  entries,
  openStorage,
  persist,
  readChunk,
  reopen,
  segmentFiles,
  snapshotData,
  snapshotMetadata,
  takeSnapshot,
  temporaryDirectory,
} from './storage-fixture.js';

// Round trips: what was persisted, staged and installed is what a new instance loads.

describe('FileStorage round trips', () => {
  it('starts empty in a directory it creates', async () => {
    const directory = path.join(temporaryDirectory(), 'nested', 'raft');
    const { state } = openStorage(directory);
    expect(state).toEqual({ hardState: { term: 0, vote: 0 }, snapshot: undefined, entries: [] });
    expect(fs.readdirSync(directory).sort()).toEqual(['hard-state-1', 'hard-state-2']);
  });

  it('loads persisted entries and hard state after a restart', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { hardState: { term: 1, vote: 1 }, entries: entries(1, 3, 1) });
    await persist(storage, { entries: entries(4, 2, 1) });
    await persist(storage, { hardState: { term: 2, vote: 3 }, entries: [] });
    const { state } = await reopen(storage, directory);
    expect(state.hardState).toEqual({ term: 2, vote: 3 });
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(1, 5, 1)));
  });

  it('keeps the latest of many hard states', async () => {
    const directory = temporaryDirectory();
    let { storage } = openStorage(directory);
    for (let term = 1; term <= 7; term++) {
      await persist(storage, { hardState: { term, vote: term % 3 }, entries: [] });
      const reopened = await reopen(storage, directory);
      expect(reopened.state.hardState).toEqual({ term, vote: term % 3 });
      storage = reopened.storage;
    }
  });

  it('replaces a conflicting suffix inside one segment', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 5, 1) });
    await persist(storage, { entries: entries(3, 2, 2) });
    await persist(storage, { entries: entries(5, 1, 2) });
    const { state } = await reopen(storage, directory);
    expect(describeEntries(state.entries)).toEqual(
      describeEntries([...entries(1, 2, 1), ...entries(3, 3, 2)]),
    );
  });

  it('replaces a suffix that spans segments, deleting the superseded segments', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 100 };
    const { storage } = openStorage(directory, options);
    for (let first = 1; first <= 40; first += 4)
      await persist(storage, { entries: entries(first, 4, 1) });
    const before = segmentFiles(directory).length;
    expect(before).toBeGreaterThan(5);
    await persist(storage, { entries: entries(10, 3, 2) });
    // Segments that start at or after index 10 hold nothing live any more.
    const after = segmentFiles(directory);
    expect(after.length).toBeLessThan(before);
    expect(after.at(-1)).toMatch(/-0000000000000010\.log$/);
    const { state } = await reopen(storage, directory, options);
    expect(describeEntries(state.entries)).toEqual(
      describeEntries([...entries(1, 9, 1), ...entries(10, 3, 2)]),
    );
  });

  it('replaces the whole log from index 1', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 64 };
    const { storage } = openStorage(directory, options);
    for (let first = 1; first <= 12; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    await persist(storage, { entries: entries(1, 2, 5) });
    expect(segmentFiles(directory)).toHaveLength(1);
    const { state } = await reopen(storage, directory, options);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(1, 2, 5)));
  });

  it('spreads a long log over many segments and loads it back in order', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 256 };
    const { storage } = openStorage(directory, options);
    const written: Entry[] = [];
    for (let first = 1; first <= 600; first += 3) {
      const batch = entries(first, 3, 1 + Math.floor(first / 100), 20);
      written.push(...batch);
      await persist(storage, { entries: batch });
    }
    expect(segmentFiles(directory).length).toBeGreaterThan(50);
    const { state } = await reopen(storage, directory, options);
    expect(describeEntries(state.entries)).toEqual(describeEntries(written));
  });

  it('splits a large persist into records and loads it whole', async () => {
    const directory = temporaryDirectory();
    const options = { recordBytesMax: 200, segmentBytesMax: 500 };
    const { storage } = openStorage(directory, options);
    const written = entries(1, 50, 1, 30);
    await persist(storage, { entries: written });
    const { state } = await reopen(storage, directory, options);
    expect(describeEntries(state.entries)).toEqual(describeEntries(written));
  });

  it('completes operations in call order', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const order: number[] = [];
    const all = Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<void>((resolve, reject) =>
          storage.persist(
            { entries: entries(i + 1, 1, 1), hardState: { term: 1, vote: i % 2 } },
            (error) => {
              order.push(i);
              if (error) reject(error);
              else resolve();
            },
          ),
        ),
    );
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('FileStorage snapshots', () => {
  it('discards the whole log without keepLogAfter, then appends after the snapshot', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 128 };
    const { storage } = openStorage(directory, options);
    await persist(storage, { entries: entries(1, 20, 1) });
    const metadata = snapshotMetadata(15, 1, 300);
    await takeSnapshot(storage, metadata, snapshotData(300), {
      keepLogAfter: false,
      trailingEntries: 5,
    });
    expect(segmentFiles(directory)).toEqual([]);
    let reopened = await reopen(storage, directory, options);
    expect(reopened.state.snapshot).toEqual(metadata);
    expect(reopened.state.entries).toEqual([]);
    await persist(reopened.storage, { entries: entries(16, 2, 2) });
    reopened = await reopen(reopened.storage, directory, options);
    expect(describeEntries(reopened.state.entries)).toEqual(describeEntries(entries(16, 2, 2)));
  });

  it('discards entries beyond a snapshot installed from a leader', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 10, 1) });
    const metadata = snapshotMetadata(30, 3, 10);
    await takeSnapshot(storage, metadata, snapshotData(10), {
      keepLogAfter: false,
      trailingEntries: 0,
    });
    const { state } = await reopen(storage, directory);
    expect(state.snapshot).toEqual(metadata);
    expect(state.entries).toEqual([]);
  });

  it('keeps trailing entries and the entries after the snapshot with keepLogAfter', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 100 };
    const { storage } = openStorage(directory, options);
    for (let first = 1; first <= 60; first += 4)
      await persist(storage, { entries: entries(first, 4, 1) });
    const segmentsBefore = segmentFiles(directory).length;
    await takeSnapshot(storage, snapshotMetadata(50, 1, 64), snapshotData(64), {
      keepLogAfter: true,
      trailingEntries: 10,
    });
    expect(segmentFiles(directory).length).toBeLessThan(segmentsBefore);
    const { state } = await reopen(storage, directory, options);
    expect(state.entries[0]?.index).toBe(41);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(41, 20, 1)));
  });

  it('keeps no trailing entries when asked for none', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 10, 1) });
    await takeSnapshot(storage, snapshotMetadata(7, 1, 1), snapshotData(1), {
      keepLogAfter: true,
      trailingEntries: 0,
    });
    const { state } = await reopen(storage, directory);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(8, 3, 1)));
  });

  it('discards the log when keepLogAfter keeps nothing after the snapshot', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 10, 1) });
    await takeSnapshot(storage, snapshotMetadata(10, 1, 1), snapshotData(1), {
      keepLogAfter: true,
      trailingEntries: 0,
    });
    let reopened = await reopen(storage, directory);
    expect(reopened.state.entries).toEqual([]);
    await persist(reopened.storage, { entries: entries(11, 1, 2) });
    reopened = await reopen(reopened.storage, directory);
    expect(describeEntries(reopened.state.entries)).toEqual(describeEntries(entries(11, 1, 2)));
  });

  it('reads the current snapshot in chunks, the last one shorter, before and after a restart', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const metadata = snapshotMetadata(3, 1, 1000);
    const data = snapshotData(1000, 7);
    await persist(storage, { entries: entries(1, 3, 1) });
    await takeSnapshot(storage, metadata, data, { keepLogAfter: true, trailingEntries: 2 }, 333);
    const readAll = async (from: typeof storage) => {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < 1000; offset += 300)
        chunks.push(await readChunk(from, metadata, offset, 300));
      expect(chunks.map((chunk) => chunk.length)).toEqual([300, 300, 300, 100]);
      expect(await readChunk(from, metadata, 1000, 300)).toHaveLength(0);
      return Buffer.concat(chunks);
    };
    expect((await readAll(storage)).equals(data)).toBe(true);
    const { storage: reopened } = await reopen(storage, directory);
    expect((await readAll(reopened)).equals(data)).toBe(true);
  });

  it('replaces an older snapshot and deletes its files', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    await persist(storage, { entries: entries(1, 10, 1) });
    await takeSnapshot(storage, snapshotMetadata(4, 1, 50), snapshotData(50, 1), {
      keepLogAfter: true,
      trailingEntries: 1,
    });
    const second = snapshotMetadata(8, 1, 70);
    await takeSnapshot(storage, second, snapshotData(70, 2), {
      keepLogAfter: true,
      trailingEntries: 1,
    });
    const snapshotFiles = fs.readdirSync(directory).filter((name) => name.startsWith('snapshot'));
    expect(snapshotFiles.sort()).toEqual([
      'snapshot-0000000000000002.data',
      'snapshot-0000000000000002.meta',
    ]);
    await expect(readChunk(storage, snapshotMetadata(4, 1, 50), 0, 10)).rejects.toThrow(
      /not the current snapshot/,
    );
    const { state, storage: reopened } = await reopen(storage, directory);
    expect(state.snapshot).toEqual(second);
    expect(describeEntries(state.entries)).toEqual(describeEntries(entries(8, 3, 1)));
    expect((await readChunk(reopened, second, 0, 70)).equals(snapshotData(70, 2))).toBe(true);
  });

  it('installs an empty snapshot', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const metadata = snapshotMetadata(1, 1, 0);
    await takeSnapshot(storage, metadata, Buffer.alloc(0), {
      keepLogAfter: false,
      trailingEntries: 0,
    });
    const { state, storage: reopened } = await reopen(storage, directory);
    expect(state.snapshot).toEqual(metadata);
    expect(await readChunk(reopened, metadata, 0, 10)).toHaveLength(0);
  });

  it('starts staging over at offset 0', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    const abandoned = snapshotMetadata(5, 1, 100);
    await new Promise<void>((resolve, reject) =>
      storage.writeSnapshotChunk(abandoned, 0, snapshotData(60, 9), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const metadata = snapshotMetadata(6, 2, 40);
    await takeSnapshot(storage, metadata, snapshotData(40, 3), {
      keepLogAfter: false,
      trailingEntries: 0,
    });
    const { storage: reopened } = await reopen(storage, directory);
    expect((await readChunk(reopened, metadata, 0, 100)).equals(snapshotData(40, 3))).toBe(true);
  });
});

describe('FileStorage disk failures', () => {
  it('fails the operation that hit the failure and every later one', async () => {
    const directory = temporaryDirectory();
    const { storage } = openStorage(directory);
    fs.rmSync(directory, { recursive: true });
    await expect(persist(storage, { entries: entries(1, 1, 1) })).rejects.toThrow(/ENOENT/);
    await expect(
      persist(storage, { hardState: { term: 1, vote: 1 }, entries: [] }),
    ).rejects.toThrow(/stopped after an earlier failure: ENOENT/);
    await storage.close();
  });
});
