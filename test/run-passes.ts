// `npm test`: every check the project runs, each one even when an earlier one failed, then one
// line per check and a non-zero exit if any failed. (Chained with &&, a failing check would hide
// whether the ones after it pass.)

import { spawnSync } from 'node:child_process';

interface Pass {
  readonly name: string;
  readonly command: readonly string[];
}

const npx = (...args: string[]): readonly string[] => ['npx', ...args];

const PASSES: readonly Pass[] = [
  { name: 'typecheck', command: npx('tsc', '-p', 'tsconfig.json', '--noEmit') },
  { name: 'lint', command: npx('eslint', '.') },
  { name: 'format', command: npx('prettier', '--check', '.') },
  { name: 'build', command: ['npm', 'run', 'build'] },
  { name: 'tests (newest peer releases)', command: npx('vitest', 'run') },
  {
    name: 'tests (oldest peer releases)',
    command: npx('vitest', 'run', '--config', 'vitest.lowest-peers.config.ts'),
  },
];

const results = PASSES.map((pass) => {
  process.stdout.write(`\n=== ${pass.name}: ${pass.command.join(' ')}\n`);
  const started = Date.now();
  const [program, ...args] = pass.command as [string, ...string[]];
  const run = spawnSync(program, args, { stdio: 'inherit' });
  const seconds = Math.round((Date.now() - started) / 1000);
  const failed = run.status !== 0;
  const why = run.error ? run.error.message : `exit ${run.status ?? run.signal}`;
  return {
    name: pass.name,
    failed,
    line: `${failed ? 'FAILED' : 'passed'}  ${seconds} s  ${pass.name}${failed ? ` (${why})` : ''}`,
  };
});

process.stdout.write(`\n=== npm test\n${results.map((result) => result.line).join('\n')}\n`);
process.exitCode = results.some((result) => result.failed) ? 1 : 0;
