import { parseArgs } from 'node:util';
import { faultKinds, type FaultKind } from './nemesis.js';
import { runSchedule, type ScheduleResult } from './run-schedule.js';
import { parseSeedRange } from './seed-range.js';

function parseFaults(text: string): FaultKind[] {
  const kinds = text.split(',').filter((kind) => kind !== '');
  for (const kind of kinds) {
    if (!(faultKinds as readonly string[]).includes(kind)) {
      throw new RangeError(`--faults takes a list of ${faultKinds.join(', ')}; got "${kind}"`);
    }
  }
  return kinds as FaultKind[];
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

/**
 * `npm run sim -- --seeds A..B --steps N [--nodes 3|5|7] [--faults crash,network,...] [--no-swarm]
 * [--stop-on-failure] [--verbose]`: runs one schedule per seed, in ascending order, prints one line
 * per failure (with its replay command) and a summary; exits 1 on any failure. `--faults` narrows
 * the fault kinds a seed may draw from (all by default); each seed then enables a random subset of
 * them with random weights (swarm testing) unless `--no-swarm` turns every listed kind on at equal
 * weight. `--stop-on-failure` ends the run at the first failing seed (the mutant runner uses it);
 * `--verbose` prints every trace line as it happens and each failure's trace excerpt.
 */
function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1..20' },
      steps: { type: 'string', default: '20000' },
      nodes: { type: 'string', default: '3' },
      faults: { type: 'string', default: faultKinds.join(',') },
      'no-swarm': { type: 'boolean', default: false },
      'stop-on-failure': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { first, last } = parseSeedRange(values.seeds);
  const steps = positiveInteger('steps', values.steps);
  const nodes = positiveInteger('nodes', values.nodes);
  const faults = parseFaults(values.faults);
  const verbose = values.verbose;
  const swarm = !values['no-swarm'];
  const started = performance.now();
  const results: ScheduleResult[] = [];
  for (let seed = first; seed <= last; seed++) {
    const result = runSchedule({
      seed,
      steps,
      nodes,
      faults,
      swarm,
      ...(verbose ? { echo: (line: string) => console.log(line) } : {}),
    });
    results.push(result);
    if (result.failure !== undefined) {
      console.log(
        `FAIL seed ${seed}: ${result.failure.message.split('\n')[0]} — replay: ${result.failure.replay}`,
      );
      if (verbose) console.log(result.failure.trace.join('\n'));
      if (values['stop-on-failure']) break;
    }
  }
  printSummary(results, { steps, nodes, elapsedMilliseconds: performance.now() - started });
  return results.some((result) => !result.ok) ? 1 : 0;
}

function printSummary(
  results: readonly ScheduleResult[],
  run: { steps: number; nodes: number; elapsedMilliseconds: number },
): void {
  const failures = results.filter((result) => !result.ok).length;
  const faults: Record<string, number> = {};
  let proposals = 0;
  let acknowledged = 0;
  let snapshots = 0;
  let leaderTerms = 0;
  for (const result of results) {
    for (const [name, count] of Object.entries(result.stats.faults))
      faults[name] = (faults[name] ?? 0) + count;
    proposals += result.stats.proposalsAccepted;
    acknowledged += result.stats.proposalsAcknowledged;
    snapshots += result.stats.snapshotsInstalled;
    leaderTerms += result.stats.leaderTerms;
  }
  const minutes = run.elapsedMilliseconds / 60_000;
  const seedsPerMinute = minutes > 0 ? results.length / minutes : 0;
  console.log(
    `${results.length} seeds, ${failures} failed; ${run.steps} steps, ${run.nodes} nodes; ` +
      `${(run.elapsedMilliseconds / 1000).toFixed(1)} s, ${seedsPerMinute.toFixed(1)} seeds/minute`,
  );
  console.log(
    `proposals ${proposals} accepted, ${acknowledged} acknowledged; ${leaderTerms} leader terms; ` +
      `${snapshots} snapshots installed`,
  );
  const faultLine = Object.entries(faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  console.log(`faults: ${faultLine === '' ? 'none' : faultLine}`);
}

process.exitCode = main();
