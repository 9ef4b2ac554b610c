import { describe, expect, it } from 'vitest';
import { resolveClientOptions } from '../../../drivers/client/options.js';
import type { ClientOptions } from '../../../drivers/client/options.js';

const base = { cluster: ['127.0.0.1:9001'], database: 'app' } as const;

describe('client options', () => {
  it('fills in defaults, copies and freezes', () => {
    const cluster = ['127.0.0.1:9001', '[::1]:9002'];
    const resolved = resolveClientOptions({ cluster, database: 'app' });
    expect(resolved).toMatchObject({
      connectTimeoutMs: 5000,
      leaderTimeoutMs: 10_000,
      integers: 'auto',
    });
    cluster.push('127.0.0.1:9003');
    expect(resolved.cluster).toHaveLength(2);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.cluster)).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['a misspelled option', { ...base, leaderTimeout: 5 }, /unknown option "leaderTimeout"/],
    ['an empty cluster', { ...base, cluster: [] }, /cluster must be a non-empty array/],
    [
      'an address without port',
      { ...base, cluster: ['localhost'] },
      /"localhost" is not "host:port"/,
    ],
    ['a port out of range', { ...base, cluster: ['127.0.0.1:70000'] }, /not "host:port"/],
    ['no database', { cluster: base.cluster }, /database must be a non-empty string/],
    [
      'a zero timeout',
      { ...base, requestTimeoutMs: 0 },
      /requestTimeoutMs must be a positive integer/,
    ],
    ['a fractional cap', { ...base, messageBytesMax: 1.5 }, /messageBytesMax/],
    [
      'an unknown integer mode',
      { ...base, integers: 'number' },
      /integers must be 'auto' or 'bigint'/,
    ],
  ])('rejects %s', (_what, options, message) => {
    expect(() => resolveClientOptions(options as ClientOptions)).toThrow(message);
  });
});
