import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseNameProblem } from '../../../src/fsm/database-directory.js';
import { SnapshotReader, writeSnapshotBlob } from '../../../src/fsm/snapshot-format.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function directory(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'snapshot-format-'));
  roots.push(root);
  return root;
}

describe('the snapshot blob', () => {
  it('restores the same files however the stream is cut into chunks', () => {
    const source = directory();
    const files: Record<string, Buffer> = {
      a: Buffer.alloc(3 * 1024 * 1024 + 17, 7), // more than one copy chunk
      empty: Buffer.alloc(0),
      'z.db': Buffer.from('zzz'),
    };
    for (const [name, bytes] of Object.entries(files))
      writeFileSync(path.join(source, name), bytes);
    const parts: Uint8Array[] = [];
    writeSnapshotBlob(source, Object.keys(files).sort(), (bytes) => parts.push(bytes));
    const blob = Buffer.concat(parts);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: blob.length - 1 }), { maxLength: 6 }),
        (cuts) => {
          const target = directory();
          writeFileSync(path.join(target, 'gone'), 'not in the snapshot');
          const reader = new SnapshotReader(target, databaseNameProblem);
          const points = [0, ...new Set(cuts)].sort((x, y) => x - y);
          points.forEach((start, i) =>
            reader.push(blob.subarray(start, points[i + 1] ?? blob.length)),
          );
          reader.finish(readdirSync(target).filter((name) => !name.includes('~')));
          expect(readdirSync(target).sort()).toEqual(Object.keys(files).sort());
          for (const [name, bytes] of Object.entries(files)) {
            expect(readFileSync(path.join(target, name)).equals(bytes)).toBe(true);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('refuses a blob with a bad name, a duplicate, a missing end or trailing bytes', () => {
    const blob = (names: string[], trailing = Buffer.alloc(0)) => {
      const parts: Buffer[] = [Buffer.from([names.length, 0, 0, 0])];
      for (const name of names) {
        const header = Buffer.alloc(1 + name.length + 8);
        header.writeUInt8(name.length, 0);
        header.write(name, 1);
        header.writeBigUInt64LE(1n, 1 + name.length);
        parts.push(header, Buffer.from('x'));
      }
      return Buffer.concat([...parts, trailing]);
    };
    const restore = (bytes: Buffer) => {
      const target = directory();
      writeFileSync(path.join(target, 'kept'), 'still here');
      const reader = new SnapshotReader(target, databaseNameProblem);
      try {
        reader.push(bytes);
        reader.finish(['kept']);
      } finally {
        // Whatever happened, a refused blob leaves the databases as they were.
        if (readdirSync(target).includes('kept'))
          expect(readFileSync(path.join(target, 'kept'), 'utf8')).toBe('still here');
      }
    };
    expect(() => restore(blob(['../evil']))).toThrow(RangeError);
    expect(() => restore(blob(['a', 'a']))).toThrow(/twice/);
    expect(() => restore(blob(['a']).subarray(0, 10))).toThrow(/truncated/);
    expect(() => restore(blob(['a'], Buffer.from('!')))).toThrow(/trailing/);
  });
});
