import { describe, expect, it } from 'vitest';
import {
  BusyError,
  ConstraintError,
  DqliteError,
  LeadershipLostError,
  NoLeaderError,
  NotLeaderError,
  codeName,
} from '../../../drivers/client/index.js';
import { errorFromFailure } from '../../../drivers/client/errors.js';

const origin = { address: '127.0.0.1:9001', request: 'EXEC_SQL' };

describe('errors from FAILURE responses', () => {
  it.each([
    [10250, NotLeaderError, 'SQLITE_IOERR_NOT_LEADER'],
    [8202, NotLeaderError, 'SQLITE_IOERR_NOT_LEADER'], // legacy code, still sent by old servers
    [10506, LeadershipLostError, 'SQLITE_IOERR_LEADERSHIP_LOST'],
    [8458, LeadershipLostError, 'SQLITE_IOERR_LEADERSHIP_LOST'],
    [5, BusyError, 'SQLITE_BUSY'],
    [517, BusyError, 'SQLITE_BUSY_SNAPSHOT'],
    [1555, ConstraintError, 'SQLITE_CONSTRAINT_PRIMARYKEY'],
    [2067, ConstraintError, 'SQLITE_CONSTRAINT_UNIQUE'],
    [1, DqliteError, 'SQLITE_ERROR'],
    [1005, DqliteError, 'DQLITE_PARSE'],
  ] as const)('maps %i to %s', (code, errorClass, name) => {
    const error = errorFromFailure(code, 'message from the node', origin);
    expect(error).toBeInstanceOf(errorClass);
    const primary = code === 1005 ? 1005 : code & 0xff;
    expect(error).toMatchObject({
      code: codeName(primary),
      extendedCode: name,
      errno: primary,
      rawCode: code,
      sqliteMessage: 'message from the node',
      ...origin,
    });
    expect(error.message).toBe(`${codeName(primary)}: message from the node`);
  });

  it('lets the checks written for node-sqlite3 and better-sqlite3 hold', () => {
    const error = errorFromFailure(2067, 'UNIQUE constraint failed: t.a', origin);
    // node-sqlite3: code, errno and message.
    expect(error.code).toBe('SQLITE_CONSTRAINT');
    expect(error.errno).toBe(19);
    expect(error.message).toBe('SQLITE_CONSTRAINT: UNIQUE constraint failed: t.a');
    // better-sqlite3: its `code` is our extendedCode; prefix and message tests hold on code.
    expect(error.extendedCode).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(error.code.startsWith('SQLITE_CONSTRAINT')).toBe(true);
    expect(error.message).toContain('UNIQUE constraint failed');
    // The number the node sent.
    expect(error.rawCode).toBe(2067);
  });

  it('names unknown codes by their primary code, or by number', () => {
    expect(codeName(19 | (99 << 8))).toBe('SQLITE_CONSTRAINT');
    expect(codeName(250)).toBe('CODE_250');
  });

  it('lists every node in NoLeaderError', () => {
    const error = new NoLeaderError(
      [
        { address: 'a:1', outcome: 'refused' },
        { address: 'b:2', outcome: 'knows no leader' },
      ],
      1234,
    );
    expect(error.message).toBe(
      'no leader found in 1234 ms; last answers:\n  a:1: refused\n  b:2: knows no leader',
    );
  });
});
