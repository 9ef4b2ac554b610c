// Bounded polling shared by the interop harness and its tests: every wait on a real cluster
// must end, both after a number of attempts and after a deadline, so a stuck peer fails a test
// instead of hanging the run.

export interface PollOptions {
  /** Give up after this many milliseconds in total. */
  readonly timeoutMs: number;
  /** Pause between attempts. */
  readonly intervalMs: number;
  /** Says what was awaited, for the timeout error. */
  readonly description: string;
}

const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Calls `probe` until it returns a value other than undefined and resolves with that value.
 * The probe gets the time left so it can bound its own work (e.g. a shell call) by the deadline.
 * A probe that throws counts as "not yet"; the last error (or the last note the probe left via
 * `lastState`) ends up in the timeout error so a failure says what was seen.
 */
export async function pollUntil<T>(
  probe: (remainingMs: number) => Promise<T | undefined>,
  options: PollOptions,
  lastState: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  // The count bound backs up the deadline in case the clock jumps or probes return instantly.
  const maxAttempts = Math.ceil(options.timeoutMs / Math.max(1, options.intervalMs)) + 1;
  let lastError = '';
  for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt += 1) {
    try {
      const value = await probe(Math.max(1, deadline - Date.now()));
      if (value !== undefined) return value;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, deadline - Date.now())));
  }
  const seen = [lastError, lastState()].filter((text) => text !== '').join('\n');
  throw new Error(
    `timed out after ${options.timeoutMs} ms waiting for ${options.description}` +
      (seen === '' ? '' : `; last seen:\n${seen}`),
  );
}

/**
 * Polls `condition` until it holds. `timeoutMs` bounds a broken cluster; it is no expectation of
 * speed.
 */
export function waitUntil(
  condition: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 20_000,
): Promise<true> {
  return pollUntil(async () => ((await condition()) ? true : undefined), {
    timeoutMs,
    intervalMs: 20,
    description,
  });
}
