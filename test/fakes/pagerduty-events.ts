import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultTable, listenOnLoopback, readBody, sendJson } from './http.js';
import { loadSpec } from './openapi.js';

/**
 * PagerDuty Events API v2 on loopback: alert events (`POST /v2/enqueue`) and change events
 * (`POST /v2/change/enqueue`). Every request is checked against
 * ../shared/specs/pagerduty-events-v2.openapi.json and every 202/5xx answer against its documented
 * schema. On top of the spec it applies what the docs say in prose (API-NOTES §2c/§2d,
 * developer-docs events-API-v2): 32-character routing keys that must belong to an integration,
 * `dedup_key` required to acknowledge/resolve and at most 255 characters, `summary` at most 1024,
 * events at most 512 KB, about 120 events a minute per routing key. Alert semantics: a trigger with
 * the dedup_key of an open alert joins it; acknowledge/resolve reach only an open alert opened with
 * the same routing key, and are otherwise dropped with a 202 (documented); a trigger after a
 * resolve opens the alert again. Where a refusal's text was only seen in integrators' reports, or
 * is inferred, the line says so.
 */

export type AlertStatus = 'triggered' | 'acknowledged' | 'resolved';

/** Which of the fake's integrations an event came through. */
export type KeyName = 'routingKey' | 'changeRoutingKey' | 'escalationRoutingKey';

/** One alert, by dedup_key, as PagerDuty would show it. */
export interface PagerDutyEventsAlert {
  dedupKey: string;
  /** Which of the fake's keys opened it. */
  keyName: KeyName;
  status: AlertStatus;
  /** Trigger events it took in (repeats while open join the same alert). */
  triggers: number;
  /** Acknowledge and resolve events that changed it (dropped ones are not counted). */
  acknowledges: number;
  resolves: number;
  /** How many times it was opened: 1 unless it was triggered again after a resolve. */
  opened: number;
  /** The `payload` of the last trigger. */
  lastPayload: Record<string, unknown>;
  /** The whole last trigger event (links, client, client_url...). */
  lastTrigger: Record<string, unknown>;
  /** Every event that changed or joined it, in order. */
  history: Array<{ action: 'trigger' | 'acknowledge' | 'resolve'; at: string }>;
}

/** One accepted change event. */
export interface PagerDutyChangeEvent {
  keyName: KeyName;
  payload: Record<string, unknown>;
  links?: Array<{ href: string; text?: string }>;
  images?: unknown[];
  receivedAt: string;
}

export interface RecordedEventRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body as sent (routing key included: it is the fake's own). */
  body: unknown;
  status: number;
  /** `createV2Event` or `createChangeEvent`, once the path and method matched. */
  operationId?: string;
  /** `ok` (checked), `unchecked` (spec absent), or why the spec check refused it. */
  spec?: string;
  /** The answer's errors (or message) when refused. */
  refused?: string;
  fault?: 'error' | 'rateLimited' | 'applyThenFail' | 'hang';
}

export interface PagerDutyEventsFake {
  /** Base URL, as PAGERDUTY_EVENTS_URL holds it (the fake serves `/v2/...` under it). */
  url: string;
  /** PAGERDUTY_ROUTING_KEY: 32 characters. */
  routingKey: string;
  /** PAGERDUTY_CHANGE_ROUTING_KEY: 32 characters. */
  changeRoutingKey: string;
  /** PAGERDUTY_ESCALATION_ROUTING_KEY: 32 characters. */
  escalationRoutingKey: string;
  requests: RecordedEventRequest[];
  alerts: Map<string, PagerDutyEventsAlert>;
  changeEvents: PagerDutyChangeEvent[];
  /**
   * Faults by operationId (`createV2Event`, `createChangeEvent`) or `*`. A rate limit answers 429
   * with `Retry-After: retryAfterSeconds` while `retryAfterHeader` is true (PagerDuty does not
   * document the header: set it false to answer without one).
   */
  faults: FaultTable;
  retryAfterHeader: boolean;
  /** Answers this fake sent that its own spec check found wrong: must stay empty. */
  responseProblems: string[];
  /** Forgets requests, alerts and change events; clears faults, the rate window and hung calls. */
  reset(): void;
  stop(): Promise<void>;
}

export interface PagerDutyEventsFakeOptions {
  routingKey?: string;
  changeRoutingKey?: string;
  escalationRoutingKey?: string;
  /** Events accepted per routing key in a sliding minute before a 429 (PagerDuty: about 120). */
  eventsPerMinute?: number;
  /** Source of randomness for errorRate; tests pass a fixed sequence. */
  random?: () => number;
}

const SUMMARY_LIMIT = 1024;
const DEDUP_KEY_LIMIT = 255;
/** "Payload ≤512 KB" (API-NOTES §2c). */
const EVENT_SIZE_LIMIT = 512 * 1024;
/** Stands in for web URLs during the spec check (see `withPlaceholderUrls`). */
const PLACEHOLDER_URL = 'https://placeholder.example.com/';

type EventsBody = { status: string; message: string; errors?: string[]; dedup_key?: string };

const invalidEvent = (...errors: string[]): EventsBody => ({ status: 'invalid event', message: 'Event object is invalid', errors });

const ROUTES: Record<string, string> = { '/v2/enqueue': 'createV2Event', '/v2/change/enqueue': 'createChangeEvent' };

/** A routing key shaped like PagerDuty's: 32 lower-case hex characters. */
function integrationKey(): string {
  return randomBytes(16).toString('hex');
}

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startPagerDutyEventsFake(options: PagerDutyEventsFakeOptions = {}): Promise<PagerDutyEventsFake> {
  const spec = loadSpec('pagerduty-events-v2.openapi.json');
  const routingKey = options.routingKey ?? integrationKey();
  const changeRoutingKey = options.changeRoutingKey ?? integrationKey();
  const escalationRoutingKey = options.escalationRoutingKey ?? integrationKey();
  const eventsPerMinute = options.eventsPerMinute ?? 120;
  const requests: RecordedEventRequest[] = [];
  const responseProblems: string[] = [];
  const alerts = new Map<string, PagerDutyEventsAlert>();
  const changeEvents: PagerDutyChangeEvent[] = [];
  const hung = new Set<ServerResponse>();
  const windows = new Map<string, number[]>();

  const fake = {
    url: '',
    routingKey,
    changeRoutingKey,
    escalationRoutingKey,
    requests,
    alerts,
    changeEvents,
    faults: new FaultTable(options.random),
    retryAfterHeader: true,
    responseProblems,
    reset() {
      requests.length = 0;
      responseProblems.length = 0;
      alerts.clear();
      changeEvents.length = 0;
      windows.clear();
      fake.faults.clear();
      fake.retryAfterHeader = true;
      for (const res of hung) res.destroy();
      hung.clear();
    },
    stop: async () => {
      for (const res of hung) res.destroy();
      hung.clear();
      await server.stop();
    },
  } satisfies PagerDutyEventsFake;

  const keyNames = new Map<string, KeyName>([
    [routingKey, 'routingKey'],
    [changeRoutingKey, 'changeRoutingKey'],
    [escalationRoutingKey, 'escalationRoutingKey'],
  ]);
  const keyNameOf = (key: string): KeyName | undefined => keyNames.get(key);

  /** Sliding 60-second window per routing key ("approximately 120 calls/minute per integration key"). */
  const overLimit = (key: string): boolean => {
    const now = Date.now();
    const recent = (windows.get(key) ?? []).filter((at) => now - at < 60_000);
    const over = recent.length >= eventsPerMinute;
    if (!over) recent.push(now);
    windows.set(key, recent);
    return over;
  };

  /** Applies one accepted alert event; answers the dedup_key it concerned. */
  const applyAlertEvent = (keyName: PagerDutyEventsAlert['keyName'], event: Record<string, any>): string => {
    const at = new Date().toISOString();
    const action = event.event_action as 'trigger' | 'acknowledge' | 'resolve';
    // "If absent, a dedup_key is generated and returned" for triggers (API-NOTES §2c).
    const dedupKey = typeof event.dedup_key === 'string' && event.dedup_key !== '' ? event.dedup_key : integrationKey();
    const known = alerts.get(dedupKey);
    // Events reach an alert only through the routing key that opened it; a real account would keep both.
    const ours = known && known.keyName === keyName ? known : undefined;
    const open = ours !== undefined && ours.status !== 'resolved';
    if (action === 'trigger') {
      if (open) {
        ours.triggers += 1;
        ours.lastPayload = event.payload;
        ours.lastTrigger = event;
        ours.history.push({ action, at });
      } else {
        alerts.set(dedupKey, {
          dedupKey,
          keyName,
          status: 'triggered',
          triggers: (ours?.triggers ?? 0) + 1,
          acknowledges: ours?.acknowledges ?? 0,
          resolves: ours?.resolves ?? 0,
          opened: (ours?.opened ?? 0) + 1,
          lastPayload: event.payload,
          lastTrigger: event,
          history: [...(ours?.history ?? []), { action, at }],
        });
      }
    } else if (action === 'acknowledge') {
      // No open alert, or already acknowledged: dropped, still 202 (documented).
      if (open && ours.status === 'triggered') {
        ours.status = 'acknowledged';
        ours.acknowledges += 1;
        ours.history.push({ action, at });
      }
    } else if (open) {
      ours.status = 'resolved';
      ours.resolves += 1;
      ours.history.push({ action, at });
    }
    return dedupKey;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const record: RecordedEventRequest = {
      receivedAt: Date.now(),
      method,
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    const answer = (status: number, body: EventsBody, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status >= 400) record.refused = body.errors && body.errors.length > 0 ? body.errors.join('; ') : body.message;
      if (record.operationId) {
        const checked = spec.checkResponse(record.operationId, status, body);
        if (!checked.ok) responseProblems.push(checked.reason);
      }
      if (!res.destroyed && !res.writableEnded) sendJson(res, status, body, headers);
    };

    const operationId = ROUTES[url.pathname];
    // Unknown paths and methods: the Events API's own answers are not documented (inferred: 404/405 in its error shape).
    if (!operationId) return answer(404, { status: 'Not Found', message: `No route for ${url.pathname}` });
    if (method !== 'POST') return answer(405, { status: 'Method Not Allowed', message: `${method} is not allowed on ${url.pathname}` });
    record.operationId = operationId;

    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (contentType !== 'application/json') {
      return answer(400, {
        status: 'Unrecognized object',
        message: 'Event object format is unrecognized',
        errors: [`Content-Type must be application/json, got '${contentType}'`],
      });
    }
    if (raw.length > EVENT_SIZE_LIMIT)
      return answer(400, invalidEvent(`Event is ${raw.length} bytes, over the ${EVENT_SIZE_LIMIT} PagerDuty accepts`));
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // The spec's own error example.
      return answer(400, { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: ['JSON parse error'] });
    }
    record.body = body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return answer(400, {
        status: 'Unrecognized object',
        message: 'Event object format is unrecognized',
        errors: ['expected a JSON object'],
      });
    }
    const event = body as Record<string, any>;

    const checked = spec.check({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: withPlaceholderUrls(event),
    });
    if (!checked.ok) {
      record.spec = checked.reason;
      return answer(checked.status, invalidEvent(checked.reason));
    }
    record.spec = spec.checked ? 'ok' : 'unchecked';

    const problem = refusal(operationId, event);
    if (problem) return answer(400, invalidEvent(problem));
    // The two texts for malformed keys as integrators saw them (envato/pagerduty#70, blockpane/tenderduty#10).
    const key: string = event.routing_key;
    const shape = [
      ...(key.length !== 32 ? ["Length of 'routing_key' is incorrect (should be 32 characters)"] : []),
      ...(/[^A-Za-z0-9]/.test(key) ? ["'routing_key' cannot contain non-alphanumeric characters."] : []),
    ];
    if (shape.length > 0) return answer(400, invalidEvent(...shape));
    const keyName = keyNameOf(key);
    // A well-formed key no integration has: "Invalid routing key" (seen in robusta-dev/robusta#571).
    if (!keyName) return answer(400, invalidEvent('Invalid routing key'));

    const decision = await fake.faults.decide([operationId, '*']);
    if (decision.kind === 'hang') {
      record.fault = 'hang';
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    // The docs say only "429 - Request Limit Exceeded"; the body follows the spec's Error shape (inferred).
    const throttled = (retryAfterSeconds?: number) =>
      answer(
        429,
        { status: 'Request Limit Exceeded', message: 'Too many events for this routing key: retry later' },
        retryAfterSeconds !== undefined && fake.retryAfterHeader ? { 'retry-after': String(retryAfterSeconds) } : {},
      );
    if (decision.kind === 'rateLimit') {
      record.fault = 'rateLimited';
      return throttled(decision.retryAfterSeconds);
    }
    if (decision.kind === 'error') {
      record.fault = 'error';
      return answer(500, {
        status: 'Internal Server Error',
        message: 'The PagerDuty server experienced an error while processing the event.',
      });
    }
    if (overLimit(key)) return throttled();

    let accepted: EventsBody;
    if (operationId === 'createChangeEvent') {
      changeEvents.push({
        keyName,
        payload: event.payload,
        links: event.links,
        images: event.images,
        receivedAt: new Date().toISOString(),
      });
      // The success text of change events is not in the sources; only `status: success` is (API-NOTES §2d).
      accepted = { status: 'success', message: 'Change event processed' };
    } else {
      accepted = { status: 'success', message: 'Event processed', dedup_key: applyAlertEvent(keyName, event) };
    }
    if (decision.applyThenFail) {
      record.fault = 'applyThenFail';
      return answer(500, {
        status: 'Internal Server Error',
        message: 'The PagerDuty server experienced an error while processing the event.',
      });
    }
    return answer(202, accepted);
  };

  const server = await listenOnLoopback(handle);
  fake.url = server.url;
  return fake;
}

/**
 * What the docs require beyond the spec's schema, also when the spec file is absent. The
 * "is missing or blank" wording follows the Events API's refusals seen in cortexproject/cortex#5998.
 */
function refusal(operationId: string, event: Record<string, any>): string | undefined {
  if (typeof event.routing_key !== 'string' || event.routing_key === '') return "'routing_key' is missing or blank";
  // Triggers and change events carry a payload; acknowledge and resolve need none.
  if (operationId === 'createChangeEvent' || event.event_action === 'trigger' || event.payload !== undefined) {
    if (!event.payload || typeof event.payload !== 'object') return "'payload' is missing or blank";
    const summary = event.payload.summary;
    if (typeof summary !== 'string' || summary.trim() === '') return "'payload.summary' is missing or blank";
    // "The maximum permitted length of this property is 1024 characters": refusing (not truncating) is the strict reading.
    if (summary.length > SUMMARY_LIMIT) return `'payload.summary' is ${summary.length} characters, over the ${SUMMARY_LIMIT} permitted`;
  }
  for (const image of Array.isArray(event.images) ? event.images : []) {
    if (typeof image?.src === 'string' && !image.src.startsWith('https://')) return "'images.src' must be served via HTTPS";
  }
  if (operationId === 'createChangeEvent') {
    // Change events have no event_action and no dedup_key (documented): sending one is a mistake.
    if ('event_action' in event || 'dedup_key' in event) return 'change events take no event_action or dedup_key';
    return undefined;
  }
  if (!['trigger', 'acknowledge', 'resolve'].includes(event.event_action)) return "'event_action' must be trigger, acknowledge or resolve";
  if (event.dedup_key !== undefined) {
    if (typeof event.dedup_key !== 'string') return "'dedup_key' must be a string";
    if (event.dedup_key.length > DEDUP_KEY_LIMIT)
      return `'dedup_key' is ${event.dedup_key.length} characters, over the ${DEDUP_KEY_LIMIT} permitted`;
  }
  if (event.event_action !== 'trigger' && (typeof event.dedup_key !== 'string' || event.dedup_key === ''))
    return "'dedup_key' is missing or blank";
  if (event.event_action === 'trigger') {
    for (const field of ['source', 'severity'] as const) {
      if (typeof event.payload[field] !== 'string' || event.payload[field] === '') return `'payload.${field}' is missing or blank`;
    }
  }
  return undefined;
}

/**
 * A copy for the spec check with every absolute http(s) URL (links, images, client_url) replaced by
 * a public one. The spec marks them `format: url`, which the checker reads with ajv-formats' `url`
 * pattern: that refuses loopback, private and single-label hosts (the fakes' own URLs, a Temporal UI
 * on localhost), and PagerDuty documents no such rule. Anything that is not a URL is left as sent.
 */
function withPlaceholderUrls(event: Record<string, any>): Record<string, any> {
  const web = (value: unknown) => {
    if (typeof value !== 'string') return value;
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:' ? PLACEHOLDER_URL : value;
    } catch {
      return value;
    }
  };
  const copy: Record<string, any> = { ...event };
  if ('client_url' in copy) copy.client_url = web(copy.client_url);
  if (Array.isArray(copy.links))
    copy.links = copy.links.map((link: any) => (link && typeof link === 'object' ? { ...link, href: web(link.href) } : link));
  if (Array.isArray(copy.images)) {
    copy.images = copy.images.map((image: any) =>
      image && typeof image === 'object' ? { ...image, src: web(image.src), ...('href' in image ? { href: web(image.href) } : {}) } : image,
    );
  }
  return copy;
}
