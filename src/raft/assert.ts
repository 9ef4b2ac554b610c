/**
 * A broken invariant inside Raft, storage or the state machine. It is a bug, never an operational
 * failure: the process must stop rather than risk acknowledging a write it will lose
 * (docs/contributing.md, "Assertions and limits").
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Checks one condition; `message` says which invariant broke, with the values involved. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (condition) return;
  throw new AssertionError(typeof message === 'string' ? message : message());
}
