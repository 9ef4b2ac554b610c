import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyStatement } from '../../../src/sql/index.js';
import type { StatementShape } from '../../../src/sql/index.js';

// The one classifier the pool and the three adapters use to pick QUERY or EXEC, to decide
// whether a statement may run again after an unknown outcome, and to follow transactions.

describe('statement shape: which request runs it', () => {
  it.each<[string, StatementShape]>([
    ['select * from t', 'read'],
    ['  -- c\n/* d */ SELECT 1', 'read'],
    ['VALUES (1), (2)', 'read'],
    ['PRAGMA foreign_keys', 'read'],
    ['PRAGMA table_info("t")', 'read'],
    ['/* c */ WITH x AS (SELECT 1) SELECT * FROM x', 'read'],
    ['WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c', 'read'],
    ['WITH replace AS (SELECT 1) SELECT * FROM replace', 'read'],
    ['WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x', 'read'],
    ['explain query plan insert into t values (1) returning id', 'read'],
    ['EXPLAIN DELETE FROM t', 'read'],
    ['insert into t (a) values (?) returning `id`', 'write-returning'],
    ['delete from t where id = ? returning id', 'write-returning'],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x RETURNING *', 'write-returning'],
    ['INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET a = 2 RETURNING a', 'write-returning'],
    ['insert into t (a) values (?)', 'write'],
    ["insert into t (a) values ('returning')", 'write'],
    ['INSERT INTO t ("returning") VALUES (1)', 'write'],
    ['INSERT INTO t VALUES (1) /* RETURNING */', 'write'],
    ["-- RETURNING\nUPDATE t SET a = 'x'", 'write'],
    ['WITH x AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM x)', 'write'],
    ['PRAGMA foreign_keys = OFF', 'write'],
    ['create table t (a integer)', 'write'],
    ['ALTER TABLE t ADD COLUMN b TEXT NOT NULL', 'write'],
    ['BEGIN IMMEDIATE', 'write'],
    ['SAVEPOINT "a"', 'write'],
    ['', 'write'],
  ])('%j is %s', (sql, shape) => {
    expect(classifyStatement(sql).shape).toBe(shape);
  });
});

describe('read-only SQL: harmless to run again after an unknown outcome', () => {
  it.each([
    'SELECT 1',
    '  select * from t where a = ?',
    '-- comment\nSELECT 1',
    '/* c */ SELECT 1;',
    'VALUES (1), (2)',
    'EXPLAIN QUERY PLAN SELECT 1',
    'EXPLAIN INSERT INTO t VALUES (1)',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    "SELECT 'DELETE FROM t'",
  ])('reads: %s', (sql) => {
    expect(classifyStatement(sql).readOnly).toBe(true);
  });

  it.each([
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'DELETE FROM t',
    'REPLACE INTO t VALUES (1)',
    'CREATE TABLE t (a)',
    'PRAGMA foreign_keys = ON',
    'PRAGMA optimize',
    'BEGIN',
    'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x',
    'SELECT 1; DELETE FROM t',
    'INSERT INTO t VALUES (1) RETURNING *',
    '',
  ])('not certainly a read: %s', (sql) => {
    expect(classifyStatement(sql).readOnly).toBe(false);
  });
});

describe('statements that change rows', () => {
  it.each([
    ['INSERT INTO t VALUES (1) RETURNING *', true],
    ['  update t set a = 1 returning a', true],
    ['DELETE FROM t RETURNING id', true],
    ['REPLACE INTO t VALUES (1)', true],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x RETURNING *', true],
    ['SELECT 1', false],
    ['WITH x AS (SELECT 1) SELECT * FROM x', false],
    ['PRAGMA table_info(t)', false],
    ['CREATE TABLE t (a)', false],
  ])('%s: %s', (sql, expected) => {
    expect(classifyStatement(sql).changesRows).toBe(expected);
  });
});

describe('properties', () => {
  const identifier = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
  const literal = fc.string({ maxLength: 12 }).map((text) => `'${text.replaceAll("'", "''")}'`);

  it('a string literal or a comment never changes the shape', () => {
    fc.assert(
      fc.property(
        identifier,
        literal,
        fc.constantFrom('read', 'write', 'write-returning'),
        (name, value, shape) => {
          const base = {
            read: `SELECT ${value} FROM ${name}`,
            write: `INSERT INTO ${name} VALUES (${value})`,
            'write-returning': `INSERT INTO ${name} VALUES (${value}) RETURNING rowid`,
          }[shape as StatementShape];
          const commented = `/* ${value.replaceAll('*/', '')} */ -- ${value.replaceAll('\n', ' ')}\n${base}`;
          expect(classifyStatement(base).shape).toBe(shape);
          expect(classifyStatement(commented).shape).toBe(shape);
          expect(classifyStatement(base.toLowerCase()).shape).toBe(shape);
        },
      ),
    );
  });

  it('gives the same answer from the cache as the first time', () => {
    for (let i = 0; i < 2000; i++) classifyStatement(`SELECT ${i}`); // overflow the cache
    expect(classifyStatement('UPDATE t SET a = 1 RETURNING a')).toEqual(
      classifyStatement('UPDATE t SET a = 1 RETURNING a'),
    );
    expect(classifyStatement('SELECT 7').shape).toBe('read');
  });
});
