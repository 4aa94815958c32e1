import { setTimeout as sleep } from 'node:timers/promises';

/** How long `eventually` waits, and how often it asks. */
export interface EventuallyOptions {
  /** Give up this long after the first check (default 20 s). */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
}

/**
 * Asks `check` until it answers a value (anything but undefined or false) and answers that value.
 * A check that throws has not passed yet; past the deadline this fails naming `what` was awaited,
 * and the error if the last check threw one. The one poll helper of tests, benchmarks, chaos and demo.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let thrown: unknown;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      thrown = err;
    }
    if (Date.now() > deadline) {
      const why = thrown === undefined ? '' : `; the last check threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`;
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${why}`);
    }
    await sleep(intervalMs);
  }
}
