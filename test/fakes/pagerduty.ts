import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultTable, listenOnLoopback, readBody, sendJson } from './http.js';
import { loadSpec } from './openapi.js';

/**
 * PagerDuty REST API v2 on loopback: incident notes, users (one, or a search), incident reads and status updates. Every
 * request is checked against ../shared/specs/pagerduty-rest.openapi.json (path, method, path and
 * header parameters, JSON body) and every answer against the documented response schema.
 * Refusals use PagerDuty's error object `{"error":{"message","code","errors"}}` and the status
 * codes of its error docs (developer-docs REST-API/14-Errors.md). Where a code or text was only
 * seen in integrators' reports, or is inferred, the line says so.
 */

export interface PagerDutyUser {
  id: string;
  name: string;
  email: string;
}

export interface PagerDutyNote {
  id: string;
  user: { id: string; type: 'user_reference'; summary: string; self: string; html_url: string };
  channel: { summary: string };
  content: string;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyIncident {
  id: string;
  number: number;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  urgency: 'high' | 'low';
  createdAt: string;
  updatedAt: string;
  resolution?: string;
  notes: PagerDutyNote[];
  /** Every status change made through `PUT /incidents/{id}`, with the `From` user. */
  changes: Array<{ status: PagerDutyIncident['status']; by: string; at: string }>;
}

export interface PagerDutyState {
  users: Map<string, PagerDutyUser>;
  incidents: Map<string, PagerDutyIncident>;
}

export interface RecordedRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
  /** The spec operation, once the path and method matched one. */
  operationId?: string;
  /** `ok`, or why the spec check refused it; undefined when refused before the check (auth). */
  spec?: string;
  /** PagerDuty's error message when refused. */
  refused?: string;
  fault?: 'error' | 'rateLimited' | 'applyThenFail' | 'hang';
}

export interface PagerDutyFake {
  /** Base URL, as PAGERDUTY_API_URL holds it. */
  url: string;
  apiToken: string;
  /** A user of the account: a valid `From` for writes. */
  fromEmail: string;
  requests: RecordedRequest[];
  state: PagerDutyState;
  /**
   * Faults by spec operationId (createIncidentNote, listIncidentNotes, getIncident, getUser, listUsers, updateIncident) or `*`.
   * A rate limit answers PagerDuty's 429: `ratelimit-reset` set to its retryAfterSeconds, no Retry-After.
   */
  faults: FaultTable;
  /** Answers this fake sent that its own spec check found wrong: must stay empty. */
  responseProblems: string[];
  addUser(user: Omit<PagerDutyUser, 'id'> & { id?: string }): PagerDutyUser;
  addIncident(incident?: Partial<Pick<PagerDutyIncident, 'id' | 'title' | 'status' | 'urgency'>>): PagerDutyIncident;
  /** Forgets requests, notes, incidents and users other than the From user; clears faults; drops hung calls. */
  reset(): void;
  stop(): Promise<void>;
}

export interface PagerDutyFakeOptions {
  apiToken?: string;
  fromEmail?: string;
  /** Source of randomness for errorRate; tests pass a fixed sequence. */
  random?: () => number;
}

const ACCEPT = 'application/vnd.pagerduty+json;version=2';
const RATE_LIMIT = 960;
const WEB = 'https://warroom-fake.pagerduty.com';
const API = 'https://api.pagerduty.com';

type ErrorBody = { error: { message: string; code: number; errors?: string[] } };

function pdError(message: string, code: number, errors?: string[]): ErrorBody {
  return { error: errors && errors.length > 0 ? { message, code, errors } : { message, code } };
}

const NOT_FOUND = () => pdError('Not Found', 2100);

function pdId(): string {
  // Shaped like PagerDuty ids: P followed by upper-case letters and digits.
  return `P${randomBytes(5).toString('hex').toUpperCase().slice(0, 6)}`;
}

const ROUTES: Array<{ method: string; pattern: RegExp; operationId: string }> = [
  { method: 'GET', pattern: /^\/incidents\/(?<id>[^/]+)\/notes$/, operationId: 'listIncidentNotes' },
  { method: 'POST', pattern: /^\/incidents\/(?<id>[^/]+)\/notes$/, operationId: 'createIncidentNote' },
  { method: 'GET', pattern: /^\/incidents\/(?<id>[^/]+)$/, operationId: 'getIncident' },
  { method: 'PUT', pattern: /^\/incidents\/(?<id>[^/]+)$/, operationId: 'updateIncident' },
  { method: 'GET', pattern: /^\/users\/(?<id>[^/]+)$/, operationId: 'getUser' },
  { method: 'GET', pattern: /^\/users$/, operationId: 'listUsers' },
];

/** The operation a request is for, with its path parameters, as the spec names them. */
function routeOf(method: string, path: string): { operationId: string; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    const match = route.method === method ? route.pattern.exec(path) : null;
    if (match) return { operationId: route.operationId, params: { id: decodeURIComponent(match.groups?.id ?? '') } };
  }
  return undefined;
}

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startPagerDutyFake(options: PagerDutyFakeOptions = {}): Promise<PagerDutyFake> {
  const spec = loadSpec('pagerduty-rest.openapi.json');
  const apiToken = options.apiToken ?? `pd-token-${randomUUID().replace(/-/g, '')}`;
  const fromEmail = options.fromEmail ?? 'warroom-bot@example.com';
  const requests: RecordedRequest[] = [];
  const responseProblems: string[] = [];
  const state: PagerDutyState = { users: new Map(), incidents: new Map() };
  const hung = new Set<ServerResponse>();
  let incidentNumber = 1000;
  let windowStart = Date.now();
  let windowCount = 0;

  const addUser: PagerDutyFake['addUser'] = (user) => {
    const created = { id: user.id ?? pdId(), name: user.name, email: user.email };
    state.users.set(created.id, created);
    return created;
  };
  const addIncident: PagerDutyFake['addIncident'] = (incident = {}) => {
    const now = new Date().toISOString();
    const created: PagerDutyIncident = {
      id: incident.id ?? pdId(),
      number: ++incidentNumber,
      title: incident.title ?? 'The server is on fire.',
      status: incident.status ?? 'triggered',
      urgency: incident.urgency ?? 'high',
      createdAt: now,
      updatedAt: now,
      notes: [],
      changes: [],
    };
    state.incidents.set(created.id, created);
    return created;
  };
  const seed = () => addUser({ id: 'PWARBOT', name: 'warroom bot', email: fromEmail });
  seed();

  const fake = {
    url: '',
    apiToken,
    fromEmail,
    requests,
    state,
    faults: new FaultTable(options.random),
    responseProblems,
    addUser,
    addIncident,
    reset() {
      requests.length = 0;
      responseProblems.length = 0;
      state.users.clear();
      state.incidents.clear();
      seed();
      fake.faults.clear();
      for (const res of hung) res.destroy();
      hung.clear();
    },
    stop: async () => {
      for (const res of hung) res.destroy();
      hung.clear();
      await server.stop();
    },
  } satisfies PagerDutyFake;

  const userByEmail = (email: string) => [...state.users.values()].find((user) => user.email.toLowerCase() === email.toLowerCase());
  const userReference = (user: PagerDutyUser) => ({
    id: user.id,
    type: 'user_reference' as const,
    summary: user.name,
    self: `${API}/users/${user.id}`,
    html_url: `${WEB}/users/${user.id}`,
  });
  const userBody = (user: PagerDutyUser) => ({
    id: user.id,
    type: 'user',
    summary: user.name,
    self: `${API}/users/${user.id}`,
    html_url: `${WEB}/users/${user.id}`,
    name: user.name,
    email: user.email,
    time_zone: 'Etc/UTC',
    role: 'user',
    invitation_sent: false,
  });
  const incidentBody = (incident: PagerDutyIncident) => ({
    id: incident.id,
    type: 'incident',
    summary: `[#${incident.number}] ${incident.title}`,
    self: `${API}/incidents/${incident.id}`,
    html_url: `${WEB}/incidents/${incident.id}`,
    incident_number: incident.number,
    title: incident.title,
    created_at: incident.createdAt,
    updated_at: incident.updatedAt,
    last_status_change_at: incident.changes.at(-1)?.at ?? incident.createdAt,
    status: incident.status,
    urgency: incident.urgency,
    assignments: [],
  });

  /** GET /users: `query` filters on name or e-mail (case-insensitive, part of either), paged by limit and offset. */
  const listUsers = (query: URLSearchParams): [number, unknown] => {
    const wanted = (query.get('query') ?? '').toLowerCase();
    const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 25) || 25));
    const offset = Math.max(0, Number(query.get('offset') ?? 0) || 0);
    const found = [...state.users.values()].filter((user) => `${user.name}\n${user.email}`.toLowerCase().includes(wanted));
    const page = found.slice(offset, offset + limit).map(userBody);
    const total = query.get('total') === 'true' ? found.length : null;
    return [200, { users: page, limit, offset, more: offset + limit < found.length, total }];
  };

  /** Applies one checked request; answers [status, body]. */
  const operate = (
    operationId: string,
    params: Record<string, string>,
    request: { body: any; query: URLSearchParams },
    from: PagerDutyUser | undefined,
  ): [number, unknown] => {
    const { body } = request;
    switch (operationId) {
      case 'listUsers':
        return listUsers(request.query);
      case 'getUser': {
        const user = state.users.get(params.id ?? '');
        return user ? [200, { user: userBody(user) }] : [404, NOT_FOUND()];
      }
      case 'getIncident': {
        const incident = state.incidents.get(params.id ?? '');
        return incident ? [200, { incident: incidentBody(incident) }] : [404, NOT_FOUND()];
      }
      case 'listIncidentNotes': {
        const incident = state.incidents.get(params.id ?? '');
        return incident ? [200, { notes: incident.notes }] : [404, NOT_FOUND()];
      }
      case 'createIncidentNote': {
        const incident = state.incidents.get(params.id ?? '');
        if (!incident) return [404, NOT_FOUND()];
        // "A maximum of 2000 notes can be added to an incident" (spec); the refusal's code is inferred.
        if (incident.notes.length >= 2000)
          return [400, pdError('Invalid Input Provided', 2001, ['Product Limit Reached: 2000 notes per incident'])];
        const now = new Date().toISOString();
        const note: PagerDutyNote = {
          id: pdId(),
          user: userReference(from!),
          channel: { summary: 'The PagerDuty website or APIs' },
          content: String(body.note.content),
          created_at: now,
          updated_at: now,
        };
        incident.notes.push(note);
        return [200, { note }];
      }
      case 'updateIncident': {
        const incident = state.incidents.get(params.id ?? '');
        if (!incident) return [404, NOT_FOUND()];
        const change = body.incident as {
          status?: PagerDutyIncident['status'];
          resolution?: string;
          title?: string;
          urgency?: 'high' | 'low';
        };
        // Error code 1001 is PagerDuty's "Incident Already Resolved"; answering it to a repeated resolve is inferred.
        if (change.status === 'resolved' && incident.status === 'resolved') return [400, pdError('Incident Already Resolved', 1001)];
        const now = new Date().toISOString();
        if (change.status && change.status !== incident.status) {
          // Setting triggered/acknowledged on a resolved incident reopens it (spec).
          incident.status = change.status;
          incident.changes.push({ status: change.status, by: from!.email, at: now });
        } else if (change.status === 'acknowledged') {
          incident.changes.push({ status: 'acknowledged', by: from!.email, at: now });
        }
        if (change.status === 'resolved' && change.resolution) incident.resolution = change.resolution;
        if (change.title) incident.title = change.title;
        if (change.urgency) incident.urgency = change.urgency;
        incident.updatedAt = now;
        return [200, { incident: incidentBody(incident) }];
      }
      default:
        return [404, NOT_FOUND()];
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const record: RecordedRequest = {
      receivedAt: Date.now(),
      method,
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const rateHeaders = (): Record<string, string> => {
      if (Date.now() - windowStart >= 60_000) {
        windowStart = Date.now();
        windowCount = 0;
      }
      windowCount += 1;
      const reset = Math.max(1, Math.ceil((windowStart + 60_000 - Date.now()) / 1000));
      return {
        'ratelimit-limit': String(RATE_LIMIT),
        'ratelimit-remaining': String(Math.max(0, RATE_LIMIT - windowCount)),
        'ratelimit-reset': String(reset),
      };
    };
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status >= 400) record.refused = (body as ErrorBody).error?.message;
      if (record.operationId) {
        const checked = spec.checkResponse(record.operationId, status, body);
        // The spec leaves some statuses PagerDuty does send undocumented (a 400 on PUT /incidents/{id}).
        if (!checked.ok && !/documents no \d+ response/.test(checked.reason)) responseProblems.push(checked.reason);
      }
      if (!res.destroyed && !res.writableEnded) sendJson(res, status, body, headers);
    };

    // "Authorization: Token token=<key>"; anything else is a 401 (REST-API/02-Authentication.md, code 2006 in the error list).
    const auth = /^Token token=(.+)$/.exec(header('authorization') ?? '');
    if (!auth || auth[1] !== apiToken) return answer(401, pdError('Authentication failed', 2006));
    const limits = rateHeaders();

    // The spec marks Accept required on every operation; refusing a missing or other version is inferred.
    if (header('accept') !== ACCEPT) {
      return answer(400, pdError('Invalid Input Provided', 2001, [`Accept header must be ${ACCEPT}`]), limits);
    }

    let body: unknown;
    if (raw.length > 0) {
      const contentType = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType !== 'application/json') {
        return answer(
          400,
          pdError('Invalid Input Provided', 2001, [`Content-Type must be application/json, got '${contentType}'`]),
          limits,
        );
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return answer(400, pdError('Invalid Input Provided', 2001, ['request body is not valid JSON']), limits);
      }
    }
    record.body = body;

    // Writes act as the `From` user. Both refusal texts as integrators saw them: airflow-pagerduty-plugin#1,
    // pdpyras#78 (missing), go-pagerduty#336 (malformed); code 1008 is in the error docs (seen in pygerduty#64).
    const email = header('from');
    const fromRefusal = (): [number, ErrorBody] | undefined => {
      if (!email) return [400, pdError('You must specify a user\'s email address in the "From" header to perform this action', 2016)];
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return [400, pdError('Malformed "From" header', 1028)];
      return undefined;
    };

    const checked = spec.check({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body });
    if (!checked.ok) {
      record.spec = checked.reason;
      const fromProblem = /'from'|header\/from/.test(checked.reason) ? fromRefusal() : undefined;
      if (fromProblem) return answer(fromProblem[0], fromProblem[1], limits);
      return checked.status === 400
        ? answer(400, pdError('Invalid Input Provided', 2001, [checked.reason]), limits)
        : answer(checked.status, pdError(checked.status === 405 ? 'Method Not Allowed' : 'Not Found', 2100, [checked.reason]), limits);
    }
    // The fake routes by itself, so it still works (unchecked) when the spec file is absent.
    const route = routeOf(method, url.pathname);
    if (!route) return answer(404, pdError('Not Found', 2100), limits);
    record.spec = spec.checked ? 'ok' : 'unchecked';
    record.operationId = route.operationId;

    let from: PagerDutyUser | undefined;
    if (method !== 'GET') {
      const fromProblem = fromRefusal();
      if (fromProblem) return answer(fromProblem[0], fromProblem[1], limits);
      from = userByEmail(email!);
      if (!from) return answer(400, pdError('Requester User Not Found', 1008), limits);
    }

    const decision = await fake.faults.decide([route.operationId, '*']);
    if (decision.kind === 'hang') {
      record.fault = 'hang';
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (decision.kind === 'rateLimit') {
      record.fault = 'rateLimited';
      // The documented 429 (REST-API/04-Rate-Limits.md): ratelimit-* headers, code 2020, no Retry-After.
      return answer(429, pdError('Rate Limit Exceeded', 2020), {
        'ratelimit-limit': String(RATE_LIMIT),
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(decision.retryAfterSeconds),
      });
    }
    if (decision.kind === 'error') {
      record.fault = 'error';
      return answer(500, pdError('An internal error has occurred. PagerDuty team has been notified.', 2000), limits);
    }

    const [status, result] = operate(route.operationId, route.params, { body, query: url.searchParams }, from);
    if (decision.applyThenFail && status < 300) {
      record.fault = 'applyThenFail';
      return answer(500, pdError('An internal error has occurred. PagerDuty team has been notified.', 2000), limits);
    }
    return answer(status, result, limits);
  };

  const server = await listenOnLoopback(handle);
  fake.url = server.url;
  return fake;
}
