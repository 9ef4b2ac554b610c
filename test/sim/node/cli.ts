import { parseArgs } from 'node:util';
import { runNodeSchedule, type NodeScheduleResult } from './run-node-schedule.js';

/**
 * `npm run sim:node -- --seeds A..B [--steps N (3000)] [--stop-on-failure] [--verbose]`: runs one
 * whole-node schedule per seed (run-node-schedule.ts), prints one line per failure with its
 * replay command and a summary; exits 1 on any failure.
 */
function parseSeeds(text: string): { first: number; last: number } {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  if (match === null) throw new RangeError(`--seeds must look like 1..100 or 7, got "${text}"`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (last < first) throw new RangeError('--seeds range must be ascending');
  return { first, last };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1..10' },
      steps: { type: 'string', default: '3000' },
      'stop-on-failure': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { first, last } = parseSeeds(values.seeds);
  const steps = Number(values.steps);
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RangeError('--steps must be positive');
  const started = performance.now();
  const results: NodeScheduleResult[] = [];
  for (let seed = first; seed <= last; seed++) {
    const result = await runNodeSchedule({
      seed,
      steps,
      ...(values.verbose ? { echo: (line: string) => console.log(line), keepFiles: true } : {}),
    });
    results.push(result);
    if (result.failure !== undefined) {
      console.log(
        `FAIL seed ${seed}: [${result.failure.invariant}] ${result.failure.message.split('\n')[0]} — replay: ${result.failure.replay}`,
      );
      if (values.verbose) console.log(result.failure.trace.join('\n'));
      if (values['stop-on-failure']) break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const failed = results.filter((result) => !result.ok).length;
  const totalSteps = results.reduce((sum, result) => sum + result.stats.steps, 0);
  const operations = results.reduce((sum, result) => sum + result.stats.operations, 0);
  const faults: Record<string, number> = {};
  for (const result of results)
    for (const [kind, count] of Object.entries(result.stats.faults))
      faults[kind] = (faults[kind] ?? 0) + count;
  console.log(
    `${results.length} seeds, ${failed} failed; ${steps} steps each; ${seconds.toFixed(1)} s, ` +
      `${((results.length / seconds) * 60).toFixed(1)} seeds/minute, ${Math.round(totalSteps / seconds)} steps/s`,
  );
  const sum = (pick: (result: NodeScheduleResult) => number) =>
    results.reduce((total, result) => total + pick(result), 0);
  console.log(
    `virtual time ${(sum((result) => result.stats.virtualMs) / 1000).toFixed(0)} s; client answers ` +
      `ok ${sum((result) => result.stats.clients.ok)}, failed ${sum((result) => result.stats.clients.failed)}, ` +
      `unknown ${sum((result) => result.stats.clients.unknown)}; connections ${sum((result) => result.stats.clients.sessions)}; ` +
      `reads served by followers ${sum((result) => result.stats.clients.replicaReads)}`,
  );
  console.log(
    `register operations ${operations}, appends ${results.reduce((sum, result) => sum + result.stats.appends, 0)}; faults: ` +
      Object.entries(faults)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', '),
  );
  const failures = new Map<string, number>();
  for (const result of results)
    for (const [why, count] of result.stats.failures)
      failures.set(why, (failures.get(why) ?? 0) + count);
  const common = [...failures].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(`failed answers: ${common.map(([why, count]) => `${count}× ${why}`).join('; ')}`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
