import type { IncidentState, IncidentStatus, Link, Severity, SourceName } from '../shared/incident.js';

/** What a step activity knows of the incident: never a secret, only what the timeline may show. */
export interface StepInput {
  key: string;
  workflowId: string;
  source: SourceName;
  externalId: string;
  title: string;
  severity?: Severity;
  service?: string;
  status: IncidentStatus;
  links: Link[];
  responders: string[];
  /** Slack user ids invited as they are (the person who declared the incident in Slack). */
  slackResponders?: string[];
  assignees: string[];
  actor?: string;
  note?: string;
  /** Source details (VictorOps entity_id...). */
  details?: Record<string, string>;
  /** E-mails of the source's assignees, looked up for invitations. */
  inviteEmails?: string[];
  /** What earlier steps created (ticket key, channel id...), so later steps can refer to them. */
  refs: Record<string, string>;
  /** The incident's Jira ticket, once it exists. */
  ticket?: { key: string; url?: string };
  /** The incident's Slack channel, once it exists. */
  channel?: { id: string; name?: string; url?: string };
  /** The pinned summary message in the channel, once posted. */
  summary?: { channel: string; ts: string };
  /** Link to this run in the Temporal UI, when TEMPORAL_UI_URL is known. */
  runUrl?: string;
  /** When the incident started (ISO-8601): look-ups for earlier attempts need search no further back. */
  triggeredAt?: string;
  /**
   * Where the acknowledge or resolve being announced came from: a source name (`pagerduty`,
   * `victorops`, `api`), `slack` or `signal`. A tool is never told about its own change.
   */
  origin?: string;
  /** The status-page incident a status-page step works on. */
  statusPage?: StatusPageRef;
  /** The action a change event reports. */
  change?: ChangeAction;
  /** The step a failure alert is about. */
  failure?: StepFailure;
  /** Which resolve of the incident a close-out step reports (1 for the first; a reopen and resolve make 2). */
  resolve?: number;
  /** The escalation a step pages, tells or resolves: the incident's first is 1 (a reopened incident can escalate again). */
  escalation?: Escalation;
  /** The resolve a postmortem is written for, with the record it tells. */
  postmortem?: PostmortemRequest;
}

/** An escalation: an incident nobody acknowledged in time. */
export interface Escalation {
  /** 1 for the incident's first escalation, 2 after a reopen... */
  number: number;
  /** How long it went unacknowledged, in ms. */
  afterMs: number;
  /** Someone was paged for it (the room is told so). */
  paged?: boolean;
}

/** One resolve's postmortem: the incident's record as the close-out left it, and which resolve of which run it is. */
export interface PostmortemRequest {
  /** The state when the other close-out steps had settled (timeline, steps, links). */
  incident: IncidentState;
  /** The run writing it: with `resolve`, it names this postmortem, so a retry or a replay never writes it twice. */
  runId: string;
  /** Which resolve of the run (1 for the first; a reopen and resolve writes another). */
  resolve: number;
}

/** A StatusCast incident: one per incident, or one per monitor when it combines alerts. */
export interface StatusPageRef {
  /** The monitor template's name (the incident's service). */
  monitor: string;
  /** Our id for it, StatusCast's `externalId`: looked up before create so a retry never doubles it. */
  externalId: string;
  /** StatusCast's incident id, once created. */
  id?: string;
  /** How many of our incidents it stands for (combined alerts). */
  incidents?: number;
  /** Saved as a draft (auto-publish off): not public yet. */
  draft?: boolean;
}

/** What warroom did, for a PagerDuty change event. */
export type ChangeAction = 'ticket' | 'room' | 'statusPage' | 'resolved';

/** A step that failed for good: named in a PagerDuty alert so a human hears of it. */
export interface StepFailure {
  /** The step's name (`jiraTicket`...): with the incident key it makes the alert's dedup_key. */
  step: string;
  /** What the step does, in words (`open Jira ticket`). */
  what: string;
  /** The error, as the timeline shows it (never a secret). */
  error: string;
}

/** What a step reports back to the workflow, which records it on the timeline. */
export type StepOutcome =
  { status: 'done'; detail?: string; ref?: string; url?: string; name?: string } | { status: 'skipped'; detail: string };

/** Whether `value` is an http(s) URL: the only links vendors take (Jira refuses a whole document over one bad link). */
export function isWebUrl(value: string): boolean {
  return /^https?:$/.test(URL.parse(value)?.protocol ?? '');
}

/** The incident's Slack channel as text: `#name`, or its id when the name is not known. */
export function channelLabel(channel: NonNullable<StepInput['channel']>): string {
  return channel.name ? `#${channel.name}` : channel.id;
}

/** One step activity: what the incident knows in, what the step did out. */
export type StepActivity = (input: StepInput) => Promise<StepOutcome>;

/** The answer of a step whose integration has no settings: nothing was done, and it says so. */
export function notConfigured(integration: string): Extract<StepOutcome, { status: 'skipped' }> {
  return { status: 'skipped', detail: `not configured (${integration})` };
}

/**
 * The steps of a vendor with no settings: each of `names` does nothing and answers
 * `not configured (<vendor>)`. A vendor builds its real steps only when it has settings, so no
 * real step checks for them. The one exception is a step that needs an optional part of a vendor
 * (PagerDuty's REST or Events API, the VictorOps endpoint): it answers `notConfigured(<part>)`
 * itself, after the checks that hold whatever the settings (a VictorOps incident has no
 * PagerDuty incident to sync, configured or not).
 */
export function unconfigured<const Name extends string>(vendor: string, names: readonly Name[]): Record<Name, StepActivity> {
  const steps = names.map((name): [Name, StepActivity] => [name, async () => notConfigured(vendor)]);
  return Object.fromEntries(steps) as Record<Name, StepActivity>;
}
