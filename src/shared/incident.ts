/**
 * The one shape every alerting tool's webhook is normalised into. Imported by workflow code:
 * types and pure functions only, nothing from Node.
 */

/** A registered source's name (`pagerduty`, `alertmanager`...); the registry in src/sources/ lists them. */
export type SourceName = string;

/** PagerDuty Events v2 vocabulary: the most widely understood severity scale in this field. */
export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const EVENT_KINDS = ['trigger', 'acknowledge', 'resolve', 'reopen', 'annotate', 'update'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface Link {
  label: string;
  url: string;
}

/** One thing that happened to an incident, as told by a source. Never holds a secret. */
export interface IncidentEvent {
  source: SourceName;
  /** The incident's id in the source (PagerDuty incident id, VictorOps incident number, API id). */
  externalId: string;
  /** `<source>-<externalId>` made safe for Slack channel names and Jira labels. */
  key: string;
  kind: EventKind;
  /** The source's id for this delivery; repeats of one delivery share it, so the workflow drops them. */
  eventId: string;
  title?: string;
  severity?: Severity;
  service?: string;
  links: Link[];
  /** Who did it: a person's name or e-mail, or the source itself for automation. */
  actor: string;
  /** ISO-8601 time the source says the event happened. */
  occurredAt: string;
  note?: string;
  /** E-mail addresses of people to bring into the incident. */
  responders?: string[];
  /** Slack user ids of people to bring into the room (the person who declared it with `/incident`). */
  slackResponders?: string[];
  /** The source's own ids of the people assigned (PagerDuty user ids), resolved to e-mails later. */
  assignees?: string[];
  details?: Record<string, string>;
  /** Set on changes made through warroom (`slack`, `api`, `signal`); webhooks leave it unset. */
  via?: string;
}

/** Where an event came from: the tool that sent it, or the way into warroom. */
export function originOf(event: Pick<IncidentEvent, 'source' | 'via'>): string {
  return event.via ?? event.source;
}

/** What another service (or the API) sends to acknowledge or resolve an incident. */
export interface ActorNote {
  by: string;
  note?: string;
  /** Where it came from (`slack`, `api`, a service name); a tool is never told about its own change. */
  via?: string;
}

/** A status update for the timeline (`/incident note`): who wrote it, what, and through what. */
export interface IncidentNote {
  by: string;
  note: string;
  via?: string;
  /** The sender's id for this note: a repeat with the same id is recorded once. */
  id?: string;
}

export interface TimelineEntry {
  at: string;
  actor: string;
  what: string;
  outcome: 'ok' | 'skipped' | 'failed' | 'ignored' | 'pending';
  detail?: string;
}

/**
 * A step's name, the key of its record in `steps`: the steps the workflow runs are the keys of the
 * step table (`src/workflows/steps.ts`), where a vendor's steps are declared; records of older
 * versions may hold names the table no longer has.
 */
export type StepName = string;

export interface StepRecord {
  status: 'pending' | 'done' | 'skipped' | 'failed';
  detail?: string;
  /** What the step created (ticket key, channel id...), so a replay never creates it again. */
  ref?: string;
  url?: string;
  name?: string;
}

/** What the incident query returns, and what `GET /incidents/:key` answers. */
export interface IncidentState {
  key: string;
  workflowId: string;
  source: SourceName;
  externalId: string;
  title: string;
  severity?: Severity;
  service?: string;
  status: IncidentStatus;
  triggeredAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  /** How many times this run has resolved the incident (a reopen and resolve counts again): names each postmortem. */
  resolves?: number;
  links: Link[];
  responders: string[];
  /** Slack user ids invited along with `responders` (people who declared the incident in Slack). */
  slackResponders?: string[];
  /** Source details worth keeping (VictorOps entity_id, routing key...); never secrets. */
  details?: Record<string, string>;
  steps: Partial<Record<StepName, StepRecord>>;
  /** The latest entries of the record; the whole record stays in the run's Temporal history. */
  timeline: TimelineEntry[];
  /** How many older entries were dropped from `timeline` to keep the state small. */
  olderEntries?: number;
  /** Repeated alerts folded into this incident (same incident triggered again while open). */
  repeatCount: number;
  /** The incident's status page: its monitor, and whether it shares the monitor's incident. */
  statusPage?: { monitor: string; combined: boolean };
  /** Steps that failed for good, by name, until a retry makes them succeed. */
  failures?: Partial<Record<StepName, StepFailureRecord>>;
  /** Escalation when nobody acknowledges: how many there were, and the current opening's wait (its end, whether it escalated). */
  escalation?: { count: number; dueAt?: string; afterMs?: number; escalated?: boolean };
  /** Where the reminder clock starts: the last reminder, or the reopening (absent: when the incident triggered). */
  remindedAt?: string;
  /** When someone last posted a status update (`/incident note`): a reminder is only sent when none came since the last. */
  lastUpdateAt?: string;
  /** Who posted that update. */
  lastUpdateBy?: string;
}

export interface StepFailureRecord {
  what: string;
  error: string;
  /** The PagerDuty alert raised for it: `open` until a retry succeeds, `none` when none could be raised. */
  alert: 'open' | 'resolved' | 'none';
}
