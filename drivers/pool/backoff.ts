// How the pool paces its retries: the shared jittered backoff (src/retry/), and the deadline
// every call must finish by.
import { backoffJitteredMs, type Backoff } from '../../src/retry/backoff.js';

/** Pauses before a pool retry: from 10 ms, doubling up to 500 ms, with jitter. */
const RETRY_BACKOFF: Backoff = Object.freeze({ firstMs: 10, maxMs: 500 });

/** The pause before retry `attempt` (1-based), cut short where `deadline` passes. */
export function retryDelayMs(attempt: number, deadline: Deadline): number {
  return Math.min(backoffJitteredMs(RETRY_BACKOFF, attempt, Math.random), deadline.remainingMs);
}

/** A point in time a call must finish by. */
export class Deadline {
  readonly timeoutMs: number;
  readonly #endsAt: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.#endsAt = Date.now() + timeoutMs;
  }

  get remainingMs(): number {
    return Math.max(0, this.#endsAt - Date.now());
  }

  get passed(): boolean {
    return this.remainingMs === 0;
  }
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
