// What a node's database directory holds: which names may be databases, where each one's file
// is, the page size every one has, and the files beside them that must not outlive a process.
// Kept apart from DatabaseSet because the rules are shared: the leader's connections
// (leader-databases.ts), the SQL engine's checks on client input and a snapshot's names all
// follow them, and none of those needs the state machine.

import fs from 'node:fs';
import path from 'node:path';
import { restoringSuffix } from './snapshot-format.js';

/** SQLite's default page size; every database of a cluster uses it. */
export const pageSizeBytes = 4096;
/** Names the snapshots DatabaseSet writes; `~` cannot occur in a database name. */
const snapshotFilePrefix = '~snapshot-';

/** Why `name` cannot name a database (it must be a plain file name), or undefined. */
export function databaseNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name) || name === '.' || name === '..') {
    return `database name "${name}" must be 1-255 of A-Z a-z 0-9 _ . -`;
  }
  return undefined;
}

/** The file of database `name`; a name from a client that is not a plain file name is refused. */
export function databaseFile(directory: string, name: string): string {
  const problem = databaseNameProblem(name);
  if (problem !== undefined) throw new RangeError(problem);
  return path.join(directory, name);
}

/** The snapshot file of applied index `index`: a name per index, never a database's. */
export function snapshotFile(directory: string, index: number): string {
  return path.join(directory, `${snapshotFilePrefix}${index}`);
}

/** Every database file in `directory`, sorted by name. */
export function databaseNames(directory: string): string[] {
  return fs
    .readdirSync(directory)
    .filter((name) => !isLeftover(name) && !name.endsWith('-journal'))
    .sort();
}

/**
 * Removes the files a process leaves beside its databases. A WAL left by a leader that crashed
 * may hold transactions Raft never committed, and SQLite would replay them into the database at
 * the next open. Raft rebuilds the committed state on its own (it restores the snapshot, then
 * applies every committed entry after it), so the leftovers are dropped, never trusted.
 */
export function removeLeftovers(directory: string): void {
  for (const name of fs.readdirSync(directory)) {
    if (isLeftover(name)) fs.rmSync(path.join(directory, name));
  }
}

/**
 * Files beside the databases that must not outlive a process: a WAL and its index (which may hold
 * frames Raft never committed), a restore that stopped half way, and a snapshot being copied.
 */
function isLeftover(name: string): boolean {
  return (
    /(-wal|-shm)$/.test(name) ||
    name.endsWith(restoringSuffix) ||
    name.startsWith(snapshotFilePrefix)
  );
}
