import { ApplicationFailure } from '@temporalio/activity';

/** Failure types the workflow's retry policy knows; messages never carry a token or secret. */
export const NON_RETRYABLE = 'NonRetryableVendorError';
export const RATE_LIMITED = 'VendorRateLimited';
export const UNAVAILABLE = 'VendorUnavailable';

/**
 * Hides secrets in a message: every occurrence of each becomes `mask`, longest secret first so no
 * part of a longer one survives. Empty secrets are ignored.
 */
export function redactor(secrets: ReadonlyArray<string | undefined>, mask = '<redacted>'): (text: string) => string {
  const hidden = [...new Set(secrets.filter((secret): secret is string => Boolean(secret)))].sort((a, b) => b.length - a.length);
  return (text) => hidden.reduce((out, secret) => out.split(secret).join(mask), text);
}

/** A refusal retrying cannot fix (bad request, bad credentials): fail the step now, with the vendor's words. */
export function nonRetryable(vendor: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({
    type: NON_RETRYABLE,
    nonRetryable: true,
    message: `${vendor}: ${message}`,
    details: details ? [details] : undefined,
  });
}

/** A 429: retry no sooner than the vendor asked (Retry-After), never before. */
export function rateLimited(vendor: string, retryAfterMs: number): ApplicationFailure {
  const delay = Math.max(1000, Math.ceil(retryAfterMs));
  return ApplicationFailure.create({
    type: RATE_LIMITED,
    message: `${vendor}: rate limited, retrying in ${Math.round(delay / 1000)} s`,
    nextRetryDelay: delay,
  });
}

/** A 5xx, timeout or network failure: retry with the workflow's backoff. */
export function unavailable(vendor: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: UNAVAILABLE, message: `${vendor}: ${message}` });
}

/** Seconds (or an HTTP date) from a Retry-After header, as milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
