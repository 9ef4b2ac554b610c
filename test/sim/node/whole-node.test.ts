import { describe, expect, it } from 'vitest';
import { runNodeSchedule, type NodeScheduleResult } from './run-node-schedule.js';

/**
 * The whole-node simulator's CI seed set: each seed runs the real node stack on three machines
 * and a spare through faults, heals, and must pass every check (run-node-schedule.ts). Sized to
 * take about a minute on a 2-core machine; `npm run sim:node` explores beyond it, and a failing
 * seed names its check and the command that replays it.
 */
const seeds = { first: 1, last: 40 } as const;
const steps = 3000;

function report(result: NodeScheduleResult): string {
  const failure = result.failure;
  if (failure === undefined) return 'ok';
  return [
    `[${failure.invariant}] ${failure.message}`,
    `replay: ${failure.replay} --verbose`,
    'last trace lines:',
    ...failure.trace.slice(-25),
  ].join('\n');
}

describe(`whole-node simulation, ${steps} steps`, () => {
  for (let seed = seeds.first; seed <= seeds.last; seed++) {
    it(`seed ${seed}`, async () => {
      const result = await runNodeSchedule({ seed, steps });
      expect(report(result)).toBe('ok');
      expect(result.stats.clients.ok).toBeGreaterThan(0);
    });
  }
});
