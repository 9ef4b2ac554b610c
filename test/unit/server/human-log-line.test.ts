// The short line `dqlite-ts node` writes per log record when stderr is a terminal.
import { describe, expect, it } from 'vitest';
import { humanLine, parseLogLevel } from '../../../bin/commands/node-log.js';

describe('humanLine', () => {
  it('puts time, level, node and message first, then the other fields', () => {
    const json = JSON.stringify({
      level: 30,
      time: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
      pid: 1,
      hostname: 'h',
      node: '1f',
      address: '127.0.0.1:9001',
      role: 'leader',
      term: 3,
      msg: 'became leader',
    });
    expect(humanLine(json)).toBe('03:04:05.678 INFO  node 1f became leader role=leader term=3\n');
  });

  it("prints an error's stack on the lines after", () => {
    const json = JSON.stringify({
      level: 60,
      time: 0,
      node: '1f',
      msg: 'fatal',
      err: { stack: 'E\n  at x' },
    });
    expect(humanLine(json)).toBe('00:00:00.000 FATAL node 1f fatal\nE\n  at x\n');
  });

  it('keeps a line that is not JSON', () => {
    expect(humanLine('plain\n')).toBe('plain\n');
  });
});

describe('parseLogLevel', () => {
  it('takes pino level names, default info, and refuses others', () => {
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('silent')).toBe('silent');
    expect(() => parseLogLevel('verbose')).toThrow(/--log-level must be one of trace/);
  });
});
