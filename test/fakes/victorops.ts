import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultTable, listenOnLoopback, readBody, sendJson } from './http.js';

/**
 * VictorOps (Splunk On-Call) REST endpoint integration on loopback:
 * `POST /integrations/generic/20131114/alert/{apiKey}/{routingKey}`. VictorOps publishes no
 * machine-readable spec; the checks follow ../shared/API-NOTES.md §1c (Splunk's REST endpoint
 * guide). Where the docs are silent (HTTP status of a failure, over-long fields) this fake picks
 * the strict answer and says so, so a client that passes here would not be refused there.
 */

/** What VictorOps does with an alert, after unknown message types are read as INFO. */
export type VictorOpsMessageType = 'CRITICAL' | 'WARNING' | 'ACKNOWLEDGEMENT' | 'INFO' | 'RECOVERY';

export interface VictorOpsAlert {
  entityId: string;
  routingKey: string;
  /** As VictorOps treats it (`OK` → RECOVERY, unknown → INFO). */
  messageType: VictorOpsMessageType;
  /** As sent. */
  sentMessageType: string;
  fields: Record<string, unknown>;
  receivedAt: string;
}

/** One incident identity: every alert posted with its entity_id, in order, and the phase they leave it in. */
export interface VictorOpsEntity {
  entityId: string;
  /** Undefined while only INFO (or a WARNING, timeline-only by default) has arrived. */
  phase?: 'triggered' | 'acknowledged' | 'resolved';
  timeline: VictorOpsAlert[];
}

export interface VictorOpsState {
  alerts: VictorOpsAlert[];
  entities: Map<string, VictorOpsEntity>;
}

export interface RecordedRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  method: string;
  /** Path with the API key replaced by `<key>`: recorded requests may be printed. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
  /** The answer's `message` when it was refused; undefined when accepted. */
  refused?: string;
  fault?: 'error' | 'rateLimited' | 'applyThenFail' | 'hang';
}

export interface VictorOpsFake {
  /** The full REST URL, with API key and routing key, as VICTOROPS_REST_URL holds it. */
  url: string;
  apiKey: string;
  routingKey: string;
  requests: RecordedRequest[];
  state: VictorOpsState;
  /** Faults by route: the one route is `alert` (`*` works too), e.g. `faults.set('alert', { applyThenFail: 1 })`. */
  faults: FaultTable;
  /** The alerts posted for one entity_id (empty when none). */
  timeline(entityId: string): VictorOpsAlert[];
  /** How many accepted alerts of this type (as VictorOps read it: `OK` counts as RECOVERY) one entity_id got. */
  count(entityId: string, messageType: VictorOpsMessageType): number;
  /** Forgets requests and state, clears faults and drops hung calls. */
  reset(): void;
  stop(): Promise<void>;
}

export interface VictorOpsFakeOptions {
  apiKey?: string;
  routingKey?: string;
  /** The org setting "WARNING opens an incident" (off by default: timeline-only). */
  warningOpensIncident?: boolean;
  /** Source of randomness for errorRate; tests pass a fixed sequence. */
  random?: () => number;
}

const VERSION = '20131114';
/** Documented limits (§1c): entity_id 512, state_message 20480, annotations 1124, every other field 1024. */
const LIMIT_DEFAULT = 1024;
const LIMITS: Record<string, number> = { entity_id: 512, state_message: 20480 };
const LIMIT_ANNOTATION = 1124;

const KNOWN_TYPES: Record<string, VictorOpsMessageType> = {
  CRITICAL: 'CRITICAL',
  WARNING: 'WARNING',
  ACKNOWLEDGEMENT: 'ACKNOWLEDGEMENT',
  INFO: 'INFO',
  RECOVERY: 'RECOVERY',
  OK: 'RECOVERY',
};

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startVictorOpsFake(options: VictorOpsFakeOptions = {}): Promise<VictorOpsFake> {
  const apiKey = options.apiKey ?? `vo-rest-key-${randomUUID()}`;
  const routingKey = options.routingKey ?? 'warroom';
  const requests: RecordedRequest[] = [];
  const state: VictorOpsState = { alerts: [], entities: new Map() };
  const hung = new Set<ServerResponse>();

  const fake = {
    url: '',
    apiKey,
    routingKey,
    requests,
    state,
    faults: new FaultTable(options.random),
    timeline: (entityId: string) => state.entities.get(entityId)?.timeline ?? [],
    count: (entityId: string, messageType: VictorOpsMessageType) =>
      (state.entities.get(entityId)?.timeline ?? []).filter((alert) => alert.messageType === messageType).length,
    reset() {
      requests.length = 0;
      state.alerts.length = 0;
      state.entities.clear();
      fake.faults.clear();
      for (const res of hung) res.destroy();
      hung.clear();
    },
    stop: async () => {
      for (const res of hung) res.destroy();
      hung.clear();
      await server.stop();
    },
  } satisfies VictorOpsFake;

  const apply = (alertRoutingKey: string, fields: Record<string, unknown>): VictorOpsAlert => {
    const sent = String(fields.message_type);
    const messageType = KNOWN_TYPES[sent.toUpperCase()] ?? 'INFO';
    // No entity_id: "a random string is used" (§1c).
    const entityId = typeof fields.entity_id === 'string' && fields.entity_id !== '' ? fields.entity_id : randomUUID();
    const alert: VictorOpsAlert = {
      entityId,
      routingKey: alertRoutingKey,
      messageType,
      sentMessageType: sent,
      fields,
      receivedAt: new Date().toISOString(),
    };
    state.alerts.push(alert);
    const entity = state.entities.get(entityId) ?? { entityId, timeline: [] };
    entity.timeline.push(alert);
    const open = entity.phase === 'triggered' || entity.phase === 'acknowledged';
    if (messageType === 'CRITICAL' || (messageType === 'WARNING' && options.warningOpensIncident)) {
      // Same entity_id while open: rolled up, no new incident (§1c).
      if (!open) entity.phase = 'triggered';
    } else if (messageType === 'ACKNOWLEDGEMENT') {
      if (entity.phase === 'triggered') entity.phase = 'acknowledged';
    } else if (messageType === 'RECOVERY') {
      if (open) entity.phase = 'resolved';
    }
    state.entities.set(entityId, entity);
    return alert;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const raw = await readBody(req);
    const record: RecordedRequest = {
      receivedAt: Date.now(),
      method: req.method ?? 'GET',
      path: url.pathname.split(apiKey).join('<key>'),
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      record.status = status;
      if (body.result === 'failure') record.refused = String(body.message);
      if (!res.destroyed && !res.writableEnded) sendJson(res, status, body, headers);
    };
    const failure = (status: number, message: string, headers?: Record<string, string>) =>
      answer(status, { result: 'failure', message }, headers);

    const route = /^\/integrations\/generic\/([^/]+)\/alert\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    // A wrong path or key: third-party reports show 404 (elastalert#2522); the status is not documented.
    if (!route || route[1] !== VERSION) return failure(404, 'Not found');
    if (decodeURIComponent(route[2]!) !== apiKey) return failure(404, 'Invalid REST endpoint API key');
    if (record.method !== 'POST') return failure(405, `Method ${record.method} not allowed`);

    // Read before any fault, so a faulted call is recorded with what it was for.
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return failure(400, 'Malformed JSON');
    }
    record.body = body;

    const decision = await fake.faults.decide(['alert', '*']);
    if (decision.kind === 'hang') {
      record.fault = 'hang';
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (decision.kind === 'rateLimit') {
      record.fault = 'rateLimited';
      return failure(429, 'Too many requests', { 'retry-after': String(decision.retryAfterSeconds) });
    }
    if (decision.kind === 'error') {
      record.fault = 'error';
      return failure(500, 'Internal server error');
    }

    const problem = validate(body);
    if (problem) return failure(400, problem);
    const alert = apply(decodeURIComponent(route[3]!), body as Record<string, unknown>);

    if (decision.applyThenFail) {
      record.fault = 'applyThenFail';
      return failure(500, 'Internal server error');
    }
    return answer(200, { result: 'success', entity_id: alert.entityId });
  };

  const server = await listenOnLoopback(handle);
  fake.url = `${server.url}/integrations/generic/${VERSION}/alert/${apiKey}/${routingKey}`;
  return fake;
}

/** The failure message VictorOps would give for this body, or undefined when it is accepted. */
function validate(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'Expected a JSON object';
  const fields = body as Record<string, unknown>;
  if (fields.message_type === undefined || fields.message_type === null || fields.message_type === '') {
    return 'Missing fields: message_type';
  }
  if (typeof fields.message_type !== 'string') return 'Invalid field: message_type must be a string';
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') return `Invalid field: ${name} must be a string, number or boolean`;
    const limit = name.startsWith('vo_annotate.') ? LIMIT_ANNOTATION : (LIMITS[name] ?? LIMIT_DEFAULT);
    // Whether VictorOps truncates or refuses an over-long field is not documented: refusing is the safe reading.
    if (String(value).length > limit) return `Field too long: ${name} (${String(value).length} > ${limit} characters)`;
  }
  return undefined;
}
