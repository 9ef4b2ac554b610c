import { describe, expect, it } from 'vitest';
import {
  BusyError,
  ConnectionError,
  ConstraintError,
  DqliteError,
  LeadershipLostError,
  NotLeaderError,
} from '../../../drivers/client/index.js';
import {
  classifyFailure,
  isLeaderChange,
  isOutcomeUnknown,
  isReadOnlySql,
} from '../../../drivers/pool/failure.js';
import { returnsRowsFromWrite, writesRows } from '../../../drivers/pool/returning.js';

const origin = { address: '127.0.0.1:1', request: 'EXEC_SQL' };

describe('failure classification', () => {
  it.each([
    [new NotLeaderError(10250, 'not leader', origin), 'not-leader', true, false],
    [new LeadershipLostError(10506, 'disk I/O error', origin), 'leadership-lost', true, true],
    [
      new ConnectionError('closed', 'a:1', { requestSent: false }),
      'connection-unsent',
      true,
      false,
    ],
    [new ConnectionError('closed', 'a:1', { requestSent: true }), 'connection-sent', true, true],
    [new BusyError(5, 'database is locked', origin), 'busy', false, false],
    [new ConstraintError(1555, 'UNIQUE constraint failed', origin), 'final', false, false],
    [new DqliteError(1, 'syntax error', origin), 'final', false, false],
    [new TypeError('misuse'), 'final', false, false],
  ] as const)('%s is %s', (error, kind, leaderChange, outcomeUnknown) => {
    expect(classifyFailure(error)).toBe(kind);
    expect(isLeaderChange(kind)).toBe(leaderChange);
    expect(isOutcomeUnknown(kind)).toBe(outcomeUnknown);
  });
});

describe('read-only SQL detection', () => {
  it.each([
    'SELECT 1',
    '  select * from t where a = ?',
    '-- comment\nSELECT 1',
    '/* c */ SELECT 1;',
    'VALUES (1), (2)',
    'EXPLAIN QUERY PLAN SELECT 1',
    'WITH x AS (SELECT 1) SELECT * FROM x',
  ])('reads: %s', (sql) => {
    expect(isReadOnlySql(sql)).toBe(true);
  });

  it.each([
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'DELETE FROM t',
    'REPLACE INTO t VALUES (1)',
    'CREATE TABLE t (a)',
    'PRAGMA foreign_keys = ON',
    'BEGIN',
    'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x',
    'SELECT 1; DELETE FROM t',
    'INSERT INTO t VALUES (1) RETURNING *',
    '',
  ])('not certainly a read: %s', (sql) => {
    expect(isReadOnlySql(sql)).toBe(false);
  });
});

describe('writes that return rows', () => {
  it.each([
    ['INSERT INTO t VALUES (1) RETURNING *', true],
    ['  update t set a = 1 returning a', true],
    ['DELETE FROM t RETURNING id', true],
    ['REPLACE INTO t VALUES (1)', true],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x RETURNING *', true],
    ['SELECT 1', false],
    ['WITH x AS (SELECT 1) SELECT * FROM x', false],
    ['PRAGMA table_info(t)', false],
  ])('%s: %s', (sql, expected) => {
    expect(writesRows(sql)).toBe(expected);
  });
});

describe('writes with a RETURNING clause', () => {
  it.each([
    ['INSERT INTO t VALUES (1) RETURNING id', true],
    ['update t set a = 1 returning *', true],
    ["INSERT INTO t (note) VALUES ('returning soon')", false],
    ['INSERT INTO t ("returning") VALUES (1)', false],
    ['SELECT 1 AS returning', false],
    ["-- not a RETURNING clause\nINSERT INTO t VALUES ('returning')", false],
    ['INSERT INTO t VALUES (1) /* RETURNING */', false],
  ])('%s: %s', (sql, expected) => {
    expect(returnsRowsFromWrite(sql)).toBe(expected);
  });
});
