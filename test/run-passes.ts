// `npm test`: every check the project runs, each one even when an earlier one failed, then one
// line per check and a non-zero exit if any failed. (Chained with &&, a failing check would hide
// whether the ones after it pass.) The summary also names every failed test, with the first line
// of its error, so that the end of a long CI log says what broke.

import { spawnSync } from 'node:child_process';
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

const PASSES: readonly Pass[] = [
  { name: 'typecheck', command: npx('tsc', '-p', 'tsconfig.json', '--noEmit') },
  { name: 'lint', command: npx('eslint', '.') },
  { name: 'format', command: npx('prettier', '--check', '.') },
  { name: 'build', command: ['npm', 'run', 'build'] },
  { name: 'tests (newest peer releases)', command: npx('vitest', 'run'), vitest: true },
  {
    name: 'tests (oldest peer releases)',
    command: npx('vitest', 'run', '--config', 'vitest.lowest-peers.config.ts'),
    vitest: true,
  },
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

const results = PASSES.map((pass, index) => {
  const reportPath = join(reportDirectory, `pass-${index}.json`);
  const command = pass.vitest
    ? [...pass.command, '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`]
    : pass.command;
  process.stdout.write(`\n=== ${pass.name}: ${pass.command.join(' ')}\n`);
  const started = Date.now();
  const [program, ...args] = command as [string, ...string[]];
  const run = spawnSync(program, args, { stdio: 'inherit' });
  const seconds = Math.round((Date.now() - started) / 1000);
  const failed = run.status !== 0;
  const why = run.error ? run.error.message : `exit ${run.status ?? run.signal}`;
  const failures = failed && pass.vitest ? failuresIn(reportPath) : [];
  return {
    name: pass.name,
    failed,
    lines: [
      `${failed ? 'FAILED' : 'passed'}  ${seconds} s  ${pass.name}${failed ? ` (${why})` : ''}`,
      ...failures,
    ],
  };
});
rmSync(reportDirectory, { recursive: true, force: true });

process.stdout.write(`\n=== npm test\n${results.flatMap((result) => result.lines).join('\n')}\n`);
process.exitCode = results.some((result) => result.failed) ? 1 : 0;
