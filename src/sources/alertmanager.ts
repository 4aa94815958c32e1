/**
 * Prometheus Alertmanager's webhook (`webhook_configs`, payload version 4): one incident per alert
 * group. `firing` triggers (the first opens the incident, later ones are repeats), `resolved`
 * resolves. Alertmanager re-sends a group every group_interval / repeat_interval, so a delivery's
 * id is a digest of the group's state: a re-send of the same state is a duplicate, a change is not.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { optionalString, secret } from '../env.js';
import { incidentKey } from '../shared/ids.js';
import type { Link, Severity } from '../shared/incident.js';
import { defaultTitle, truncate } from '../shared/text.js';
import { defineSource, firstIssue, parseJson, verifyBearer, type Normalised } from './source.js';

const NAME = 'alertmanager';
/** Distinct alert-rule links kept from one group (one per rule is typical; a big group repeats them). */
const MAX_GENERATOR_LINKS = 5;
const MAX_TITLE = 1024;
const MAX_DETAIL = 1024;

/** Prometheus label and annotation sets: string to string. */
const labelSet = z.record(z.string().max(1024), z.string().max(65_536));
/** RFC 3339 as Go writes it: up to nanoseconds, `Z` or an offset; a firing alert ends at `0001-01-01T00:00:00Z`. */
const time = z.iso.datetime({ offset: true });
const status = z.enum(['firing', 'resolved']);

const alert = z.object({
  status,
  labels: labelSet.default({}),
  annotations: labelSet.default({}),
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().min(1).max(256),
});

/** The documented version-4 body; fields beyond these pass through unread. */
const notification = z.object({
  version: z.literal('4', { error: 'expected "4": warroom reads version 4 of the Alertmanager webhook' }),
  groupKey: z.string().min(1).max(8192),
  status,
  receiver: z.string().max(1024).optional(),
  alerts: z.array(alert).min(1),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().max(4096).optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
});

type Notification = z.infer<typeof notification>;

/** Common spellings of severity labels, onto warroom's scale (PagerDuty Events v2). A Map: no Object.prototype names. */
const SEVERITY_BY_LABEL = new Map<string, Severity>([
  ['page', 'critical'],
  ['critical', 'critical'],
  ['p1', 'critical'],
  ['error', 'error'],
  ['high', 'error'],
  ['major', 'error'],
  ['p2', 'error'],
  ['warning', 'warning'],
  ['warn', 'warning'],
  ['medium', 'warning'],
  ['p3', 'warning'],
  ['info', 'info'],
  ['low', 'info'],
  ['none', 'info'],
  ['p4', 'info'],
  ['p5', 'info'],
]);

/** warroom's severity for a `severity` label value; undefined for a spelling it does not know. */
export function severityOfLabel(value: string | undefined): Severity | undefined {
  return value === undefined ? undefined : SEVERITY_BY_LABEL.get(value.trim().toLowerCase());
}

/** A label set as `alertname=X, env=prod`, in the order Alertmanager sent it. */
/** Labels as one line, `key=value, …`. */
export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

function titleOf(body: Notification): string {
  const title =
    body.commonAnnotations.summary?.trim() ||
    body.commonLabels.alertname?.trim() ||
    labelText(body.groupLabels) ||
    defaultTitle({ source: NAME, externalId: body.groupKey });
  return truncate(title, MAX_TITLE);
}

/** An http(s) URL, the only kind a link may carry. */
export function isWebUrl(value: string | undefined): value is string {
  if (!value || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

/** The Alertmanager UI first (the tool's own page), then each distinct rule's graph (generatorURL). */
function linksOf(body: Notification): Link[] {
  const links: Link[] = isWebUrl(body.externalURL) ? [{ label: 'Alertmanager', url: body.externalURL }] : [];
  const generators = [...new Set(body.alerts.map((entry) => entry.generatorURL).filter(isWebUrl))].slice(0, MAX_GENERATOR_LINKS);
  generators.forEach((url, index) => links.push({ label: generators.length > 1 ? `Alert source ${index + 1}` : 'Alert source', url }));
  return links;
}

function detailsOf(body: Notification): Record<string, string> {
  const firing = body.alerts.filter((entry) => entry.status === 'firing').length;
  const details: Record<string, string | undefined> = {
    receiver: body.receiver,
    alertname: body.commonLabels.alertname,
    group_labels: labelText(body.groupLabels) || undefined,
    runbook_url: body.commonAnnotations.runbook_url,
    description: body.commonAnnotations.description,
    alerts_firing: String(firing),
    alerts_resolved: String(body.alerts.length - firing),
    truncated_alerts: body.truncatedAlerts ? String(body.truncatedAlerts) : undefined,
  };
  return compactDetails(details);
}

/** Details worth keeping: the ones set and not blank, each within MAX_DETAIL characters. */
export function compactDetails(details: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(details)
      .filter((entry): entry is [string, string] => Boolean(entry[1]?.trim()))
      .map(([key, value]) => [key, truncate(value, MAX_DETAIL)]),
  );
}

/** Milliseconds of the times that are set; Go's zero time (`0001-01-01T00:00:00Z`) means "not yet". */
export function instants(times: readonly (string | undefined)[]): number[] {
  return times
    .filter((value): value is string => value !== undefined && !value.startsWith('0001-'))
    .map((value) => Date.parse(value))
    .filter(Number.isFinite);
}

/** Firing: when the trouble began (the earliest start of a firing alert). Resolved: when it ended (the latest end). */
function occurredAtOf(body: Notification, now: Date): string {
  if (body.status === 'firing') {
    const starts = instants(body.alerts.filter((entry) => entry.status === 'firing').map((entry) => entry.startsAt));
    return new Date(starts.length > 0 ? Math.min(...starts) : now.getTime()).toISOString();
  }
  const ends = instants(body.alerts.map((entry) => entry.endsAt));
  return new Date(ends.length > 0 ? Math.max(...ends) : now.getTime()).toISOString();
}

/**
 * A digest of the group's state: its status and, per alert (by fingerprint), status, start and
 * end. Alertmanager's re-send of an unchanged group has the same digest; any change gives another.
 */
export function groupStateDigest(body: Pick<Notification, 'groupKey' | 'status' | 'alerts' | 'truncatedAlerts'>): string {
  const alerts = body.alerts.map((entry) => JSON.stringify([entry.fingerprint, entry.status, entry.startsAt, entry.endsAt ?? ''])).sort();
  const state = JSON.stringify([body.groupKey, body.status, body.truncatedAlerts ?? 0, alerts]);
  return createHash('sha256').update(state).digest('hex').slice(0, 32);
}

/** Turns one Alertmanager notification (an alert group) into a trigger or resolve of the group's incident. */
export function normaliseAlertmanager(value: unknown, now = new Date()): Normalised {
  const parsed = notification.safeParse(value);
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const body = parsed.data;
  const kind = body.status === 'firing' ? 'trigger' : 'resolve';
  return {
    event: {
      source: NAME,
      externalId: body.groupKey,
      key: incidentKey(NAME, body.groupKey),
      kind,
      eventId: `${NAME}-${body.status}-${groupStateDigest(body)}`,
      title: titleOf(body),
      severity: kind === 'trigger' ? severityOfLabel(body.commonLabels.severity) : undefined,
      service: body.commonLabels.service || body.commonLabels.job || undefined,
      links: linksOf(body),
      actor: 'Alertmanager',
      occurredAt: occurredAtOf(body, now),
      details: detailsOf(body),
    },
  };
}

/** Prometheus Alertmanager, `Authorization: Bearer <ALERTMANAGER_WEBHOOK_TOKEN>` from its `http_config`. */
export const alertmanagerSource = defineSource({
  name: NAME,
  label: 'Alertmanager',
  path: '/webhooks/alertmanager',
  contentTypes: ['application/json'],
  variables: {
    /** Bearer token Alertmanager sends (`http_config.authorization.credentials`); unset accepts any. */
    ALERTMANAGER_WEBHOOK_TOKEN: secret(optionalString),
  },
  settings: (values) => ({ token: values.ALERTMANAGER_WEBHOOK_TOKEN }),
  authenticate: (headers, settings) => verifyBearer(headers, settings.token),
  normalise(req) {
    const json = parseJson(req.body);
    return 'invalid' in json ? json : normaliseAlertmanager(json.value);
  },
});
