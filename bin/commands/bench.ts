// `dqlite-ts bench`: runs the side-by-side benchmark (bench/compare/main.ts) in its own process,
// so the CLI does not import the benchmark's code (docs/architecture.md, "Layering") and a benchmark that
// crashes cannot take anything else down.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BENCH_USAGE = `dqlite-ts bench [--quick] [--json PATH] [options]
  Benchmarks a local 3-node dqlite-ts cluster against a 3-node C dqlite cluster (Debian's
  go-dqlite) side by side and prints Markdown tables; dqlite-ts bench --help lists the options.`;

/** The benchmark's entry point: compiled JavaScript directly, TypeScript through tsx. */
function benchCommand(): string[] {
  const self = import.meta.url;
  if (self.endsWith('.js')) return [fileURLToPath(new URL('../../bench/compare/main.js', self))];
  return [
    '--import',
    import.meta.resolve('tsx'),
    fileURLToPath(new URL('../../bench/compare/main.ts', self)),
  ];
}

export function runBench(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...benchCommand(), ...args], { stdio: 'inherit' });
    // Ctrl-C reaches the child through the terminal; the CLI waits for it to clean up.
    const ignore = (): void => undefined;
    process.on('SIGINT', ignore);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}
