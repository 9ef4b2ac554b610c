// Orphan protection for the C dqlite launcher (c-dqlite-cluster.ts): the dqlite-demo processes it
// spawned and the data directories it made, and the exit hooks that SIGKILL and remove them when
// this process goes away before stop(). Kept apart because it is process-wide state with hooks
// of its own, shared by every cluster this process starts; nothing here spawns anything.

import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Children still running; the hooks below SIGKILL them so a crashed run leaves no orphans. */
const runningChildren = new Set<ChildProcess>();
/** Data directories of clusters not yet stopped; the hooks remove them too. */
const liveDirectories = new Set<string>();
let exitHooksInstalled = false;
/** Vitest ends its fork workers with SIGTERM, which skips 'exit' handlers; Ctrl-C sends SIGINT. */
const terminatingSignals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** A child we spawned: SIGKILLed by the hooks until it exits. */
export function guardChild(child: ChildProcess): void {
  runningChildren.add(child);
  child.on('exit', () => runningChildren.delete(child));
}

/** A data directory we made: removed by the hooks until `releaseDirectory`. */
export function guardDirectory(directory: string): void {
  liveDirectories.add(directory);
}

/** The directory was removed by its cluster's stop(). */
export function releaseDirectory(directory: string): void {
  liveDirectories.delete(directory);
}

/** Installs the hooks, once per process. */
export function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', cleanUpSynchronously);
  for (const signal of terminatingSignals) process.on(signal, onTerminatingSignal);
  // Not covered: a runner that is itself SIGKILLed; nothing in-process can react to that.
}

function cleanUpSynchronously(): void {
  // Synchronous, as 'exit' handlers must be. Only children we spawned are in the set.
  for (const child of runningChildren) child.kill('SIGKILL');
  for (const directory of liveDirectories) {
    try {
      // Retries cover a dying node still closing its files; a leftover dir is not worth a throw.
      rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort while the process is going down.
    }
  }
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  cleanUpSynchronously();
  for (const each of terminatingSignals) process.off(each, onTerminatingSignal);
  // Listening replaced Node's default "die on signal"; restore it unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
