/**
 * Grafana Alerting's webhook contact point (payload version 1): one incident per notification
 * group. It is Alertmanager's shape (Grafana's alerting runs an Alertmanager) plus `orgId`, `title`,
 * `state`, `message` and per alert `silenceURL`, `dashboardURL`, `panelURL`, `values`. `firing`
 * triggers (the first opens the incident, later ones are repeats), `resolved` resolves; a re-send
 * of an unchanged group (repeat_interval) is the same delivery.
 */
import { z } from 'zod';
import { optionalString, secret } from '../env.js';
import { incidentKey } from '../shared/ids.js';
import type { Link } from '../shared/incident.js';
import { defaultTitle, truncate } from '../shared/text.js';
import { compactDetails, groupStateDigest, instants, isWebUrl, labelText, severityOfLabel } from './alertmanager.js';
import { defineSource, firstIssue, parseJson, verifyBearer, type Normalised } from './source.js';

const NAME = 'grafana';
/** Distinct links of each kind kept from one group (one rule and dashboard is typical). */
const MAX_LINKS_PER_KIND = 3;
const MAX_TITLE = 1024;

const labelSet = z.record(z.string().max(1024), z.string().max(65_536));
/** RFC 3339 as Go writes it; a firing alert ends at `0001-01-01T00:00:00Z`. */
const time = z.iso.datetime({ offset: true });
const status = z.enum(['firing', 'resolved']);
/** Grafana sends `""` for a link it does not have (no dashboard, no panel). */
const link = z.string().max(4096).optional();

const alert = z.object({
  status,
  labels: labelSet.default({}),
  annotations: labelSet.default({}),
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: link,
  fingerprint: z.string().min(1).max(256),
  silenceURL: link,
  dashboardURL: link,
  panelURL: link,
});

/** The documented version-1 body; fields beyond these (`values`, `valueString`, `message`, `state`...) pass through unread. */
const notification = z.object({
  version: z.literal('1', { error: 'expected "1": warroom reads version 1 of the Grafana webhook contact point' }),
  groupKey: z.string().min(1).max(8192),
  status,
  receiver: z.string().max(1024).optional(),
  orgId: z.number().int().min(0).optional(),
  alerts: z.array(alert).min(1),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().max(4096).optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  title: z.string().max(65_536).optional(),
});

type Notification = z.infer<typeof notification>;

/** Grafana's own title without its count prefix (`[FIRING:2] `, `[RESOLVED] `), which changes as alerts come and go. */
function grafanaTitle(title: string | undefined): string | undefined {
  return title?.replace(/^\s*\[[A-Z]+(?::\d+)?\]\s*/, '').trim() || undefined;
}

/** The common summary, else Grafana's title, else the alert name, else the group labels. */
function titleOf(body: Notification, externalId: string): string {
  const title =
    body.commonAnnotations.summary?.trim() ||
    grafanaTitle(body.title) ||
    body.commonLabels.alertname?.trim() ||
    labelText(body.groupLabels) ||
    defaultTitle({ source: NAME, externalId });
  return truncate(title, MAX_TITLE);
}

/** Grafana first, then each distinct alert rule, dashboard and panel. */
function linksOf(body: Notification): Link[] {
  const links: Link[] = isWebUrl(body.externalURL) ? [{ label: 'Grafana', url: body.externalURL }] : [];
  const kinds = [
    ['Alert rule', (entry: Notification['alerts'][number]) => entry.generatorURL],
    ['Dashboard', (entry: Notification['alerts'][number]) => entry.dashboardURL],
    ['Panel', (entry: Notification['alerts'][number]) => entry.panelURL],
  ] as const;
  for (const [label, urlOf] of kinds) {
    const urls = [...new Set(body.alerts.map(urlOf).filter(isWebUrl))].slice(0, MAX_LINKS_PER_KIND);
    urls.forEach((url, index) => links.push({ label: urls.length > 1 ? `${label} ${index + 1}` : label, url }));
  }
  return links;
}

function detailsOf(body: Notification): Record<string, string> {
  const firing = body.alerts.filter((entry) => entry.status === 'firing').length;
  const details: Record<string, string | undefined> = {
    receiver: body.receiver,
    org_id: body.orgId === undefined ? undefined : String(body.orgId),
    alertname: body.commonLabels.alertname,
    folder: body.commonLabels.grafana_folder,
    group_labels: labelText(body.groupLabels) || undefined,
    runbook_url: body.commonAnnotations.runbook_url,
    description: body.commonAnnotations.description,
    alerts_firing: String(firing),
    alerts_resolved: String(body.alerts.length - firing),
    truncated_alerts: body.truncatedAlerts ? String(body.truncatedAlerts) : undefined,
  };
  return compactDetails(details);
}

/** Firing: the earliest start of a firing alert. Resolved: the latest end. */
function occurredAtOf(body: Notification, now: Date): string {
  const times =
    body.status === 'firing'
      ? instants(body.alerts.filter((entry) => entry.status === 'firing').map((entry) => entry.startsAt))
      : instants(body.alerts.map((entry) => entry.endsAt));
  if (times.length === 0) return now.toISOString();
  return new Date(body.status === 'firing' ? Math.min(...times) : Math.max(...times)).toISOString();
}

/**
 * Grafana's "Test" button on a contact point sends a made-up alert (`TestAlert` from instance
 * `Grafana`): answered 200 so the test shows success, without opening a war room for it.
 */
function isTestNotification(body: Notification): boolean {
  return body.alerts.every((entry) => entry.labels.alertname === 'TestAlert' && entry.labels.instance === 'Grafana');
}

/**
 * Turns one Grafana notification (a notification group) into a trigger or resolve of the group's
 * incident. Grafana's group key does not name the organisation, so the org id is part of the id:
 * two organisations' groups never share an incident.
 */
export function normaliseGrafana(value: unknown, now = new Date()): Normalised {
  const parsed = notification.safeParse(value);
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const body = parsed.data;
  if (isTestNotification(body)) return { ignored: "Grafana's test notification (TestAlert from instance Grafana): no incident opened" };
  const externalId = body.orgId === undefined ? body.groupKey : `${body.orgId}/${body.groupKey}`;
  const kind = body.status === 'firing' ? 'trigger' : 'resolve';
  return {
    event: {
      source: NAME,
      externalId,
      key: incidentKey(NAME, externalId),
      kind,
      eventId: `${NAME}-${body.status}-${groupStateDigest({ ...body, groupKey: externalId })}`,
      title: titleOf(body, externalId),
      severity: kind === 'trigger' ? severityOfLabel(body.commonLabels.severity) : undefined,
      service: body.commonLabels.service || body.commonLabels.job || undefined,
      links: linksOf(body),
      actor: 'Grafana',
      occurredAt: occurredAtOf(body, now),
      details: detailsOf(body),
    },
  };
}

/** Grafana Alerting's webhook contact point, `Authorization: Bearer <GRAFANA_WEBHOOK_TOKEN>`. */
export const grafanaSource = defineSource({
  name: NAME,
  label: 'Grafana',
  path: '/webhooks/grafana',
  contentTypes: ['application/json'],
  variables: {
    /** Credentials of the contact point's Authorization header (scheme Bearer); unset accepts any. */
    GRAFANA_WEBHOOK_TOKEN: secret(optionalString),
  },
  settings: (values) => ({ token: values.GRAFANA_WEBHOOK_TOKEN }),
  authenticate: (headers, settings) => verifyBearer(headers, settings.token),
  normalise(req) {
    const json = parseJson(req.body);
    return 'invalid' in json ? json : normaliseGrafana(json.value);
  },
});
