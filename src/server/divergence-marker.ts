import fs from 'node:fs';
import path from 'node:path';

/** The file in a node's data directory that says its databases diverged, and why. */
const markerName = 'diverged';

/**
 * Why this node's databases diverged from the cluster's, if a content check found so before
 * (the marker survives restarts: the data that diverged is still there), or undefined.
 */
export function readDivergence(dataDir: string): string | undefined {
  const file = path.join(dataDir, markerName);
  if (!fs.existsSync(file)) return undefined;
  return fs.readFileSync(file, 'utf8').trim() || 'a content check found this node diverged';
}

/** Records, durably, that this node's databases diverged (read back by `readDivergence`). */
export function recordDivergence(dataDir: string, reason: string): void {
  const file = path.join(dataDir, markerName);
  const descriptor = fs.openSync(file, 'w');
  try {
    fs.writeSync(descriptor, `${reason}\n`);
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}

/** What an operator reads when a node diverged: what it means and what to do. */
export function divergenceAdvice(reason: string): string {
  return (
    `DIVERGED: this node's databases differ from the cluster's (${reason}). It keeps following ` +
    'and voting but will never lead. Replace its data: stop it, remove it from the cluster, ' +
    'delete its data directory, and start it again with --join.'
  );
}
