import { describe, expect, it } from 'vitest';
import { transactionControl } from '../../../src/sql/index.js';

describe('transaction control statements', () => {
  it.each([
    ['BEGIN', { kind: 'begin', behavior: 'deferred' }],
    ['begin immediate transaction;', { kind: 'begin', behavior: 'immediate' }],
    ['  -- c\n BEGIN EXCLUSIVE', { kind: 'begin', behavior: 'exclusive' }],
    ['BEGIN DEFERRED TRANSACTION', { kind: 'begin', behavior: 'deferred' }],
    ['COMMIT', { kind: 'commit' }],
    ['END TRANSACTION', { kind: 'commit' }],
    ['ROLLBACK', { kind: 'rollback' }],
    ['rollback transaction', { kind: 'rollback' }],
    ['ROLLBACK TO sp1', { kind: 'rollback-to', name: 'sp1' }],
    ['ROLLBACK TRANSACTION TO SAVEPOINT "Sp1"', { kind: 'rollback-to', name: 'sp1' }],
    ['SAVEPOINT trx2', { kind: 'savepoint', name: 'trx2' }],
    ['savepoint `x`', { kind: 'savepoint', name: 'x' }],
    ['RELEASE trx2', { kind: 'release', name: 'trx2' }],
    ['RELEASE SAVEPOINT "trx2"', { kind: 'release', name: 'trx2' }],
    ['SELECT 1', { kind: 'none' }],
    ['INSERT INTO begin_log VALUES (1)', { kind: 'none' }],
    ['', { kind: 'none' }],
  ])('%j', (sql, expected) => {
    expect(transactionControl(sql)).toEqual(expected);
  });
});
