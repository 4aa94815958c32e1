import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncidentEvent, SourceName } from '../shared/incident.js';
import type { Config } from '../config.js';

/** A webhook as it arrived: raw bytes first, so signatures are checked before any parsing. */
export interface InboundRequest {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
}

export type Verdict = { ok: true } | { ok: false; status: 400 | 401; error: string };

export type Normalised =
  | { event: IncidentEvent }
  | { ignored: string }
  | { invalid: { field: string; message: string } };

/** One alerting tool. Adding a tool = one file implementing this + one line in the registry. */
export interface Source {
  name: SourceName;
  /** Mounted at `/webhooks/<name>`. */
  path: string;
  /** Accepted media types (without parameters). */
  contentTypes: readonly string[];
  verify(req: InboundRequest, auth: Config['auth']): Verdict;
  normalise(req: InboundRequest): Normalised;
}

/** Constant-time comparison of two strings of possibly different lengths. */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const right = Buffer.isBuffer(b) ? b : Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export function hmac(algorithm: 'sha1' | 'sha256', key: string, data: string | Buffer): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

export function header(req: InboundRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Parses a JSON body; an error names the position so the sender can find it. */
export function parseJson(body: Buffer): { value: unknown } | { invalid: { field: string; message: string } } {
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch (err) {
    return { invalid: { field: 'body', message: `malformed JSON: ${(err as Error).message}` } };
  }
}

/** Names the first failing field of a zod error as `a.b.0.c`. */
export function firstIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): {
  field: string;
  message: string;
} {
  const issue = issues[0];
  return { field: issue?.path.map(String).join('.') || 'body', message: issue?.message ?? 'invalid' };
}
