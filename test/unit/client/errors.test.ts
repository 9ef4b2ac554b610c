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
    expect(error).toMatchObject({
      extendedCode: code,
      code: code & 0xff,
      codeName: name,
      ...origin,
    });
    expect(error.message).toBe(
      `${name} (${code}): message from the node [EXEC_SQL on 127.0.0.1:9001]`,
    );
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
