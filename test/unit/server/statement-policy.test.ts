import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../../src/server/sql/statement-policy.js';

describe('the statements a leader refuses, whatever their spelling', () => {
  it.each([
    ["ATTACH 'other.db' AS other", /ATTACH is refused/],
    ["  -- comment\n attach database 'x' as y", /ATTACH is refused/],
    ["VACUUM INTO '/tmp/copy.db'", /VACUUM INTO is refused/],
    ["vacuum main into 'copy'", /VACUUM INTO is refused/],
    ['PRAGMA journal_mode = DELETE', /journal_mode = DELETE is refused/],
    ["PRAGMA main.journal_mode='memory'", /journal_mode = MEMORY is refused/],
    ['pragma /* x */ "journal_mode" (off)', /journal_mode = OFF is refused/],
    ['PRAGMA journal_mode=truncate;', /journal_mode = TRUNCATE is refused/],
    ['PRAGMA locking_mode = EXCLUSIVE', /locking_mode = EXCLUSIVE is refused/],
    ['PRAGMA wal_checkpoint', /wal_checkpoint is refused/],
    ['PRAGMA wal_checkpoint(TRUNCATE)', /wal_checkpoint is refused/],
    ['PRAGMA main.wal_checkpoint(RESTART)', /wal_checkpoint is refused/],
    ['PRAGMA wal_autocheckpoint = 1000', /wal_autocheckpoint = N is refused/],
  ])('refuses %j', (sql, reason) => {
    expect(refusalOf(sql)).toMatch(reason);
  });

  it.each([
    'SELECT 1',
    'VACUUM',
    'VACUUM main',
    'PRAGMA journal_mode',
    'PRAGMA journal_mode = WAL',
    "PRAGMA journal_mode = 'wal'",
    'PRAGMA temp.journal_mode = MEMORY',
    'PRAGMA locking_mode',
    'PRAGMA locking_mode = NORMAL',
    'PRAGMA wal_autocheckpoint',
    'PRAGMA journal_size_limit = 1048576',
    'PRAGMA writable_schema = ON',
    'PRAGMA temp_store = MEMORY',
    'PRAGMA foreign_keys = ON',
    "EXPLAIN ATTACH 'x' AS y",
    "INSERT INTO t (note) VALUES ('ATTACH this')",
    'CREATE TEMP TABLE scratch (x)',
  ])('lets %j run', (sql) => {
    expect(refusalOf(sql)).toBeUndefined();
  });
});
