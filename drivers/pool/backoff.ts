/** Pause before a pool retry: from the first up to the largest, doubling, with jitter. */
export const RETRY_DELAY_FIRST_MS = 10;
export const RETRY_DELAY_MAX_MS = 500;

/** Pause before retry `attempt` (1-based): doubling from `firstMs` up to `maxMs`, with jitter. */
export function backoffDelayMs(attempt: number, firstMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt - 1, 20));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
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
