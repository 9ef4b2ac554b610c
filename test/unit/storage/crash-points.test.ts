import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RaftInitialState } from '../../../src/raft/raft-storage.js';
import type { FileStorage } from '../../../src/storage/index.js';
import { copyDirectory, describeState, openRecording } from './crash-fixture.js';
import {
  entries,
  loadCopy,
  persist,
  segmentFiles,
  snapshotData,
  snapshotMetadata,
  takeSnapshot,
  temporaryDirectory,
} from './storage-fixture.js';

// A crash between any two file system steps of an operation leaves either the state before the
// operation or the state after it (for a persist, also the prefixes it wrote record by record).
// Each copy is loaded twice: recovery's repairs must leave a directory that loads the same.

interface Scenario {
  readonly name: string;
  readonly options?: { segmentBytesMax?: number; recordBytesMax?: number };
  readonly prepare: (storage: FileStorage) => Promise<void>;
  readonly operation: (storage: FileStorage) => Promise<void>;
  /** States a crash may leave besides the states before and after. */
  readonly intermediate?: (before: RaftInitialState) => string[];
}

const scenarios: Scenario[] = [
  {
    name: 'an append that starts a segment, with a hard state',
    options: { segmentBytesMax: 1 },
    prepare: (storage) =>
      persist(storage, { hardState: { term: 1, vote: 1 }, entries: entries(1, 3, 1) }),
    operation: (storage) =>
      persist(storage, { hardState: { term: 2, vote: 2 }, entries: entries(4, 2, 2) }),
    intermediate: (before) => [
      describeState({ ...before, entries: [...before.entries, ...entries(4, 2, 2)] }),
    ],
  },
  {
    name: 'a suffix replacement that supersedes segments',
    options: { segmentBytesMax: 100 },
    prepare: async (storage) => {
      for (let first = 1; first <= 30; first += 3)
        await persist(storage, { entries: entries(first, 3, 1) });
    },
    operation: (storage) => persist(storage, { entries: entries(8, 2, 2) }),
  },
  {
    name: 'a persist written as several records',
    options: { recordBytesMax: 120, segmentBytesMax: 300 },
    prepare: (storage) => persist(storage, { entries: entries(1, 2, 1) }),
    operation: (storage) => persist(storage, { entries: entries(3, 8, 1, 30) }),
    intermediate: (before) =>
      [1, 2, 3, 4, 5, 6, 7].map((count) =>
        describeState({ ...before, entries: [...before.entries, ...entries(3, count, 1, 30)] }),
      ),
  },
  {
    name: 'a snapshot install that keeps the log after it',
    options: { segmentBytesMax: 100 },
    prepare: async (storage) => {
      for (let first = 1; first <= 30; first += 3)
        await persist(storage, { entries: entries(first, 3, 1) });
    },
    operation: (storage) =>
      takeSnapshot(storage, snapshotMetadata(25, 1, 200), snapshotData(200), {
        keepLogAfter: true,
        trailingEntries: 4,
      }),
  },
  {
    name: 'a snapshot install that discards the log',
    options: { segmentBytesMax: 100 },
    prepare: async (storage) => {
      for (let first = 1; first <= 30; first += 3)
        await persist(storage, { entries: entries(first, 3, 1) });
    },
    operation: (storage) =>
      takeSnapshot(storage, snapshotMetadata(20, 2, 200), snapshotData(200), {
        keepLogAfter: false,
        trailingEntries: 4,
      }),
  },
  {
    name: 'a snapshot install that replaces an older snapshot',
    prepare: async (storage) => {
      await persist(storage, { entries: entries(1, 12, 1) });
      await takeSnapshot(storage, snapshotMetadata(5, 1, 90), snapshotData(90, 1), {
        keepLogAfter: true,
        trailingEntries: 1,
      });
    },
    operation: (storage) =>
      takeSnapshot(storage, snapshotMetadata(10, 1, 120), snapshotData(120, 2), {
        keepLogAfter: true,
        trailingEntries: 1,
      }),
  },
];

describe('crash at every step', () => {
  for (const scenario of scenarios) {
    it(`leaves the state before or after ${scenario.name}`, async () => {
      const directory = temporaryDirectory();
      const { storage, record } = openRecording(directory, scenario.options);
      await scenario.prepare(storage);
      const before = await loadCopy(copyDirectory(directory));
      const copies = await record(() => scenario.operation(storage));
      const after = await loadCopy(copyDirectory(directory));
      const allowed = [
        describeState(before),
        ...(scenario.intermediate?.(before) ?? []),
        describeState(after),
      ];
      expect(copies.length).toBeGreaterThan(2);
      const seen = new Set<string>();
      for (const [step, copy] of copies.entries()) {
        const first = describeState(await loadCopy(copy));
        expect(allowed, `step ${step}`).toContain(first);
        expect(describeState(await loadCopy(copy)), `step ${step}, second load`).toBe(first);
        seen.add(first);
      }
      expect(seen.has(describeState(after))).toBe(true);
    });
  }

  it('keeps the superseded segments when the replacing record is torn', async () => {
    const directory = temporaryDirectory();
    const options = { segmentBytesMax: 100 };
    const { storage, record } = openRecording(directory, options);
    for (let first = 1; first <= 30; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    const before = describeState(await loadCopy(copyDirectory(directory)));
    const copies = await record(() => persist(storage, { entries: entries(8, 2, 2) }));
    // The copy right after the record was written: the new segment is complete, nothing deleted.
    const written = copies.find((copy) => {
      const newest = segmentFiles(copy).find((name) => name.endsWith('-0000000000000008.log'));
      return newest !== undefined && fs.statSync(path.join(copy, newest)).size > 0;
    });
    expect(written).toBeDefined();
    const newest = path.join(written as string, segmentFiles(written as string).at(-1) as string);
    const recordBytes = fs.statSync(newest).size;
    // Every cut inside the header, then every seventh byte of the body: all are torn writes.
    const cuts = Array.from({ length: recordBytes }, (_, cut) => cut).filter(
      (cut) => cut < 33 || cut % 7 === 0,
    );
    for (const cut of cuts) {
      const copy = copyDirectory(written as string);
      fs.truncateSync(path.join(copy, path.basename(newest)), cut);
      expect(describeState(await loadCopy(copy)), `cut at ${cut}`).toBe(before);
    }
  });

  it('loads a log whose compacted segments a crash deleted only in part, in any order', async () => {
    const directory = temporaryDirectory();
    const { storage, record } = openRecording(directory, { segmentBytesMax: 1 });
    for (let first = 1; first <= 30; first += 3)
      await persist(storage, { entries: entries(first, 3, 1) });
    const copies = await record(() =>
      takeSnapshot(storage, snapshotMetadata(25, 1, 10), snapshotData(10), {
        keepLogAfter: true,
        trailingEntries: 2,
      }),
    );
    const after = describeState(await loadCopy(copyDirectory(directory)));
    // The copy after the commit point, before any segment was deleted. The first seven segments
    // (entries 1 to 21) hold only compacted entries: the snapshot keeps 24 on.
    const committed = copies.find(
      (copy) =>
        fs.existsSync(path.join(copy, 'snapshot-0000000000000001.meta')) &&
        segmentFiles(copy).length === 10,
    );
    expect(committed).toBeDefined();
    for (const deleted of [[1], [2, 4], [0, 3, 5], [6]]) {
      const copy = copyDirectory(committed as string);
      const names = segmentFiles(copy);
      for (const position of deleted) fs.unlinkSync(path.join(copy, names[position] as string));
      expect(describeState(await loadCopy(copy)), `deleted ${deleted.join(', ')}`).toBe(after);
      expect(segmentFiles(copy)).toEqual(segmentFiles(directory));
    }
  });
});
