/**
 * Webhooks as each alerting tool sends them, built from the samples in test/fixtures: PagerDuty v3
 * (signed), VictorOps escalation forms (signed), VictorOps outgoing JSON (flat `STATE.*` variables
 * and warroom's README template, with the shared token) and the generic `POST /incidents`. Every
 * builder returns the exact bytes a sender would repeat, so five deliveries of one alert are five
 * copies of one body.
 */
import { createHash } from 'node:crypto';
import { incidentKey } from '../src/shared/ids.js';
import type { SourceName } from '../src/shared/incident.js';
import { fixture } from './samples.js';
import { signPagerDuty, signVictorOps } from './signing.js';

/** One webhook: where it goes, the bytes, the headers. */
export interface Delivery {
  path: string;
  body: string;
  headers: Record<string, string>;
}

/** The ways an incident can reach warroom; VictorOps has three shapes. */
export const DELIVERY_KINDS = ['pagerduty', 'victorops-escalation', 'victorops-outgoing', 'victorops-template', 'api'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** What signs or authorises deliveries: the same values warroom is configured with. */
export interface SenderSecrets {
  pagerDutySecret: string;
  victorOpsKey: string;
  /** `VICTOROPS_WEBHOOK_URL`: the escalation signature covers it. */
  victorOpsUrl: string;
  victorOpsToken: string;
  apiToken: string;
}

/** One incident to deliver: its identity in its source, its key, and the webhook that opens it. */
export interface IncidentDelivery {
  kind: DeliveryKind;
  source: SourceName;
  externalId: string;
  key: string;
  /** The service its monitor template is looked up by. */
  service: string;
  /** VictorOps entity_id: where its timeline INFO lands. */
  entityId?: string;
  delivery: Delivery;
}

const sample = (name: string) => fixture(name).toString('utf8');
const PD_TRIGGERED = sample('pagerduty-v3-incident-triggered.json');
const VO_ESCALATION = sample('victorops-escalation.form-urlencoded.txt').trim();
const VO_OUTGOING = sample('victorops-outgoing-triggered.json');
const VO_TEMPLATE = sample('victorops-outgoing-template-rendered-triggered.json');

/** PagerDuty v3 `incident.triggered` for an incident the PagerDuty fake knows, signed `v1=` with the webhook secret. */
export function pagerDutyTriggered(incidentId: string, options: { title: string; secret: string; eventId?: string; now?: Date }): Delivery {
  const body = JSON.parse(PD_TRIGGERED) as { event: { id: string; occurred_at: string; data: Record<string, unknown> } };
  body.event.id = options.eventId ?? `01${digest(`event ${incidentId}`).slice(0, 24).toUpperCase()}`;
  body.event.occurred_at = (options.now ?? new Date()).toISOString();
  Object.assign(body.event.data, {
    id: incidentId,
    self: `https://api.pagerduty.com/incidents/${incidentId}`,
    html_url: `https://example-co.pagerduty.com/incidents/${incidentId}`,
    title: options.title,
  });
  const text = JSON.stringify(body);
  return {
    path: '/webhooks/pagerduty',
    body: text,
    headers: { 'content-type': 'application/json', ...signPagerDuty(text, options.secret) },
  };
}

interface VictorOpsAlert {
  /** The incident number. */
  number: string;
  entityId: string;
  title: string;
  /** The alert's VO_UUID: what de-duplicates repeats of one delivery. */
  uuid: string;
  now?: Date;
}

/** VictorOps escalation webhook (form fields, values JSON-quoted), signed `X-VictorOps-Signature` over the configured URL. */
export function victorOpsEscalation(alert: VictorOpsAlert, secrets: Pick<SenderSecrets, 'victorOpsKey' | 'victorOpsUrl'>): Delivery {
  const at = String((alert.now ?? new Date()).getTime());
  const replaced: Record<string, string> = {
    incident: alert.number,
    entity_id: JSON.stringify(alert.entityId),
    entity_display_name: JSON.stringify(alert.title),
    vo_uuid: JSON.stringify(alert.uuid),
    vo_alert_rcv_time: JSON.stringify(at),
    timestamp: JSON.stringify(at),
    state_start_time: JSON.stringify(at),
  };
  const fields = [...new URLSearchParams(VO_ESCALATION).entries()].map(([name, value]): [string, string] => [
    name,
    replaced[name] ?? value,
  ]);
  const body = new URLSearchParams(fields).toString();
  return {
    path: '/webhooks/victorops',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...signVictorOps(body, secrets.victorOpsKey, secrets.victorOpsUrl) },
  };
}

/** VictorOps outgoing webhook with the flat `STATE.*` / `ALERT.*` / `INCIDENT.*` variables, token in `X-Warroom-Token`. */
export function victorOpsOutgoing(alert: VictorOpsAlert, secrets: Pick<SenderSecrets, 'victorOpsToken'>): Delivery {
  const body = JSON.parse(VO_OUTGOING) as Record<string, unknown>;
  const at = (alert.now ?? new Date()).getTime();
  Object.assign(body, {
    'INCIDENT.INCIDENT_ID': alert.number,
    'INCIDENT.INCIDENT_NAME': `#${alert.number}`,
    'INCIDENT.INCIDENT_TIMESTAMP': at,
    'INCIDENT.ENTITY_DISPLAY_NAME': alert.title,
    'INCIDENT.FIRST_ALERT_UUID': alert.uuid,
    'INCIDENT.LATEST_ALERT_UUID': alert.uuid,
    'ALERT.VO_UUID': alert.uuid,
    'ALERT.entity_display_name': alert.title,
    'ALERT.entity_id': alert.entityId,
    'ALERT.VO_ALERT_RCV_TIME': String(at),
    'STATE.ENTITY_ID': alert.entityId,
    'STATE.LAST_UUID': alert.uuid,
    'STATE.INCIDENT_NAME': alert.number,
    'STATE.INCIDENT_TIMESTAMP': at,
    'STATE.LAST_TIMESTAMP': at,
  });
  return jsonToVictorOps(body, secrets.victorOpsToken);
}

/** VictorOps outgoing webhook rendered from the README's recommended template. */
export function victorOpsTemplate(alert: VictorOpsAlert, secrets: Pick<SenderSecrets, 'victorOpsToken'>): Delivery {
  const body = JSON.parse(VO_TEMPLATE) as Record<string, unknown>;
  Object.assign(body, {
    incident_number: alert.number,
    entity_id: alert.entityId,
    entity_display_name: alert.title,
    incident_timestamp: String((alert.now ?? new Date()).getTime()),
    alert_uuid: alert.uuid,
  });
  return jsonToVictorOps(body, secrets.victorOpsToken);
}

function jsonToVictorOps(body: Record<string, unknown>, token: string): Delivery {
  return {
    path: '/webhooks/victorops',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', 'x-warroom-token': token },
  };
}

/** `POST /incidents`; with `idempotencyKey` the repeats share that header, without it they share the body digest. */
export function genericIncident(
  body: { id: string; title: string; service: string; severity?: string; responders?: string[] },
  options: { apiToken: string; idempotencyKey?: string },
): Delivery {
  return {
    path: '/incidents',
    body: JSON.stringify({ severity: 'error', ...body }),
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${options.apiToken}`,
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
    },
  };
}

/** Services per kind, as each sample names them: the PagerDuty service, VictorOps monitor_name or routing_key. */
export const SAMPLE_SERVICES: Record<Exclude<DeliveryKind, 'api'>, string> = {
  pagerduty: 'checkout-api',
  'victorops-escalation': 'prometheus-prod',
  'victorops-outgoing': 'prometheus-prod',
  'victorops-template': 'database',
};

/**
 * The `index`-th incident of a scenario, its kind taken round-robin so every source is used.
 * `tag` keeps scenarios apart (ids are global to the Temporal namespace); `registerPagerDuty`
 * makes the incident known to the PagerDuty fake (notes need it) and answers its id.
 */
export function incidentDelivery(
  index: number,
  options: {
    tag: string;
    /** A number that makes this scenario's VictorOps incident numbers distinct from others'. */
    numberBase: number;
    secrets: SenderSecrets;
    /** The `service` of generic incidents, by index. */
    apiService: (index: number) => string;
    registerPagerDuty: (title: string) => string;
  },
): IncidentDelivery {
  const kind = DELIVERY_KINDS[index % DELIVERY_KINDS.length] as DeliveryKind;
  const serial = String(index + 1).padStart(4, '0');
  const title = `${options.tag} ${kind} incident ${serial}`;
  const { secrets } = options;
  if (kind === 'pagerduty') {
    const id = options.registerPagerDuty(title);
    const delivery = pagerDutyTriggered(id, { title, secret: secrets.pagerDutySecret });
    return { kind, source: 'pagerduty', externalId: id, key: incidentKey('pagerduty', id), service: SAMPLE_SERVICES[kind], delivery };
  }
  if (kind === 'api') {
    const id = `${options.tag}-${serial}`;
    const service = options.apiService(index);
    const delivery = genericIncident(
      { id, title, service, responders: ['lee.dev@example.com'] },
      // Half the senders name the delivery, half rely on the body digest.
      { apiToken: secrets.apiToken, idempotencyKey: index % 2 === 0 ? `${id}-delivery` : undefined },
    );
    return { kind, source: 'api', externalId: id, key: incidentKey('api', id), service, delivery };
  }
  const number = String(options.numberBase + index + 1);
  const alert: VictorOpsAlert = { number, entityId: `${options.tag}/alert-${serial}`, title, uuid: uuidOf(`${options.tag} ${serial}`) };
  const delivery =
    kind === 'victorops-escalation'
      ? victorOpsEscalation(alert, secrets)
      : kind === 'victorops-outgoing'
        ? victorOpsOutgoing(alert, secrets)
        : victorOpsTemplate(alert, secrets);
  return {
    kind,
    source: 'victorops',
    externalId: number,
    key: incidentKey('victorops', number),
    service: SAMPLE_SERVICES[kind],
    entityId: alert.entityId,
    delivery,
  };
}

/** How one delivery was answered. */
export interface Answer {
  status: number;
  body: unknown;
  sentAt: number;
  answeredAt: number;
}

/** POSTs one delivery; a network failure is answered as status 0 so callers can count it. */
export async function deliver(baseUrl: string, delivery: Delivery): Promise<Answer> {
  const sentAt = Date.now();
  try {
    const response = await fetch(`${baseUrl}${delivery.path}`, { method: 'POST', body: delivery.body, headers: delivery.headers });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body, sentAt, answeredAt: Date.now() };
  } catch (err) {
    return { status: 0, body: String(err), sentAt, answeredAt: Date.now() };
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A UUID-shaped id derived from `text`: the same scenario sends the same alert ids every run. */
function uuidOf(text: string): string {
  const hex = digest(text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Every attempt at one delivery, as a sender that retries saw them. */
export interface Sent {
  attempts: Answer[];
  /** The attempt that ended it: a 2xx or 4xx, or the last before the deadline. */
  final: Answer;
}

/**
 * Delivers as PagerDuty and VictorOps do: a 5xx or a failed connection is sent again, backing off
 * 250 ms × 2ⁿ up to 4 s, until a 2xx or 4xx or `deadlineMs` after the first attempt.
 */
export async function deliverWithRetries(baseUrl: string, delivery: Delivery, deadlineMs = 60_000): Promise<Sent> {
  const attempts: Answer[] = [];
  const giveUpAt = Date.now() + deadlineMs;
  for (let n = 0; ; n += 1) {
    const answer = await deliver(baseUrl, delivery);
    attempts.push(answer);
    if ((answer.status >= 200 && answer.status < 500) || Date.now() >= giveUpAt) return { attempts, final: answer };
    await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** n, 4000)));
  }
}

/** A shuffled copy (Fisher–Yates) driven by `random`. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
