import { describe, expect, it } from 'vitest';
import { runSchedule, type ScheduleResult } from './run-schedule.js';

/**
 * The CI seed set: every seed runs a full schedule (faults, then heal) and must keep every
 * invariant. Sized to take about a minute of one core (a couple of minutes with the whole-node
 * set, test/sim/node); `npm run sim` explores beyond it. A failing seed names its invariant and the command that replays it.
 */
const ciSchedules = [
  { nodes: 3, seedFirst: 1, seedLast: 80, steps: 20_000 },
  { nodes: 5, seedFirst: 1, seedLast: 40, steps: 20_000 },
  { nodes: 7, seedFirst: 1, seedLast: 25, steps: 20_000 },
] as const;

/** Seeds that run every fault kind at once, as before swarm testing (`--no-swarm`). */
const unswarmedSchedule = { nodes: 3, seedFirst: 1, seedLast: 10, steps: 20_000 } as const;

const traceLinesShown = 25;

function report(result: ScheduleResult): string {
  const failure = result.failure;
  if (failure === undefined) return 'ok';
  return [
    failure.message,
    `at step ${failure.step}, ${failure.timeMilliseconds.toFixed(1)} ms of virtual time`,
    `replay: ${failure.replay} --verbose`,
    'last trace lines:',
    ...failure.trace.slice(-traceLinesShown),
  ].join('\n');
}

for (const schedule of ciSchedules) {
  describe(`simulation, ${schedule.nodes} voters, ${schedule.steps} steps`, () => {
    for (let seed = schedule.seedFirst; seed <= schedule.seedLast; seed++) {
      it(`seed ${seed}`, () => {
        const result = runSchedule({ seed, steps: schedule.steps, nodes: schedule.nodes });
        expect(report(result)).toBe('ok');
        expect(result.stats.proposalsAcknowledged).toBeGreaterThan(0);
      });
    }
  });
}

describe(`simulation without swarm, ${unswarmedSchedule.nodes} voters`, () => {
  for (let seed = unswarmedSchedule.seedFirst; seed <= unswarmedSchedule.seedLast; seed++) {
    it(`seed ${seed}`, () => {
      const result = runSchedule({
        seed,
        steps: unswarmedSchedule.steps,
        nodes: unswarmedSchedule.nodes,
        swarm: false,
      });
      expect(report(result)).toBe('ok');
    });
  }
});
