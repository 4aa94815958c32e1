import { z } from 'zod';
import { commaList, listParts, secret } from '../env.js';
import { incidentKey } from '../shared/ids.js';
import type { EventKind, IncidentEvent, Severity } from '../shared/incident.js';
import { defineSource, firstIssue, header, hmac, parseJson, safeEqual, type Normalised, type Verdict } from './source.js';

/**
 * PagerDuty webhook v3 event types we act on, and what each means for the incident. A Map, not an
 * object literal: an event_type such as `constructor` must not find a kind on Object.prototype.
 */
const KIND_BY_EVENT_TYPE = new Map<string, EventKind>([
  ['incident.triggered', 'trigger'],
  ['incident.acknowledged', 'acknowledge'],
  ['incident.resolved', 'resolve'],
  ['incident.reopened', 'reopen'],
  ['incident.annotated', 'annotate'],
  ['incident.priority_updated', 'update'],
  ['incident.escalated', 'update'],
  ['incident.reassigned', 'update'],
]);

const reference = z.object({
  id: z.string().min(1).max(256),
  type: z.string().max(128).optional(),
  summary: z.string().max(2048).optional(),
  html_url: z.string().max(2048).optional(),
});

const incidentData = z.object({
  id: z.string().min(1).max(256),
  type: z.literal('incident'),
  title: z.string().max(8192),
  html_url: z.string().max(2048).optional(),
  number: z.number().int().optional(),
  status: z.enum(['triggered', 'acknowledged', 'resolved']).optional(),
  service: reference.nullish(),
  assignees: z.array(reference).max(500).nullish(),
  priority: reference.nullish(),
  urgency: z.enum(['high', 'low']).nullish(),
});

const noteData = z.object({
  id: z.string().min(1).max(256),
  type: z.literal('incident_note'),
  content: z.string().max(65536),
  incident: reference,
});

const envelope = z.object({
  event: z.object({
    id: z.string().min(1).max(256),
    event_type: z.string().min(1).max(128),
    resource_type: z.string().max(128).optional(),
    occurred_at: z.iso.datetime({ offset: true }),
    agent: reference.nullish(),
    data: z.record(z.string(), z.unknown()),
  }),
});

/** P1 is the worst; without a priority, urgency decides. */
function severityOf(data: z.infer<typeof incidentData>): Severity | undefined {
  const priority = data.priority?.summary?.toUpperCase();
  if (priority === 'P1') return 'critical';
  if (priority === 'P2') return 'error';
  if (priority === 'P3') return 'warning';
  if (priority === 'P4' || priority === 'P5') return 'info';
  if (data.urgency === 'high') return 'error';
  if (data.urgency === 'low') return 'warning';
  return undefined;
}

function actorOf(agent: z.infer<typeof reference> | null | undefined): string {
  if (!agent) return 'PagerDuty';
  if (agent.type === 'user_reference') return agent.summary ?? agent.id;
  return `PagerDuty (${agent.summary ?? agent.id})`;
}

/** `X-PagerDuty-Signature`: one or more `v1=<hex>`; any match against any configured secret passes. */
export function verifyPagerDutySignature(body: Buffer, signatureHeader: string | undefined, secrets: string[]): Verdict {
  if (secrets.length === 0) return { ok: true };
  if (!signatureHeader) return { ok: false, status: 401, error: 'missing X-PagerDuty-Signature' };
  const candidates = signatureHeader
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3).toLowerCase());
  if (candidates.length === 0) return { ok: false, status: 401, error: 'malformed X-PagerDuty-Signature: no v1= value' };
  const expected = secrets.map((secret) => hmac('sha256', secret, body).toString('hex'));
  let matched = false;
  for (const candidate of candidates) {
    for (const digest of expected) matched = safeEqual(candidate, digest) || matched;
  }
  return matched ? { ok: true } : { ok: false, status: 401, error: 'X-PagerDuty-Signature does not match' };
}

/** Turns one PagerDuty v3 webhook into an IncidentEvent. */
export function normalisePagerDuty(body: unknown): Normalised {
  const parsed = envelope.safeParse(body);
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const { event } = parsed.data;
  const kind = KIND_BY_EVENT_TYPE.get(event.event_type);
  if (!kind) return { ignored: `event type ${event.event_type} is not acted on` };
  const base = {
    source: 'pagerduty' as const,
    kind,
    eventId: event.id,
    actor: actorOf(event.agent),
    occurredAt: new Date(event.occurred_at).toISOString(),
  };
  if (kind === 'annotate') {
    const note = noteData.safeParse(event.data);
    if (!note.success) return { invalid: prefix('event.data', firstIssue(note.error.issues)) };
    const incident = note.data.incident;
    return {
      event: {
        ...base,
        externalId: incident.id,
        key: incidentKey('pagerduty', incident.id),
        note: note.data.content,
        links: [],
      },
    };
  }
  const data = incidentData.safeParse(event.data);
  if (!data.success) return { invalid: prefix('event.data', firstIssue(data.error.issues)) };
  const incident = data.data;
  const assignees = (incident.assignees ?? []).map((assignee) => assignee.id);
  const normalised: IncidentEvent = {
    ...base,
    externalId: incident.id,
    key: incidentKey('pagerduty', incident.id),
    title: incident.title,
    severity: severityOf(incident),
    service: incident.service?.summary,
    links: incident.html_url
      ? [{ label: `PagerDuty incident${incident.number ? ` #${incident.number}` : ''}`, url: incident.html_url }]
      : [],
    assignees: assignees.length > 0 ? assignees : undefined,
  };
  return { event: normalised };
}

function prefix(path: string, issue: { field: string; message: string }) {
  return { field: `${path}.${issue.field}`, message: issue.message };
}

/** PagerDuty webhooks v3, signed with the subscription's secret (several while rotating). */
export const pagerDutySource = defineSource({
  name: 'pagerduty',
  label: 'PagerDuty',
  path: '/webhooks/pagerduty',
  contentTypes: ['application/json'],
  variables: {
    /** Signing secret(s), comma-separated for rotation; unset skips verification. */
    PAGERDUTY_WEBHOOK_SECRET: secret(commaList, listParts),
  },
  settings: (values) => ({ secrets: values.PAGERDUTY_WEBHOOK_SECRET }),
  verify: (req, settings) => verifyPagerDutySignature(req.body, header(req, 'x-pagerduty-signature'), settings.secrets),
  normalise(req) {
    const json = parseJson(req.body);
    if ('invalid' in json) return json;
    return normalisePagerDuty(json.value);
  },
});
