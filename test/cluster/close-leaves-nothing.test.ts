// An application that embeds a node and closes it must be able to exit at once, even when TCP
// health checks touched the node: their connections once kept a 10-second handshake timer alive
// after close(), so the process lingered (and `dqlite-ts node` took 10 s to stop on SIGTERM).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';

const execFileAsync = promisify(execFile);
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-close-'));

afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

describe('an embedded node after close()', () => {
  it('leaves nothing that keeps the process alive, after probes that never spoke', async () => {
    const [port] = await freePorts(1);
    const { stdout } = await execFileAsync(
      'node_modules/.bin/tsx',
      ['test/cluster/close-leaves-nothing.ts', directory, `127.0.0.1:${port}`],
      { timeout: 120_000 },
    );
    const resources = JSON.parse(stdout.trim().split('\n').pop() ?? '') as string[];
    // The process's own stdin, stdout and stderr are pipes to this test: not the node's.
    expect(resources.filter((kind) => kind !== 'PipeWrap')).toEqual([]);
  }, 130_000);
});
