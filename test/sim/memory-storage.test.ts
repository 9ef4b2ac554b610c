import { describe, expect, it } from 'vitest';
import { EntryType, type Entry, type SnapshotMetadata } from '../../src/raft/types.js';
import { StorageContractError } from './disk-state.js';
import { MemoryStorage, pendingOperationsMax } from './memory-storage.js';
import { Prng } from './prng.js';
import { Scheduler } from './scheduler.js';

function entries(first: number, last: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = first; index <= last; index++) {
    result.push({ index, term, type: EntryType.command, data: Buffer.from(`e${index}`) });
  }
  return result;
}

function setUp(options: { tornPersistProbability?: number; seed?: number } = {}) {
  const scheduler = new Scheduler();
  const storage = new MemoryStorage({
    scheduler,
    prng: new Prng(options.seed ?? 1),
    fsyncMinMilliseconds: 1,
    fsyncMaxMilliseconds: 10,
    tornPersistProbability: options.tornPersistProbability ?? 0,
  });
  return { scheduler, storage };
}

function drain(scheduler: Scheduler): void {
  while (scheduler.step() !== undefined);
}

const metadata: SnapshotMetadata = {
  index: 5,
  term: 2,
  configuration: { servers: [{ id: 1, address: 'sim-1', role: 0 }] },
  configurationIndex: 1,
  bytes: 6,
};

describe('MemoryStorage', () => {
  it('completes operations after an fsync delay, in call order', () => {
    const { scheduler, storage } = setUp();
    const done: string[] = [];
    storage.persist({ entries: entries(1, 3, 1) }, () => done.push(`a@${scheduler.now}`));
    storage.persist({ hardState: { term: 2, vote: 1 }, entries: [] }, () =>
      done.push(`b@${scheduler.now}`),
    );
    storage.persist({ entries: entries(4, 4, 2) }, () => done.push(`c@${scheduler.now}`));
    expect(done).toEqual([]);
    expect(storage.load().entries).toEqual([]);
    expect(storage.latest.lastIndex).toBe(4);
    drain(scheduler);
    expect(done.map((label) => label[0])).toEqual(['a', 'b', 'c']);
    const times = done.map((label) => Number(label.slice(2)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(1);
    expect(storage.load()).toEqual({
      hardState: { term: 2, vote: 1 },
      snapshot: undefined,
      entries: entries(1, 4, 1).map((entry) => (entry.index === 4 ? { ...entry, term: 2 } : entry)),
    });
  });

  it('loses writes that were not fsynced when it crashes, and never acknowledges them', () => {
    const { scheduler, storage } = setUp();
    const done: string[] = [];
    storage.persist({ hardState: { term: 1, vote: 0 }, entries: entries(1, 2, 1) }, () =>
      done.push('durable'),
    );
    drain(scheduler);
    storage.persist({ hardState: { term: 3, vote: 2 }, entries: entries(3, 5, 3) }, () =>
      done.push('lost'),
    );
    storage.crash();
    drain(scheduler);
    expect(done).toEqual(['durable']);
    expect(storage.load().hardState).toEqual({ term: 1, vote: 0 });
    expect(storage.load().entries.map((entry) => entry.index)).toEqual([1, 2]);
    expect(storage.latest.lastIndex).toBe(2);
  });

  it('keeps only a strict prefix of the entries of a torn persist, without its hard state', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { scheduler, storage } = setUp({ tornPersistProbability: 1, seed });
      let acknowledged = false;
      storage.persist(
        { hardState: { term: 4, vote: 1 }, entries: entries(1, 5, 4) },
        () => (acknowledged = true),
      );
      storage.crash();
      drain(scheduler);
      expect(acknowledged).toBe(false);
      const kept = storage.load().entries.map((entry) => entry.index);
      expect(kept.length).toBeLessThan(5);
      expect(kept).toEqual([1, 2, 3, 4].slice(0, kept.length));
      expect(storage.load().hardState).toEqual({ term: 0, vote: 0 });
    }
  });

  it('replaces a conflicting suffix and refuses a gap', () => {
    const { scheduler, storage } = setUp();
    storage.persist({ entries: entries(1, 5, 1) }, () => undefined);
    storage.persist({ entries: entries(3, 3, 2) }, () => undefined);
    drain(scheduler);
    expect(storage.load().entries.map((entry) => `${entry.index}/${entry.term}`)).toEqual([
      '1/1',
      '2/1',
      '3/2',
    ]);
    expect(() => storage.persist({ entries: entries(5, 5, 2) }, () => undefined)).toThrow(
      StorageContractError,
    );
  });

  it('stages snapshot chunks, installs them, trims the log and reads the data back', () => {
    const { scheduler, storage } = setUp();
    storage.persist({ entries: entries(1, 7, 2) }, () => undefined);
    storage.writeSnapshotChunk(metadata, 0, Buffer.from('abc'), () => undefined);
    storage.writeSnapshotChunk(metadata, 3, Buffer.from('def'), () => undefined);
    storage.installSnapshot(metadata, { keepLogAfter: true, trailingEntries: 1 }, () => undefined);
    let read = '';
    storage.readSnapshotChunk(metadata, 2, 3, (error, data) => {
      expect(error).toBeUndefined();
      read = Buffer.from(data).toString();
    });
    drain(scheduler);
    expect(read).toBe('cde');
    const state = storage.load();
    expect(state.snapshot).toEqual(metadata);
    expect(state.entries.map((entry) => entry.index)).toEqual([5, 6, 7]);
  });

  it('loses a staged snapshot whose install was not fsynced', () => {
    const { scheduler, storage } = setUp();
    storage.writeSnapshotChunk(metadata, 0, Buffer.from('abcdef'), () => undefined);
    storage.installSnapshot(metadata, { keepLogAfter: false, trailingEntries: 0 }, () => undefined);
    storage.crash();
    drain(scheduler);
    expect(storage.load().snapshot).toBeUndefined();
  });

  it('refuses chunks that were never started, overflow, or installs of an incomplete snapshot', () => {
    const { storage } = setUp();
    expect(() =>
      storage.writeSnapshotChunk(metadata, 3, Buffer.from('def'), () => undefined),
    ).toThrow(StorageContractError);
    storage.writeSnapshotChunk(metadata, 0, Buffer.from('abc'), () => undefined);
    expect(() =>
      storage.writeSnapshotChunk(metadata, 3, Buffer.from('defg'), () => undefined),
    ).toThrow(StorageContractError);
    expect(() =>
      storage.installSnapshot(
        metadata,
        { keepLogAfter: false, trailingEntries: 0 },
        () => undefined,
      ),
    ).toThrow(StorageContractError);
  });

  it('refuses to install a snapshot older than the current one', () => {
    const { storage } = setUp();
    storage.writeSnapshotChunk(metadata, 0, Buffer.from('abcdef'), () => undefined);
    storage.installSnapshot(metadata, { keepLogAfter: false, trailingEntries: 0 }, () => undefined);
    const older = { ...metadata, index: 4 };
    storage.writeSnapshotChunk(older, 0, Buffer.from('abcdef'), () => undefined);
    expect(() =>
      storage.installSnapshot(older, { keepLogAfter: false, trailingEntries: 0 }, () => undefined),
    ).toThrow(StorageContractError);
  });

  it('answers a read of a snapshot that is no longer current with an error', () => {
    const { scheduler, storage } = setUp();
    let failure: Error | undefined;
    storage.readSnapshotChunk(metadata, 0, 3, (error) => (failure = error));
    drain(scheduler);
    expect(failure).toBeInstanceOf(Error);
  });

  it('bootstraps durably, but only an empty storage', () => {
    const { storage } = setUp();
    storage.bootstrap({
      hardState: { term: 1, vote: 0 },
      snapshot: undefined,
      entries: entries(1, 1, 1),
    });
    storage.crash();
    expect(storage.load().entries).toHaveLength(1);
    expect(() =>
      storage.bootstrap({
        hardState: { term: 1, vote: 0 },
        snapshot: undefined,
        entries: entries(1, 1, 1),
      }),
    ).toThrow(RangeError);
  });

  it('refuses more than pendingOperationsMax operations waiting for their fsync', () => {
    const { storage } = setUp();
    for (let count = 0; count < pendingOperationsMax; count++) {
      storage.persist({ hardState: { term: 1, vote: 0 }, entries: [] }, () => undefined);
    }
    expect(() => storage.persist({ entries: [] }, () => undefined)).toThrow(RangeError);
  });
});
