import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeHardState } from '../../../src/storage/hard-state-record.js';
import { StorageCorruptError } from '../../../src/storage/index.js';
import { flipByte } from './crash-fixture.js';
import { loadCopy, openStorage, persist, temporaryDirectory } from './storage-fixture.js';

// Term and vote live in two alternating copies: damage to the newer one (a torn write) falls back
// to the older one; damage to both is corruption.

/** A closed directory whose copies hold term 4 (older) and term 5 (newer); returns the names. */
async function twoHardStates(): Promise<{ directory: string; newer: string; older: string }> {
  const directory = temporaryDirectory();
  const { storage } = openStorage(directory);
  await persist(storage, { hardState: { term: 4, vote: 2 }, entries: [] });
  await persist(storage, { hardState: { term: 5, vote: 3 }, entries: [] });
  await storage.close();
  const versionOf = (name: string) => {
    const copy = decodeHardState(fs.readFileSync(path.join(directory, name)));
    if (typeof copy === 'string') throw new Error(copy);
    return copy.version;
  };
  const [newer, older] = ['hard-state-1', 'hard-state-2'].sort(
    (a, b) => versionOf(b) - versionOf(a),
  );
  return { directory, newer: newer as string, older: older as string };
}

describe('hard state recovery', () => {
  it('falls back to the older copy when the newer one is damaged or torn', async () => {
    for (const damage of ['flip', 'truncate', 'empty'] as const) {
      const { directory, newer } = await twoHardStates();
      const file = path.join(directory, newer);
      if (damage === 'flip') flipByte(file, 20);
      if (damage === 'truncate') fs.truncateSync(file, 17);
      if (damage === 'empty') fs.truncateSync(file, 0);
      expect((await loadCopy(directory)).hardState, damage).toEqual({ term: 4, vote: 2 });
    }
  });

  it('keeps writing after a fallback, to the damaged copy first', async () => {
    const { directory, newer } = await twoHardStates();
    flipByte(path.join(directory, newer), 3);
    const { storage } = openStorage(directory);
    await persist(storage, { hardState: { term: 6, vote: 1 }, entries: [] });
    await storage.close();
    expect((await loadCopy(directory)).hardState).toEqual({ term: 6, vote: 1 });
  });

  it('uses the newer copy when the older one is damaged', async () => {
    const { directory, older } = await twoHardStates();
    flipByte(path.join(directory, older), 10);
    expect((await loadCopy(directory)).hardState).toEqual({ term: 5, vote: 3 });
  });

  it('fails when both copies are damaged', async () => {
    const { directory } = await twoHardStates();
    flipByte(path.join(directory, 'hard-state-1'), 0);
    flipByte(path.join(directory, 'hard-state-2'), 35);
    const failure = loadCopy(directory);
    await expect(failure).rejects.toThrow(StorageCorruptError);
    await expect(failure).rejects.toThrow(
      /hard-state-1 at offset 0: both hard-state copies are invalid/,
    );
  });

  it('recreates a missing copy from the other', async () => {
    const { directory, newer } = await twoHardStates();
    fs.unlinkSync(path.join(directory, newer));
    expect((await loadCopy(directory)).hardState).toEqual({ term: 4, vote: 2 });
    expect(fs.existsSync(path.join(directory, newer))).toBe(true);
    expect((await loadCopy(directory)).hardState).toEqual({ term: 4, vote: 2 });
  });

  it('treats a torn first write of a fresh node as nothing written', async () => {
    const directory = temporaryDirectory();
    fs.writeFileSync(path.join(directory, 'hard-state-1'), Buffer.from([1, 2, 3]));
    expect((await loadCopy(directory)).hardState).toEqual({ term: 0, vote: 0 });
    const { storage } = openStorage(directory);
    await persist(storage, { hardState: { term: 1, vote: 1 }, entries: [] });
    await storage.close();
    expect((await loadCopy(directory)).hardState).toEqual({ term: 1, vote: 1 });
  });
});
