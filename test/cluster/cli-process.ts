// The CLI as a user runs it, for tests: one-shot commands, and `dqlite-ts node` in its own process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { cliCommand } from '../../bin/local-cluster.js';

const execFileAsync = promisify(execFile);

/** Runs `dqlite-ts ...args` to the end; rejects (with code and stderr) when it fails. */
export const cli = (...args: string[]) =>
  execFileAsync(process.execPath, [...cliCommand(), ...args], { timeout: 90_000 });

/**
 * Starts `dqlite-ts node ...args` and resolves once it says it serves. One process, no tsx
 * wrapper, so the caller's `kill` reaches the node itself; the caller kills it.
 */
export async function startCliNode(args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...cliCommand(), 'node', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // Its id in hexadecimal, as every other command prints ids.
        if (/dqlite-ts node [0-9a-f]+ serving at/.test(output)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`node exited with ${code}: ${output}`)));
    });
    return child;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
