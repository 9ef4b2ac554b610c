import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { reserveShortfall, statfsFreeSpace } from '../../../src/server/disk-reserve.js';

const MiB = 1024 * 1024;

describe('reserveShortfall', () => {
  it('refuses only below the reserve, and names the free space, the reserve and the limit', () => {
    const free = (bytes: number) => () => bytes;
    expect(reserveShortfall('/data', 64 * MiB, free(64 * MiB))).toBeUndefined();
    expect(reserveShortfall('/data', 64 * MiB, free(200 * MiB))).toBeUndefined();
    expect(reserveShortfall('/data', 64 * MiB, free(64 * MiB - 1))).toBe(
      'database or disk is full: the file system holding /data has 64.0 MiB free, less than ' +
        'the 64.0 MiB this node keeps for its Raft log, checkpoints and snapshots ' +
        '(limits.diskReserveBytes); free some space or grow the disk',
    );
    expect(reserveShortfall('/data', 16 * MiB, free(3.25 * MiB))).toMatch(/has 3\.3 MiB free/);
  });

  it('never refuses with a reserve of 0, or when the file system will not say', () => {
    expect(reserveShortfall('/data', 0, () => 0)).toBeUndefined();
    expect(reserveShortfall('/data', 64 * MiB, () => undefined)).toBeUndefined();
  });

  it('reads the free space of a real file system, and none of a missing directory', () => {
    const free = statfsFreeSpace(os.tmpdir());
    expect(free).toBeGreaterThan(0);
    expect(statfsFreeSpace('/no/such/directory/here')).toBeUndefined();
    expect(reserveShortfall(os.tmpdir(), Number.MAX_SAFE_INTEGER)).toMatch(/^database or disk/);
  });
});
