import { expect } from 'vitest';
import { RaftTransportError } from '../../../src/transport/index.js';
import type { RaftTransportErrorReason } from '../../../src/transport/index.js';

/** Asserts that `action` throws a RaftTransportError with `reason`, the part callers act on. */
export function expectRaftTransportError(
  action: () => unknown,
  reason: RaftTransportErrorReason,
): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(RaftTransportError);
  expect((caught as RaftTransportError).reason).toBe(reason);
}
