import JSON5 from 'json5';
import { z } from 'zod';
import { OWN_MONITORING_TOOL } from '../shared/echo.js';
import { incidentKey } from '../shared/ids.js';
import type { EventKind, IncidentEvent, Link, Severity } from '../shared/incident.js';
import { optionalString, secret } from '../env.js';
import { defineSource, header, hmac, safeEqual, type InboundRequest, type Normalised, type Verdict } from './source.js';

const MAX_FIELD = 20480;

/**
 * Far more fields than an escalation webhook carries (about 30, plus annotations). Checked on the raw
 * bytes before the signature, whose cost grows with the field count: a 1 MiB form of 200,000 to
 * 350,000 fields held the event loop for 0.3 to 3 s before it was refused.
 */
export const MAX_FORM_FIELDS = 1000;

/** Whether the form has more than MAX_FORM_FIELDS `&`-separated fields, without parsing it. */
function tooManyFields(body: Buffer): boolean {
  let separators = 0;
  for (let at = body.indexOf(0x26); at !== -1; at = body.indexOf(0x26, at + 1)) {
    separators += 1;
    if (separators >= MAX_FORM_FIELDS) return true;
  }
  return false;
}

/** A value as VictorOps sends it: string, number, boolean or null; anything else is refused. */
const scalar = z
  .union([z.string().max(MAX_FIELD), z.number(), z.boolean(), z.null()])
  .transform((value) => (value === null || value === '' ? undefined : String(value)));

/** Strips the one layer of JSON quoting escalation webhooks put around alert values. */
export function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      const inner: unknown = JSON.parse(value);
      if (typeof inner === 'string') return inner;
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}

/** Escalation-webhook fields in arrival order, values decoded but still quoted as sent. */
function formFields(body: Buffer): [string, string][] {
  return [...new URLSearchParams(body.toString('utf8')).entries()];
}

/**
 * `X-VictorOps-Signature` = base64(HMAC-SHA1(key, url + key1 + value1 + key2 + value2...)), keys
 * sorted, values decoded exactly as received (quotes included), url exactly as configured.
 */
export function victorOpsSignature(authKey: string, webhookUrl: string, fields: [string, string][]): string {
  const sorted = [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const material = webhookUrl + sorted.map(([key, value]) => key + value).join('');
  return hmac('sha1', authKey, material).toString('base64');
}

function isForm(req: InboundRequest): boolean {
  return (header(req, 'content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function verifyToken(req: InboundRequest, token: string): Verdict {
  const fromQuery = typeof req.query.token === 'string' ? req.query.token : undefined;
  const bearer = header(req, 'authorization')?.replace(/^Bearer\s+/i, '');
  const offered = header(req, 'x-warroom-token') ?? fromQuery ?? bearer;
  if (!offered) return { ok: false, status: 401, error: 'missing token (X-Warroom-Token header or ?token=)' };
  return safeEqual(offered, token) ? { ok: true } : { ok: false, status: 401, error: 'token does not match' };
}

/** What VictorOps webhooks are checked against; each unset part skips its check. */
export interface VictorOpsSettings {
  /** The escalation webhook's auth key, which signs form posts. */
  key?: string;
  /** The webhook URL exactly as configured in VictorOps (the signature covers it). */
  url?: string;
  /** Shared token of the (unsigned) outgoing JSON webhooks. */
  token?: string;
}

/** Escalation webhooks are signed when a key is configured; JSON webhooks carry a shared token. */
export function verifyVictorOps(req: InboundRequest, settings: VictorOpsSettings): Verdict {
  if (isForm(req) && settings.key && settings.url) {
    if (tooManyFields(req.body)) return { ok: false, status: 400, error: `more than ${MAX_FORM_FIELDS} form fields` };
    const offered = header(req, 'x-victorops-signature');
    if (!offered) return { ok: false, status: 401, error: 'missing X-VictorOps-Signature' };
    const expected = victorOpsSignature(settings.key, settings.url, formFields(req.body));
    return safeEqual(offered.trim(), expected) ? { ok: true } : { ok: false, status: 401, error: 'X-VictorOps-Signature does not match' };
  }
  if (settings.token) return verifyToken(req, settings.token);
  return { ok: true };
}

function kindOfMessageType(messageType: string | undefined): EventKind {
  switch ((messageType ?? '').toUpperCase()) {
    case 'RECOVERY':
    case 'OK':
    case 'UP':
      return 'resolve';
    case 'ACKNOWLEDGEMENT':
      return 'acknowledge';
    case 'INFO':
      return 'annotate';
    default:
      return 'trigger';
  }
}

function kindOfPhase(phase: string | undefined): EventKind | undefined {
  switch ((phase ?? '').toUpperCase()) {
    case 'UNACKED':
      return 'trigger';
    case 'ACKED':
      return 'acknowledge';
    case 'RESOLVED':
      return 'resolve';
    default:
      return undefined;
  }
}

function severityOf(state: string | undefined): Severity | undefined {
  switch ((state ?? '').toUpperCase()) {
    case 'CRITICAL':
    case 'DOWN':
      return 'critical';
    case 'WARNING':
      return 'warning';
    case 'INFO':
      return 'info';
    default:
      return undefined;
  }
}

/** VictorOps timestamps are Unix milliseconds (alerts) or seconds (REST); anything else is "now". */
function timeOf(value: string | undefined, now: Date): string {
  const number = Number(value);
  if (!value || !Number.isFinite(number) || number <= 0) return now.toISOString();
  const ms = number < 1e11 ? number * 1000 : number;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? now.toISOString() : date.toISOString();
}

function annotationLinks(fields: Record<string, string | undefined>): Link[] {
  return Object.entries(fields)
    .filter(([key, value]) => key.startsWith('vo_annotate.u.') && value && /^https?:\/\//.test(value))
    .map(([key, value]) => ({ label: key.slice('vo_annotate.u.'.length), url: value as string }));
}

const incidentNumber = z
  .string()
  .trim()
  .regex(/^#?[A-Za-z0-9_.-]{1,128}$/, 'expected an incident number')
  .transform((value) => value.replace(/^#/, ''));

function event(fields: Omit<IncidentEvent, 'source' | 'key'>): Normalised {
  return { event: { ...fields, source: 'victorops', key: incidentKey('victorops', fields.externalId) } };
}

/** (a) Escalation webhook: form fields, alert values JSON-quoted. */
function normaliseEscalation(body: Buffer, now: Date): Normalised {
  const received = formFields(body).map(([key, value]): [string, string] => [key, unquote(value)]);
  // Known fields are matched case-insensitively; annotation titles keep the case they were sent in.
  const fields: Record<string, string | undefined> = Object.fromEntries(received.map(([key, value]) => [key.toLowerCase(), value]));
  const number = incidentNumber.safeParse(fields.incident ?? '');
  if (!number.success) return { invalid: { field: 'incident', message: number.error.issues[0]?.message ?? 'required' } };
  const kind = kindOfMessageType(fields.message_type ?? fields.entity_state);
  return event({
    externalId: number.data,
    kind,
    eventId: `escalation-${number.data}-${fields.vo_uuid ?? fields.timestamp ?? kind}`,
    title: fields.entity_display_name || fields.summary || fields.state_message || `VictorOps incident #${number.data}`,
    severity: severityOf(fields.entity_state),
    service: fields.monitor_name || fields.routing_key,
    links: annotationLinks(Object.fromEntries(received)),
    actor: 'VictorOps',
    occurredAt: timeOf(fields.timestamp ?? fields.vo_alert_rcv_time, now),
    note: kind === 'annotate' ? fields.state_message : undefined,
    details: compact({
      entity_id: fields.entity_id,
      routing_key: fields.routing_key,
      monitoring_tool: fields.monitoring_tool,
      state_message: fields.state_message,
    }),
  });
}

const flatShape = z.record(z.string().max(512), scalar);

/** (b1) Outgoing webhook with every `STATE.*` / `ALERT.*` / `INCIDENT.*` variable, flat. */
function normaliseFlat(fields: Record<string, string | undefined>, now: Date): Normalised {
  const rawId = fields['INCIDENT.INCIDENT_ID'] ?? fields['STATE.INCIDENT_NAME'] ?? fields['INCIDENT.INCIDENT_NAME'];
  const number = incidentNumber.safeParse(rawId ?? '');
  if (!number.success) return { invalid: { field: 'INCIDENT.INCIDENT_ID', message: 'expected an incident number' } };
  const phase = fields['STATE.CURRENT_ALERT_PHASE'] ?? fields['INCIDENT.CURRENT_PHASE'];
  const kind = kindOfPhase(phase);
  if (!kind) return { invalid: { field: 'STATE.CURRENT_ALERT_PHASE', message: 'expected UNACKED, ACKED or RESOLVED' } };
  const actor =
    kind === 'acknowledge'
      ? (fields['STATE.ACKED_BY'] ?? fields['ALERT.ack_author'])
      : kind === 'resolve'
        ? (fields['STATE.RESOLVED_BY'] ?? fields['ALERT.ack_author'])
        : undefined;
  const state = fields['STATE.CURRENT_STATE'] ?? fields['INCIDENT.ENTITY_STATE'] ?? fields['ALERT.entity_state'];
  return event({
    externalId: number.data,
    kind,
    eventId: `outgoing-${number.data}-${kind}-${fields['ALERT.VO_UUID'] ?? fields['STATE.LAST_UUID'] ?? fields['STATE.LAST_TIMESTAMP'] ?? ''}`,
    title:
      fields['INCIDENT.ENTITY_DISPLAY_NAME'] ??
      fields['ALERT.entity_display_name'] ??
      fields['STATE.SERVICE'] ??
      `VictorOps incident #${number.data}`,
    severity: kind === 'trigger' ? severityOf(state) : undefined,
    service: fields['ALERT.monitor_name'] ?? fields['INCIDENT.MONITOR_NAME'] ?? fields['ALERT.routing_key'],
    links: [],
    actor: actor ?? 'VictorOps',
    occurredAt: timeOf(fields['STATE.LAST_TIMESTAMP'] ?? fields['INCIDENT.INCIDENT_TIMESTAMP'], now),
    note: kind === 'acknowledge' ? fields['STATE.ACK_MSG'] : undefined,
    details: compact({
      entity_id: fields['ALERT.entity_id'] ?? fields['STATE.ENTITY_ID'],
      routing_key: fields['ALERT.routing_key'],
      monitoring_tool: fields['ALERT.monitoring_tool'],
      state_message: fields['ALERT.state_message'],
    }),
  });
}

/** (b2) Outgoing webhook rendered from warroom's recommended template (README). */
function normaliseTemplate(fields: Record<string, string | undefined>, now: Date): Normalised {
  const number = incidentNumber.safeParse(fields.incident_number ?? '');
  if (!number.success) return { invalid: { field: 'incident_number', message: 'expected an incident number' } };
  const kind = kindOfPhase(fields.phase);
  if (!kind) return { invalid: { field: 'phase', message: 'expected UNACKED, ACKED or RESOLVED' } };
  const ackUser = fields.ack_user && fields.ack_user !== 'SYSTEM' ? fields.ack_user : undefined;
  return event({
    externalId: number.data,
    kind,
    eventId: `template-${number.data}-${kind}-${fields.alert_uuid ?? ''}`,
    title: fields.entity_display_name ?? `VictorOps incident #${number.data}`,
    severity: kind === 'trigger' ? severityOf(fields.current_state) : undefined,
    service: fields.monitor_name ?? fields.routing_key,
    links: [],
    actor: kind === 'trigger' ? 'VictorOps' : (ackUser ?? 'VictorOps'),
    occurredAt: timeOf(fields.incident_timestamp, now),
    note: kind === 'acknowledge' ? fields.ack_msg : undefined,
    details: compact({
      entity_id: fields.entity_id,
      routing_key: fields.routing_key,
      monitoring_tool: fields.monitoring_tool,
      state_message: fields.state_message,
    }),
  });
}

const monitorShape = z.object({
  monitorName: z.string().trim().min(1).max(512),
  state: z.string().trim().min(1).max(64),
});

/** (b3) The StatusCast-style `{ monitorName, state }` webhook: one incident per monitor. */
function normaliseMonitor(value: unknown, now: Date): Normalised {
  const parsed = monitorShape.safeParse(value);
  if (!parsed.success)
    return { invalid: { field: String(parsed.error.issues[0]?.path[0] ?? 'body'), message: parsed.error.issues[0]?.message ?? 'invalid' } };
  const { monitorName, state } = parsed.data;
  const kind = kindOfMessageType(state);
  return event({
    externalId: `monitor:${monitorName}`,
    kind: kind === 'annotate' ? 'trigger' : kind,
    eventId: `monitor-${monitorName}-${state.toUpperCase()}`,
    title: `${monitorName} is ${state.toUpperCase()}`,
    severity: severityOf(state),
    service: monitorName,
    links: [],
    actor: 'VictorOps',
    occurredAt: now.toISOString(),
  });
}

function compact(record: Record<string, string | undefined>): Record<string, string> | undefined {
  const entries = Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

// Defined in shared/echo.ts, which the VictorOps activity sets it from; still exported here, where it is read.
export { OWN_MONITORING_TOOL };

function isEcho(result: Normalised): boolean {
  return 'event' in result && result.event.details?.monitoring_tool === OWN_MONITORING_TOOL;
}

/** Turns any of the VictorOps webhook shapes into an IncidentEvent; echoes of our own posts are ignored. */
export function normaliseVictorOps(req: InboundRequest, now = new Date()): Normalised {
  const result = normaliseShape(req, now);
  return isEcho(result) ? { ignored: 'echo of a post warroom made itself' } : result;
}

function normaliseShape(req: InboundRequest, now: Date): Normalised {
  if (isForm(req)) return normaliseEscalation(req.body, now);
  let value: unknown;
  try {
    // JSON5 also reads the relaxed `{ monitorName: "x", state: "y" }` form VictorOps' docs show.
    value = JSON5.parse(req.body.toString('utf8'));
  } catch (err) {
    return { invalid: { field: 'body', message: `malformed JSON: ${(err as Error).message}` } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { invalid: { field: 'body', message: 'expected a JSON object' } };
  }
  const record = value as Record<string, unknown>;
  if (record.event === 'chat') return { ignored: 'chat messages are not acted on' };
  if ('monitorName' in record) return normaliseMonitor(record, now);
  const flat = flatShape.safeParse(record);
  if (!flat.success) {
    const issue = flat.error.issues[0];
    return { invalid: { field: issue?.path.map(String).join('.') || 'body', message: issue?.message ?? 'invalid' } };
  }
  const fields = flat.data;
  if (Object.keys(fields).some((key) => key.startsWith('STATE.') || key.startsWith('INCIDENT.'))) {
    return normaliseFlat(fields, now);
  }
  if ('incident_number' in fields) return normaliseTemplate(fields, now);
  return {
    invalid: {
      field: 'body',
      message: 'unrecognised VictorOps payload: expected STATE.*/INCIDENT.* fields, the warroom template, or { monitorName, state }',
    },
  };
}

/** VictorOps / Splunk On-Call: the signed escalation webhook (form) and the outgoing webhooks (JSON). */
export const victorOpsSource = defineSource({
  name: 'victorops',
  label: 'VictorOps',
  path: '/webhooks/victorops',
  contentTypes: ['application/json', 'application/x-www-form-urlencoded', 'text/plain'],
  variables: {
    VICTOROPS_WEBHOOK_KEY: secret(optionalString),
    VICTOROPS_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
    VICTOROPS_WEBHOOK_TOKEN: secret(optionalString),
  },
  settings: (values): VictorOpsSettings => ({
    key: values.VICTOROPS_WEBHOOK_KEY,
    url: values.VICTOROPS_WEBHOOK_URL,
    token: values.VICTOROPS_WEBHOOK_TOKEN,
  }),
  check(values, problem) {
    if (values.VICTOROPS_WEBHOOK_KEY && !values.VICTOROPS_WEBHOOK_URL) {
      problem('VICTOROPS_WEBHOOK_URL', 'required when VICTOROPS_WEBHOOK_KEY is set (the URL exactly as configured in VictorOps)');
    }
  },
  verify: verifyVictorOps,
  normalise: (req) => normaliseVictorOps(req),
  // verifyVictorOps checks a signature only on form posts: without a token, JSON posts pass unchecked.
  unchecked: (settings) =>
    settings.key && !settings.token ? 'JSON webhooks (outgoing webhooks) are unchecked: set VICTOROPS_WEBHOOK_TOKEN' : undefined,
});
