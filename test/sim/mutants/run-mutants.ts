import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSeedRange, type SeedRange } from '../seed-range.js';
import { applyMutant, cliOfMode, stepsOfMode, stopFlagsOfMode, type Mutant } from './mutant.js';
import { mutants } from './mutants.js';

/**
 * `npm run sim:mutants -- [--seeds A..B] [--steps N] [--mutant NAME[,NAME]]... [--list]`: runs the
 * simulator of each mutant's mode against a copy of the tree with the mutant applied, seeds in
 * ascending order, stopping at the first failing seed. Prints one line per mutant (caught or
 * SURVIVED) and a total; exits 1 if any mutant survived or could not run, 2 on a bad mutant or
 * flag. Mutants run in parallel, one child process each, up to os.availableParallelism().
 */

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Characters of a failure message shown on a mutant's line. */
const messageCharactersMax = 160;
/** Characters of a child's stderr kept to explain a child that failed without a FAIL line. */
const stderrCharactersKept = 2000;

type Status = 'caught' | 'SURVIVED' | 'ERROR';

interface Outcome {
  readonly mutant: Mutant;
  readonly status: Status;
  /** The first failing seed and its message, when caught. */
  readonly seed?: number;
  readonly message?: string;
  readonly seedsRun: number;
  readonly seconds: number;
}

interface RunOptions {
  readonly seeds: SeedRange;
  /** Steps per seed; each mode's default (stepsOfMode) when not given. */
  readonly steps: number | undefined;
}

/** Children and copies alive now, so an interrupt can clean them up. */
const children = new Set<ChildProcess>();
const copies = new Set<string>();

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1..1000' },
      steps: { type: 'string' },
      mutant: { type: 'string', multiple: true, default: [] },
      list: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const selected = selectMutants(values.mutant);
  if (values.list) {
    for (const mutant of selected) {
      const args = mutant.args === undefined ? '' : ` [${mutant.args.join(' ')}]`;
      console.log(`${mutant.name} (${mutant.mode}, ${mutant.file}${args}): ${mutant.description}`);
    }
    return 0;
  }
  const options: RunOptions = {
    seeds: parseSeedRange(values.seeds),
    steps: values.steps === undefined ? undefined : positiveInteger('steps', values.steps),
  };
  // Every mutant is checked before any runs, so a stale one fails the whole command at once.
  for (const mutant of selected) mutatedText(mutant);
  const started = performance.now();
  const outcomes = await runPool(selected, options, (outcome) => console.log(describe(outcome)));
  const caught = outcomes.filter((outcome) => outcome.status === 'caught').length;
  const seconds = (performance.now() - started) / 1000;
  console.log(`caught ${caught}/${outcomes.length} in ${seconds.toFixed(1)} s`);
  return caught === outcomes.length ? 0 : 1;
}

/** Mutants named by `--mutant` (each value may be a comma list), in list order; all if none. */
function selectMutants(names: readonly string[]): Mutant[] {
  const wanted = names.flatMap((value) => value.split(',')).filter((name) => name !== '');
  const seen = new Set<string>();
  for (const mutant of mutants) {
    if (seen.has(mutant.name)) throw new RangeError(`two mutants are named ${mutant.name}`);
    seen.add(mutant.name);
  }
  for (const name of wanted) {
    if (!seen.has(name)) throw new RangeError(`--mutant: no mutant is named "${name}"`);
  }
  if (wanted.length === 0) return [...mutants];
  return mutants.filter((mutant) => wanted.includes(mutant.name));
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

/** The mutated content of the mutant's file, read from the working tree. */
function mutatedText(mutant: Mutant): string {
  const original = readFileSync(path.join(repositoryRoot, mutant.file), 'utf8');
  return applyMutant(mutant, original);
}

/** Runs every mutant, at most os.availableParallelism() at a time; reports each as it ends. */
async function runPool(
  selected: readonly Mutant[],
  options: RunOptions,
  report: (outcome: Outcome) => void,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < selected.length) {
      const mutant = selected[next++] as Mutant;
      const outcome = await runMutant(mutant, options);
      outcomes.push(outcome);
      report(outcome);
    }
  };
  const workers = Math.max(1, Math.min(os.availableParallelism(), selected.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return selected.map((mutant) => outcomes.find((outcome) => outcome.mutant === mutant) as Outcome);
}

async function runMutant(mutant: Mutant, options: RunOptions): Promise<Outcome> {
  const started = performance.now();
  const copy = prepareCopy(mutant);
  try {
    const result = await runSimulator(copy, mutant, options);
    const seconds = (performance.now() - started) / 1000;
    if (result.failure !== undefined) {
      const seedsRun = result.failure.seed - options.seeds.first + 1;
      return { mutant, status: 'caught', ...result.failure, seedsRun, seconds };
    }
    if (result.exitCode === 0)
      return { mutant, status: 'SURVIVED', seedsRun: result.seedsRun, seconds };
    // Exit 1 without a FAIL line: the mutated tree did not even run (a syntax error, a crash).
    const message = `exit ${result.exitCode} without a failing seed: ${result.stderr.trim()}`;
    return { mutant, status: 'ERROR', message, seedsRun: result.seedsRun, seconds };
  } finally {
    rmSync(copy, { recursive: true, force: true });
    copies.delete(copy);
  }
}

/**
 * A throwaway copy of what the simulators need: src/ and test/ copied (the mutant edits the copy),
 * node_modules linked, package.json (for "type": "module") and the tsconfig files copied.
 */
function prepareCopy(mutant: Mutant): string {
  const copy = mkdtempSync(path.join(os.tmpdir(), `dqlite-mutant-${mutant.name}-`));
  copies.add(copy);
  for (const folder of ['src', 'test'])
    cpSync(path.join(repositoryRoot, folder), path.join(copy, folder), { recursive: true });
  const topFiles = readdirSync(repositoryRoot).filter(
    (name) => name === 'package.json' || /^tsconfig.*\.json$/.test(name),
  );
  for (const name of topFiles) cpSync(path.join(repositoryRoot, name), path.join(copy, name));
  symlinkSync(path.join(repositoryRoot, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  writeFileSync(path.join(copy, mutant.file), mutatedText(mutant));
  return copy;
}

interface SimulatorResult {
  readonly failure?: { readonly seed: number; readonly message: string };
  readonly seedsRun: number;
  readonly exitCode: number;
  readonly stderr: string;
}

const failLine = /^FAIL seed (\d+): (.*?)(?: — replay: .*)?$/;
const summaryLine = /^(\d+) seeds, \d+ failed/;

/** Runs the mode's CLI in `copy`; stops the child at its first FAIL line. */
function runSimulator(copy: string, mutant: Mutant, options: RunOptions): Promise<SimulatorResult> {
  const { first, last } = options.seeds;
  const args = [
    cliOfMode[mutant.mode],
    '--seeds',
    `${first}..${last}`,
    '--steps',
    String(options.steps ?? stepsOfMode[mutant.mode]),
    ...stopFlagsOfMode[mutant.mode],
    ...(mutant.args ?? []),
  ];
  const child = spawn(path.join(copy, 'node_modules', '.bin', 'tsx'), args, {
    cwd: copy,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let failure: SimulatorResult['failure'];
  let seedsRun = 0;
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const fail = failLine.exec(line);
      if (fail !== null && failure === undefined) {
        failure = { seed: Number(fail[1]), message: fail[2] ?? '' };
        // A CLI without a stop flag would go on through every seed; the first failure is enough.
        if (stopFlagsOfMode[mutant.mode].length === 0) child.kill();
      }
      const summary = summaryLine.exec(line);
      if (summary !== null) seedsRun = Number(summary[1]);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-stderrCharactersKept);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ ...(failure ? { failure } : {}), seedsRun, exitCode: code ?? 1, stderr });
    });
  });
}

function describe(outcome: Outcome): string {
  const name = outcome.mutant.name.padEnd(30);
  const tail = `${outcome.seedsRun} seeds, ${outcome.seconds.toFixed(1)} s`;
  const message = (outcome.message ?? '').slice(0, messageCharactersMax);
  switch (outcome.status) {
    case 'caught':
      return `caught   ${name} seed ${outcome.seed}: ${message} (${tail})`;
    case 'SURVIVED':
      return `SURVIVED ${name} (${tail})`;
    case 'ERROR':
      return `ERROR    ${name} ${message} (${tail})`;
  }
}

/** An interrupt kills the simulators this runner started and removes their copies. */
function cleanUpAndExit(): void {
  for (const child of children) child.kill();
  for (const copy of copies) rmSync(copy, { recursive: true, force: true });
  process.exit(130);
}

process.on('SIGINT', cleanUpAndExit);
process.on('SIGTERM', cleanUpAndExit);

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Converted, not swallowed: a stale mutant or a bad flag is reported and fails the command.
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  },
);
