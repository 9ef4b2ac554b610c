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
} from '../../../drivers/pool/failure.js';

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
