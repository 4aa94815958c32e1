import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { IncidentEvent } from '../shared/incident.js';

/** A webhook as it arrived: raw bytes first, so signatures are checked before any parsing. */
export interface InboundRequest {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
}

/** A refusal names what is wrong; `challenge` is the `WWW-Authenticate` value a 401 carries. */
export type Verdict = { ok: true } | { ok: false; status: 400 | 401; error: string; challenge?: string };

export type Normalised = { event: IncidentEvent } | { ignored: string } | { invalid: { field: string; message: string } };

/** The values of a source's variables, as the config schema parsed them. */
export type VariableValues<Variables extends z.core.$ZodShape> = z.output<z.ZodObject<Variables>>;

/**
 * One alerting tool, or the generic API. Adding a tool = one file that exports one of these
 * (through `defineSource`) + one line in the registry (./index.ts): nothing else lists sources.
 */
export interface Source<Name extends string = string, Variables extends z.core.$ZodShape = z.core.$ZodShape, Settings = unknown> {
  /** Key prefix (`<name>-<externalId>`) and IncidentSource search attribute: lowercase letters only. */
  name: Name;
  /** How people read it: Slack messages, PagerDuty change events, "Dana via PagerDuty". */
  label: string;
  /** Where its webhook is mounted, e.g. `/webhooks/pagerduty`. */
  path: string;
  /** Accepted media types (without parameters); anything else is a 415. */
  contentTypes: readonly string[];
  /** The environment variables it reads, as zod fields of the one config schema; secrets wrapped in `secret()`. */
  variables: Variables;
  /** Its settings (`config.sources.<name>`), from its parsed variables. */
  settings(values: VariableValues<Variables>): Settings;
  /** Rules across its variables; `problem` names the variable as start-up reports it. */
  check?(values: VariableValues<Variables>, problem: (variable: string, message: string) => void): void;
  /** Checks credentials sent in headers (bearer tokens) before the body is read. */
  authenticate?(headers: InboundRequest['headers'], settings: Settings): Verdict;
  /** Checks what needs the raw body (signatures) before it is parsed. */
  verify?(req: InboundRequest, settings: Settings): Verdict;
  /** The body as an IncidentEvent, `ignored` with why, or `invalid` naming the field. */
  normalise(req: InboundRequest): Normalised;
  /**
   * What its webhook still accepts unchecked although some of its secrets are set (`warroom
   * doctor` warns of it); undefined when nothing is. With none set, all of it is open.
   */
  unchecked?(settings: Settings): string | undefined;
}

/** Declares a source; the name stays a literal type, so `config.sources.<name>` is typed. */
export function defineSource<const Name extends string, Variables extends z.core.$ZodShape, Settings>(
  source: Source<Name, Variables, Settings>,
): Source<Name, Variables, Settings> {
  return source;
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

/** HMAC of `data` under `key`, as bytes. */
export function hmac(algorithm: 'sha1' | 'sha256', key: string, data: string | Buffer): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

/** One header as a string (repeated headers joined with commas), by any-case name. */
export function header(req: Pick<InboundRequest, 'headers'>, name: string): string | undefined {
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

/**
 * Checks `Authorization: Bearer <token>` against the configured token (constant-time); no token
 * configured accepts. A refusal carries the `Bearer` challenge.
 */
export function verifyBearer(headers: InboundRequest['headers'], token: string | undefined): Verdict {
  if (!token) return { ok: true };
  const offered = header({ headers }, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!offered) return { ok: false, status: 401, error: 'missing bearer token', challenge: 'Bearer' };
  if (!safeEqual(offered, token)) return { ok: false, status: 401, error: 'bearer token does not match', challenge: 'Bearer' };
  return { ok: true };
}

/** Names the first failing field of a zod error as `a.b.0.c`. */
export function firstIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): {
  field: string;
  message: string;
} {
  const issue = issues[0];
  return { field: issue?.path.map(String).join('.') || 'body', message: issue?.message ?? 'invalid' };
}
