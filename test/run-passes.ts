// `npm test`: every check the project runs, each one even when an earlier one failed, then one
// line per check and a non-zero exit if any failed. (Chained with &&, a failing check would hide
// whether the ones after it pass.) The summary also names every failed test, with the first line
// of its error, so that the end of a long CI log says what broke.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

interface Pass {
  readonly name: string;
  readonly command: readonly string[];
  /** Vitest passes also write a JSON report, read back for the failure list. */
  readonly vitest?: boolean;
}

const npx = (...args: string[]): readonly string[] => ['npx', ...args];

/** Tests that start no process and bind no fixed port: their files may run two at a time. */
const IN_PROCESS_TESTS = ['test/unit', 'test/sim'];
/**
 * Tests against real peers (C dqlite, the Go shell, the ORMs on either cluster). Their files
 * mostly wait, on processes, elections and deadlines: one at a time they kept the machine about
 * 30% busy (239 s, 130 s of CPU), two at a time they take 139 s. Each starts its own clusters on
 * free ports, so two never share one.
 */
const INTEROP_TESTS = ['test/interop'];
/** Both at once: files of each pass run two at a time. */
const TWO_FILES_AT_ONCE = ['--fileParallelism', '--maxWorkers=2'];

/**
 * Stages run one after another; the passes of a stage run at once (their output is printed as
 * each ends). The static checks are independent of one another; the tests need the build (the
 * package's exports are tested against dist/). The cluster and fault tests run one file at a
 * time, alone (vitest.config.ts): they load their clusters for fixed times, and one checks that
 * a 10-second query costs no election.
 */
const STAGES: readonly (readonly Pass[])[] = [
  [
    { name: 'typecheck', command: npx('tsc', '-p', 'tsconfig.json', '--noEmit') },
    { name: 'lint', command: npx('eslint', '.') },
    { name: 'format', command: npx('prettier', '--check', '.') },
    { name: 'build', command: ['npm', 'run', 'build'] },
  ],
  [
    {
      name: 'unit and simulation tests',
      command: npx('vitest', 'run', ...IN_PROCESS_TESTS, ...TWO_FILES_AT_ONCE),
      vitest: true,
    },
  ],
  [
    {
      name: 'interop tests (newest peer releases)',
      command: npx('vitest', 'run', ...INTEROP_TESTS, ...TWO_FILES_AT_ONCE),
      vitest: true,
    },
  ],
  [
    {
      name: 'cluster and fault tests',
      command: npx(
        'vitest',
        'run',
        ...[...IN_PROCESS_TESTS, ...INTEROP_TESTS].map((dir) => `--exclude=${dir}/**`),
      ),
      vitest: true,
    },
  ],
  [
    {
      name: 'interop tests (oldest peer releases)',
      command: npx(
        'vitest',
        'run',
        '--config',
        'vitest.lowest-peers.config.ts',
        ...TWO_FILES_AT_ONCE,
      ),
      vitest: true,
    },
  ],
];

/** The parts of Vitest's JSON report the summary reads. */
interface JsonReport {
  readonly testResults?: readonly {
    readonly name: string;
    readonly status: string;
    readonly message?: string;
    readonly assertionResults?: readonly {
      readonly fullName: string;
      readonly status: string;
      readonly failureMessages?: readonly string[];
    }[];
  }[];
}

const firstLine = (text: string | undefined): string =>
  (text ?? '').split('\n').find((line) => line.trim() !== '') ?? '(no message)';

function failuresIn(reportPath: string): string[] {
  let report: JsonReport;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as JsonReport;
  } catch {
    return ['  (no test report was written)'];
  }
  const lines: string[] = [];
  for (const file of report.testResults ?? []) {
    const where = relative(process.cwd(), file.name);
    const failedTests = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failedTests) {
      lines.push(`  ${where} > ${test.fullName}\n      ${firstLine(test.failureMessages?.[0])}`);
    }
    if (failedTests.length === 0 && file.status === 'failed') {
      lines.push(`  ${where}\n      ${firstLine(file.message)}`);
    }
  }
  return lines;
}

const reportDirectory = mkdtempSync(join(tmpdir(), 'dqlite-ts-test-report-'));

interface PassResult {
  readonly failed: boolean;
  readonly lines: readonly string[];
}

let passNumber = 0;

/** Runs one pass; alone in its stage it prints as it goes, beside others once it ends. */
function runPass(pass: Pass, alone: boolean): Promise<PassResult> {
  const reportPath = join(reportDirectory, `pass-${passNumber++}.json`);
  const command = pass.vitest
    ? [...pass.command, '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`]
    : pass.command;
  const heading = `\n=== ${pass.name}: ${pass.command.join(' ')}\n`;
  if (alone) process.stdout.write(heading);
  const started = Date.now();
  const [program, ...args] = command as [string, ...string[]];
  const child = spawn(program, args, {
    stdio: alone ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...environment },
  });
  const output: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
  return new Promise((resolve) => {
    let finished = false;
    const finish = (status: number | null, why: string) => {
      if (finished) return; // 'error' may come before 'close'
      finished = true;
      if (!alone) process.stdout.write(heading + Buffer.concat(output).toString());
      const seconds = Math.round((Date.now() - started) / 1000);
      const failed = status !== 0;
      const failures = failed && pass.vitest ? failuresIn(reportPath) : [];
      resolve({
        failed,
        lines: [
          `${failed ? 'FAILED' : 'passed'}  ${seconds} s  ${pass.name}${failed ? ` (${why})` : ''}`,
          ...failures,
        ],
      });
    };
    child.once('error', (error) => finish(null, error.message));
    child.once('close', (status, signal) => finish(status, `exit ${status ?? signal}`));
  });
}

/**
 * What the passes after the build see: once it succeeded, the tests' nodes and CLI commands run
 * the compiled CLI (bin/local-cluster.ts, cliCommand), which is what the package ships.
 */
const environment: Record<string, string> = {};

const started = Date.now();
const results: PassResult[] = [];
for (const stage of STAGES) {
  const stageResults = await Promise.all(stage.map((pass) => runPass(pass, stage.length === 1)));
  results.push(...stageResults);
  const build = stage.findIndex((pass) => pass.name === 'build');
  if (build >= 0 && stageResults[build]?.failed === false) {
    environment.DQLITE_TS_CLI = join('dist', 'bin', 'dqlite-ts.js');
  }
}
rmSync(reportDirectory, { recursive: true, force: true });

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
process.stdout.write(
  `\n=== npm test (${minutes} min)\n${results.flatMap((result) => result.lines).join('\n')}\n`,
);
process.exitCode = results.some((result) => result.failed) ? 1 : 0;
