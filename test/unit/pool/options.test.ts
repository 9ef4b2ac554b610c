import { describe, expect, it } from 'vitest';
import { pragmaStatements, resolvePoolOptions } from '../../../drivers/pool/options.js';
import type { PoolOptions } from '../../../drivers/pool/options.js';
import { createPool } from '../../../drivers/pool/index.js';

const base = { cluster: ['127.0.0.1:9001'], database: 'app' };

describe('pool options', () => {
  it('fills in defaults, copies and freezes', () => {
    const resolved = resolvePoolOptions({ ...base, pragmas: { foreign_keys: true } });
    expect(resolved).toMatchObject({
      max: 16,
      timeoutMs: 30_000,
      busyTimeoutMs: 5000,
      transactionRetriesMax: 8,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.pragmas)).toBe(true);
  });

  it.each<[string, Partial<PoolOptions> & Record<string, unknown>, RegExp]>([
    ['a misspelled option', { maxConnections: 3 }, /unknown option "maxConnections"/],
    ['a zero max', { max: 0 }, /max must be a positive integer/],
    ['a huge max', { max: 5000 }, /max must be at most 1024/],
    ['negative retries', { transactionRetriesMax: -1 }, /transactionRetriesMax/],
    ['a fractional timeout', { timeoutMs: 1.5 }, /timeoutMs/],
    ['an injected pragma name', { pragmas: { 'a; DROP TABLE t': 1 } }, /bad pragma name/],
    [
      'an injected pragma value',
      { pragmas: { journal_mode: "wal'; DROP" } },
      /bad value for pragma/,
    ],
  ])('rejects %s', (_what, extra, message) => {
    expect(() => resolvePoolOptions({ ...base, ...extra } as PoolOptions)).toThrow(message);
  });

  it('checks the client options when the pool is created, not on first use', () => {
    expect(() => createPool({ cluster: ['no-port'], database: 'app' })).toThrow(/not "host:port"/);
    expect(() => createPool({ cluster: base.cluster, database: '' })).toThrow(/database/);
  });

  it('renders PRAGMA statements', () => {
    expect(
      pragmaStatements({
        foreign_keys: true,
        synchronous: 'NORMAL',
        cache_size: -2000,
        recursive_triggers: false,
      }),
    ).toEqual([
      'PRAGMA foreign_keys = ON',
      'PRAGMA synchronous = NORMAL',
      'PRAGMA cache_size = -2000',
      'PRAGMA recursive_triggers = OFF',
    ]);
  });
});
