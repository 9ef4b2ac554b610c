// The benchmark command as users run it (`dqlite-ts bench --quick`), as a smoke test: it must
// start its clusters, run every workload and failover, and report. No speed is asserted here:
// machines in CI are noisy, and figures belong to bench/, not to tests.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKLOAD_NAMES } from '../../bench/compare/workloads.js';
import { cliCommand } from '../../bin/local-cluster.js';

const execFileAsync = promisify(execFile);
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-bench-test-'));
// Every workload the command knows: a new one is covered here without a second list.
const workloads = WORKLOAD_NAMES;

interface Summary {
  readonly opsPerSecond: { readonly median: number };
  readonly errors: number;
}
interface Report {
  readonly clusters: readonly string[];
  readonly summaries: Record<string, Record<string, Summary>>;
  readonly failover: Record<string, { acknowledged: number; missing: number }[]>;
  readonly floors: Record<string, number>;
}

describe('dqlite-ts bench --quick', () => {
  afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('runs every workload on every cluster and loses no acknowledged write', async () => {
    const json = path.join(directory, 'bench.json');
    const { stdout } = await execFileAsync(
      process.execPath,
      // Shorter than --quick alone: this checks that everything runs and reports, not speed.
      [...cliCommand(), 'bench', '--quick', '--seconds', '0.5', '--rows', '2000', '--json', json],
      { timeout: 170_000 },
    );
    expect(stdout).toContain('| workload | dqlite-ts ops/s | C dqlite ops/s | ratio |');
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as Report;
    // In CI the command itself fails when C dqlite is missing; locally it says so loudly.
    expect(report.clusters).toContain('dqlite-ts');
    // dqlite-ts again with metrics on and scraped, and a table of what that costs.
    expect(report.clusters).toContain('dqlite-ts+metrics');
    expect(stdout).toContain('| workload | ops/s with metrics | ratio |');
    if (process.env.CI === 'true') expect(report.clusters).toContain('c-dqlite');
    for (const cluster of report.clusters) {
      for (const workload of workloads) {
        expect(report.summaries[cluster]?.[workload]?.opsPerSecond.median).toBeGreaterThan(0);
      }
      if (cluster === 'dqlite-ts+metrics') continue; // failover runs on the two compared
      const failover = report.failover[cluster] ?? [];
      expect(failover).toHaveLength(1);
      expect(failover[0]!.acknowledged).toBeGreaterThan(0);
      expect(failover[0]!.missing).toBe(0);
    }
    // Our server queues concurrent writers instead of answering "database is locked".
    for (const workload of workloads) {
      expect(report.summaries['dqlite-ts']![workload]!.errors).toBe(0);
      expect(report.summaries['dqlite-ts+metrics']![workload]!.errors).toBe(0);
    }
    for (const floor of Object.values(report.floors)) expect(floor).toBeGreaterThan(0);
  }, 180_000);
});
