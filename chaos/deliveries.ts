/**
 * Webhook deliveries as an alerting tool sends them: signed PagerDuty v3 bodies and generic API
 * calls, each POSTed on a fresh connection (no keep-alive, so a restart shows as a refused
 * connection rather than a reused socket's reset), with every attempt's result recorded. A
 * retrying sender behaves as PagerDuty does: it retries 5xx, refused, reset and timed-out
 * deliveries with a growing backoff, and stops at the first 2xx or 4xx.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { incidentKey } from '../src/shared/ids.js';
import { fixture } from '../test/samples.js';
import { signPagerDuty } from '../test/signing.js';
import { API_TOKEN, PAGERDUTY_WEBHOOK_SECRET } from './stack.js';

/** How one attempt ended. */
export type AttemptKind = '2xx' | '4xx' | '5xx' | 'refused' | 'reset' | 'timeout' | 'error';

export interface Attempt {
  kind: AttemptKind;
  status?: number;
  /** `outcome` of a 202 body, or the error text. */
  detail?: string;
  sentAt: number;
  answeredAt: number;
  /** Where it was sent. */
  baseUrl: string;
}

/** One webhook: where it goes and what it carries. */
export interface Delivery {
  /** Incident key the delivery is about. */
  key: string;
  /** What the timeline must show once it landed: an entry `what`, and for notes its `detail`. */
  expect: { what: string; detail?: string };
  path: string;
  body: string;
  headers: Record<string, string>;
}

const REQUEST_TIMEOUT_MS = 15_000;

const sample = (name: string) => fixture(name).toString('utf8');
const PD_TRIGGERED = sample('pagerduty-v3-incident-triggered.json');
const PD_ACKNOWLEDGED = sample('pagerduty-v3-incident-acknowledged.json');
const PD_RESOLVED = sample('pagerduty-v3-incident-resolved.json');
const PD_ANNOTATED = sample('pagerduty-v3-incident-annotated.json');

function signedPagerDuty(body: object, key: string, expect: Delivery['expect']): Delivery {
  const text = JSON.stringify(body);
  return {
    key,
    expect,
    path: '/webhooks/pagerduty',
    body: text,
    headers: { 'content-type': 'application/json', ...signPagerDuty(text, PAGERDUTY_WEBHOOK_SECRET) },
  };
}

/** A PagerDuty v3 incident event (triggered, acknowledged, resolved) for `incidentId`, with its own event id. */
export function pagerDutyEvent(kind: 'trigger' | 'acknowledge' | 'resolve', incidentId: string, title?: string): Delivery {
  const source = kind === 'trigger' ? PD_TRIGGERED : kind === 'acknowledge' ? PD_ACKNOWLEDGED : PD_RESOLVED;
  const body = JSON.parse(source) as { event: { id: string; data: Record<string, unknown> } };
  body.event.id = `EV${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`;
  body.event.data.id = incidentId;
  body.event.data.self = `https://api.pagerduty.com/incidents/${incidentId}`;
  body.event.data.html_url = `https://example-co.pagerduty.com/incidents/${incidentId}`;
  if (title) body.event.data.title = title;
  return signedPagerDuty(body, incidentKey('pagerduty', incidentId), { what: `${kind} from pagerduty` });
}

/** A PagerDuty v3 `incident.annotated` with a note no other delivery carries. */
export function pagerDutyNote(incidentId: string, content: string): Delivery {
  const body = JSON.parse(PD_ANNOTATED) as {
    event: { id: string; data: { id: string; content: string; incident: Record<string, unknown> } };
  };
  body.event.id = `EV${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`;
  body.event.data.id = `PN${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
  body.event.data.content = content;
  body.event.data.incident.id = incidentId;
  body.event.data.incident.self = `https://api.pagerduty.com/incidents/${incidentId}`;
  return signedPagerDuty(body, incidentKey('pagerduty', incidentId), { what: 'annotate from pagerduty', detail: content });
}

const apiHeaders = (idempotencyKey?: string): Record<string, string> => ({
  'content-type': 'application/json',
  authorization: `Bearer ${API_TOKEN}`,
  ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
});

/** `POST /incidents` for a new generic incident. */
export function genericTrigger(id: string, title: string): Delivery {
  const body = { id, title, severity: 'error', service: 'chaos', responders: ['lee.dev@example.com'] };
  return {
    key: incidentKey('api', id),
    expect: { what: 'trigger from api' },
    path: '/incidents',
    body: JSON.stringify(body),
    headers: apiHeaders(randomUUID()),
  };
}

/** `POST /incidents/:key/acknowledge|resolve` by a named person. */
export function genericAction(key: string, action: 'acknowledge' | 'resolve', by: string): Delivery {
  return {
    key,
    expect: { what: `${action} from api` },
    path: `/incidents/${key}/${action}`,
    body: JSON.stringify({ by }),
    headers: apiHeaders(),
  };
}

/** One POST on a fresh connection; never throws. */
export function post(baseUrl: string, delivery: Pick<Delivery, 'path' | 'body' | 'headers'>): Promise<Attempt> {
  const url = new URL(delivery.path, baseUrl);
  const body = Buffer.from(delivery.body);
  const sentAt = Date.now();
  return new Promise((resolveAttempt) => {
    let settled = false;
    const settle = (attempt: Omit<Attempt, 'sentAt' | 'answeredAt' | 'baseUrl'>) => {
      if (settled) return;
      settled = true;
      resolveAttempt({ ...attempt, sentAt, answeredAt: Date.now(), baseUrl });
    };
    const req = request(
      {
        agent: false,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: url.pathname,
        headers: { ...delivery.headers, 'content-length': body.length, connection: 'close' },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => settle({ kind: 'reset', detail: err.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let detail: string | undefined;
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { outcome?: string; error?: string; ignored?: string };
            detail = parsed.outcome ?? parsed.ignored ?? parsed.error;
          } catch {
            detail = undefined;
          }
          const kind: AttemptKind = status >= 200 && status < 300 ? '2xx' : status >= 500 ? '5xx' : '4xx';
          settle({ kind, status, detail });
        });
      },
    );
    req.on('timeout', () => {
      settle({ kind: 'timeout', detail: `no answer within ${REQUEST_TIMEOUT_MS} ms` });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const kind: AttemptKind =
        err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' || err.message === 'socket hang up' ? 'reset' : 'error';
      settle({ kind, detail: `${err.code ?? ''} ${err.message}`.trim() });
    });
    req.end(body);
  });
}

/** A delivery and every attempt made at it. */
export interface Sent {
  delivery: Delivery;
  attempts: Attempt[];
  /** The attempt that ended the sending (a 2xx, a 4xx, or the last one before the deadline). */
  final: Attempt;
}

/** Whether PagerDuty would send this delivery again. */
export function retryable(attempt: Attempt): boolean {
  return attempt.kind !== '2xx' && attempt.kind !== '4xx';
}

export interface RetryOptions {
  /** Stop retrying this long after the first attempt. */
  deadlineMs?: number;
  /** With several base URLs (API replicas behind a load balancer): the one the first attempt goes to; each retry goes to the next. */
  first?: number;
  maxBackoffMs?: number;
  /** Told of every attempt as it ends. */
  onAttempt?: (attempt: Attempt) => void;
}

/**
 * Sends until a 2xx or 4xx, backing off 250 ms × 2ⁿ up to `maxBackoffMs`, for up to `deadlineMs`;
 * over several base URLs in turn when given more than one.
 */
export async function sendWithRetries(baseUrl: string | readonly string[], delivery: Delivery, options: RetryOptions = {}): Promise<Sent> {
  const { deadlineMs = 180_000, maxBackoffMs = 4000, onAttempt, first = 0 } = options;
  const urls = typeof baseUrl === 'string' ? [baseUrl] : baseUrl;
  const attempts: Attempt[] = [];
  const giveUpAt = Date.now() + deadlineMs;
  for (let n = 0; ; n++) {
    const attempt = await post(urls[(first + n) % urls.length] as string, delivery);
    attempts.push(attempt);
    onAttempt?.(attempt);
    if (!retryable(attempt) || Date.now() >= giveUpAt) return { delivery, attempts, final: attempt };
    await sleep(Math.min(250 * 2 ** n, maxBackoffMs));
  }
}

/** Runs `task` over `items` with at most `concurrency` at a time. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await task(items[index] as T, index);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** Counts attempts by kind. */
export function countKinds(attempts: readonly Attempt[]): Record<AttemptKind, number> {
  const counts: Record<AttemptKind, number> = { '2xx': 0, '4xx': 0, '5xx': 0, refused: 0, reset: 0, timeout: 0, error: 0 };
  for (const attempt of attempts) counts[attempt.kind] += 1;
  return counts;
}
