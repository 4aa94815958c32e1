import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';

/** The failure a call ends with; fails the test when it succeeds. */
export async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ApplicationFailure);
  return outcome.error as ApplicationFailure;
}

/** Temporal's part, without its clock: attempts again after a retryable failure, stops at a non-retryable one. */
export async function withRetries<T>(attempt: () => Promise<T>, maxAttempts = 5): Promise<{ result: T; failures: ApplicationFailure[] }> {
  const failures: ApplicationFailure[] = [];
  for (;;) {
    try {
      return { result: await attempt(), failures };
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.nonRetryable || failures.length + 1 >= maxAttempts) throw err;
      failures.push(err);
    }
  }
}

/** Everything a failure could show a human or a log: message, stack, details, cause. */
export function everything(failure: ApplicationFailure): string {
  return `${failure.message} ${failure.stack ?? ''} ${JSON.stringify(failure.details ?? [])} ${String(failure.cause ?? '')}`;
}
