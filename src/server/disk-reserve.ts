// The space a node keeps free for what must be written whatever happens: the Raft log's entries
// (its own and the ones it replicates), checkpoints and snapshots. A leader refuses a new write
// with SQLITE_FULL once the file system holding its data has less than the reserve free, before
// the write runs, so nothing is proposed and nothing is half-done. Without the reserve, a write
// whose pages fit in a reused WAL goes on to a Raft log that finds no space: the log waits for
// space (it must not fail), so the write neither fails nor commits, and the client can only time
// out without knowing the outcome.

import fs from 'node:fs';

/** Free bytes on the file system holding `directory`, or undefined when it cannot be told. */
export type FreeSpace = (directory: string) => number | undefined;

/** Free bytes for an unprivileged writer (`bavail`): what the node's files can still take. */
export const statfsFreeSpace: FreeSpace = (directory) => {
  try {
    const stats = fs.statfsSync(directory);
    return stats.bavail * stats.bsize;
  } catch {
    // The directory is gone or the file system will not say: the write itself will tell.
    return undefined;
  }
};

/**
 * Why a write must not start now (the file system holding `directory` has less than
 * `reserveBytes` free), or undefined when it may. A reserve of 0 never refuses.
 */
export function reserveShortfall(
  directory: string,
  reserveBytes: number,
  freeSpace: FreeSpace = statfsFreeSpace,
): string | undefined {
  if (reserveBytes <= 0) return undefined;
  const free = freeSpace(directory);
  if (free === undefined || free >= reserveBytes) return undefined;
  return (
    `database or disk is full: the file system holding ${directory} has ${mebibytes(free)} free, ` +
    `less than the ${mebibytes(reserveBytes)} this node keeps for its Raft log, checkpoints ` +
    `and snapshots (limits.diskReserveBytes); free some space or grow the disk`
  );
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
