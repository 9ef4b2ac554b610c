import { expect } from 'vitest';
import { ProtocolError } from '../../../src/wire/index.js';
import type { ProtocolErrorReason } from '../../../src/wire/index.js';

/**
 * Asserts that `action` throws a ProtocolError with `reason`. Callers act on the reason (a
 * server answers FAILURE and closes), so the class alone is not enough.
 */
export function expectProtocolError(action: () => unknown, reason: ProtocolErrorReason): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).reason).toBe(reason);
}
