// What a content check (`dqlite-ts check`, checkCluster) costs on the loaded dqlite-ts cluster:
// the wall time of a whole check (proposal, every node hashing every page of every database at
// that index, the answers), against a floor measured in the same run: hashing the same number of
// bytes with SHA-256 in this process, the least one node must do.

import { createHash, randomBytes } from 'node:crypto';
import { checkCluster } from '../../index.js';

/** Checks timed; the median is reported. */
const checks = 3;
const chunkBytes = 1024 * 1024;

export interface ContentCheckCost {
  /** Pages every node hashed (all databases). */
  readonly pages: number;
  /** Median wall time of a whole check, ms. */
  readonly checkMs: number;
  /** Median time to SHA-256 the same bytes once in this process, ms. */
  readonly hashFloorMs: number;
}

export async function measureContentCheck(addresses: readonly string[]): Promise<ContentCheckCost> {
  const checkTimes: number[] = [];
  let pages = 0;
  for (let i = 0; i < checks; i++) {
    const started = performance.now();
    const check = await checkCluster({ cluster: [...addresses] });
    checkTimes.push(performance.now() - started);
    if (check.diverged.length > 0) {
      throw new Error(`content check at ${check.index}: ${check.diverged.length} nodes diverged`);
    }
    const answered = check.nodes.find((node) => node.databases !== undefined);
    pages = answered?.databases?.reduce((sum, digest) => sum + digest.pages, 0) ?? 0;
  }
  return { pages, checkMs: median(checkTimes), hashFloorMs: hashFloorMs(pages * 4096) };
}

/** Median time to SHA-256 `bytes` bytes, in 1 MiB chunks. */
function hashFloorMs(bytes: number): number {
  const chunk = randomBytes(chunkBytes);
  const times: number[] = [];
  for (let i = 0; i < checks; i++) {
    const started = performance.now();
    const hash = createHash('sha256');
    for (let done = 0; done < bytes; done += chunkBytes) {
      hash.update(done + chunkBytes <= bytes ? chunk : chunk.subarray(0, bytes - done));
    }
    hash.digest();
    times.push(performance.now() - started);
  }
  return median(times);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
