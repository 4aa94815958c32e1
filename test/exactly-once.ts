/**
 * What the vendor fakes hold per incident, and what an incident's run says it did: the
 * exactly-once checks of the reliability scenarios (test/reliability.test.ts) and of the
 * production-topology test (chaos/cluster.ts). Counts come from the fakes' own state, so a
 * duplicate is seen whatever warroom believes it did.
 */
import { channelName, DEFAULT_CHANNEL_TEMPLATE, SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState, StepName } from '../src/shared/incident.js';
import { statusPageWorkflowId } from '../src/shared/messages.js';
import type { IncidentDelivery } from './deliveries.js';
import type { AllFakes } from './fakes/env.js';

/** The fakes' records of one incident, read per kind of effect. */
export function vendorEffects(fakes: AllFakes, announceChannel: string) {
  const ticketsOf = (incident: IncidentDelivery) => fakes.jira.issuesWithLabel(`warroom-${incident.key}`);
  /** Channels for the incident: its name, or that name with a suffix (what a duplicate would get). */
  const channelsOf = (incident: IncidentDelivery) => {
    const name = channelName(DEFAULT_CHANNEL_TEMPLATE, incident.externalId);
    return fakes.slack.state.channels.filter((channel) => channel.name === name || channel.name.startsWith(`${name}-`));
  };
  const messagesOf = (incident: IncidentDelivery, eventType: string) =>
    channelsOf(incident).flatMap((channel) =>
      fakes.slack.messages(channel.id).filter((message) => message.metadata?.event_type === eventType),
    );
  const announcementsOf = (incident: IncidentDelivery) => {
    const announce = fakes.slack.channelByName(announceChannel);
    if (!announce) throw new Error(`the Slack fake has no #${announceChannel}`);
    return fakes.slack
      .messages(announce.id)
      .filter(
        (message) =>
          message.metadata?.event_type === SLACK_EVENT_TYPES.announcement && message.metadata.event_payload.incident_key === incident.key,
      );
  };
  /** PagerDuty notes warroom posted on the incident (0 for other sources). */
  const pagerDutyNotesOf = (incident: IncidentDelivery) =>
    incident.source === 'pagerduty' ? (fakes.pagerduty.state.incidents.get(incident.externalId)?.notes.length ?? 0) : 0;
  /** VictorOps INFO alerts warroom posted for the incident (0 for other sources). */
  const victorOpsInfosOf = (incident: IncidentDelivery) =>
    incident.source === 'victorops'
      ? fakes.victorops.state.alerts.filter(
          (alert) => alert.messageType === 'INFO' && alert.fields.warroom_ref === workflowIdFor(incident.key),
        ).length
      : 0;
  /** Comments warroom made on the incident's tickets whose body carries `marker` (`warroom:resolve:`, `warroom:postmortem:`). */
  const commentsOf = (incident: IncidentDelivery, marker: string) =>
    ticketsOf(incident).reduce(
      (sum, issue) => sum + issue.comments.filter((comment) => JSON.stringify(comment.body).includes(marker)).length,
      0,
    );
  return {
    ticketsOf,
    commentsOf,
    channelsOf,
    messagesOf,
    announcementsOf,
    pagerDutyNotesOf,
    victorOpsInfosOf,
    /** PagerDuty notes or VictorOps INFO alerts warroom posted for the incident; none for generic ones. */
    timelinePostsOf: (incident: IncidentDelivery) => pagerDutyNotesOf(incident) + victorOpsInfosOf(incident),
    /** StatusCast incidents of an incident with a page of its own (its key is their externalId). */
    statusPagesOf: (incident: IncidentDelivery) =>
      [...fakes.statuscast.incidents.values()].filter((page) => page.externalId === incident.key),
    /** StatusCast incidents of a monitor whose incidents share one page. */
    sharedStatusPages: (monitor: string) => {
      const prefix = `${statusPageWorkflowId(monitor)}/`;
      return [...fakes.statuscast.incidents.values()].filter((page) => page.externalId?.startsWith(prefix));
    },
    changeEventsOf: (incident: IncidentDelivery, action: string) =>
      fakes.pagerdutyEvents.changeEvents.filter((event) => {
        const details = (event.payload as { custom_details?: Record<string, unknown> } | undefined)?.custom_details;
        return details?.incident_key === incident.key && details.action === action;
      }),
    /** Times warroom set the PagerDuty incident to resolved. */
    pagerDutyResolvesOf: (incident: IncidentDelivery) =>
      (fakes.pagerduty.state.incidents.get(incident.externalId)?.changes ?? []).filter((change) => change.status === 'resolved').length,
    victorOpsRecoveriesOf: (incident: IncidentDelivery) => (incident.entityId ? fakes.victorops.count(incident.entityId, 'RECOVERY') : 0),
  };
}

export type VendorEffects = ReturnType<typeof vendorEffects>;

// ---------------------------------------------------------------------------------------------
// Tallies: per incident, how many there are and how many there should be.

/** What must exist exactly once per incident, counted in the fakes: `expected` 0 means none at all. */
export interface Tally {
  name: string;
  counts: number[];
  expected: number[];
}

export function tally(
  name: string,
  incidents: readonly IncidentDelivery[],
  count: (incident: IncidentDelivery) => number,
  expected = (_incident: IncidentDelivery) => 1,
): Tally {
  return { name, counts: incidents.map(count), expected: incidents.map(expected) };
}

/** Copies beyond the expected one, summed; missing ones are reported separately. */
export const extra = (t: Tally) => t.counts.reduce((sum, count, i) => sum + Math.max(0, count - (t.expected[i] as number)), 0);
export const short = (t: Tally) => t.counts.reduce((sum, count, i) => sum + Math.max(0, (t.expected[i] as number) - count), 0);
export const total = (t: Tally) => t.counts.reduce((sum, count) => sum + count, 0);

/** Copies beyond the expected ones over every tally. */
export const duplicatesIn = (tallies: Record<string, Tally>) => Object.values(tallies).reduce((sum, t) => sum + extra(t), 0);

/** One line per tally with anything extra or missing: must be none. */
export function tallyProblems(tallies: readonly Tally[]): string[] {
  return tallies.flatMap((t) => (extra(t) + short(t) > 0 ? [`${t.name}: ${extra(t)} extra, ${short(t)} missing`] : []));
}

/**
 * Everything an incident opened and closed out leaves at the vendors, once each: ticket, channel,
 * summary, announcement, timeline post (PagerDuty note or VictorOps INFO), status page (own),
 * status message, resolve comment, postmortem, change events, and the resolve told to PagerDuty or VictorOps
 * (only when it came from elsewhere: `fromSource` incidents were resolved in their own tool).
 */
export function closedOutTallies(
  effects: VendorEffects,
  incidents: readonly IncidentDelivery[],
  options: { ownPage: (incident: IncidentDelivery) => boolean; fromSource?: (incident: IncidentDelivery) => boolean },
) {
  const ownPages = incidents.filter(options.ownPage);
  const fromSource = options.fromSource ?? (() => false);
  return {
    tickets: tally('tickets', incidents, (incident) => effects.ticketsOf(incident).length),
    channels: tally('channels', incidents, (incident) => effects.channelsOf(incident).length),
    summaries: tally('summaries', incidents, (incident) => effects.messagesOf(incident, SLACK_EVENT_TYPES.summary).length),
    posts: tally('timeline posts', incidents, effects.timelinePostsOf, (incident) => (incident.source === 'api' ? 0 : 1)),
    pages: tally('status pages', ownPages, (incident) => effects.statusPagesOf(incident).length),
    announcements: tally('announcements', incidents, (incident) => effects.announcementsOf(incident).length),
    statusMessages: tally('status messages', incidents, (incident) => effects.messagesOf(incident, SLACK_EVENT_TYPES.status).length),
    comments: tally('resolve comments', incidents, (incident) => effects.commentsOf(incident, 'warroom:resolve:')),
    postmortems: tally('postmortems', incidents, (incident) => effects.commentsOf(incident, 'warroom:postmortem:')),
    ticketEvents: tally('change events: ticket', incidents, (incident) => effects.changeEventsOf(incident, 'ticket').length),
    roomEvents: tally('change events: room', incidents, (incident) => effects.changeEventsOf(incident, 'room').length),
    pageEvents: tally('change events: status page', ownPages, (incident) => effects.changeEventsOf(incident, 'statusPage').length),
    resolvedEvents: tally('change events: resolved', incidents, (incident) => effects.changeEventsOf(incident, 'resolved').length),
    pagerDutyResolves: tally(
      'PagerDuty resolves',
      incidents.filter((incident) => incident.source === 'pagerduty'),
      effects.pagerDutyResolvesOf,
      (incident) => (fromSource(incident) ? 0 : 1),
    ),
    victorOpsRecoveries: tally(
      'VictorOps recoveries',
      incidents.filter((incident) => incident.source === 'victorops'),
      effects.victorOpsRecoveriesOf,
      (incident) => (fromSource(incident) ? 0 : 1),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// What the run says it did.

/** The war-room steps every incident must have done; the timeline post only where the source has a timeline. */
export const ROOM_STEPS: StepName[] = [
  'jiraTicket',
  'slackChannel',
  'slackInvite',
  'slackTopic',
  'slackSummary',
  'slackPin',
  'slackAnnounce',
  'statusPage',
];

/** Why the room is not complete yet (undefined: complete). A "ticket pending" room is complete once topic and summary show the ticket. */
export function roomMissing(state: IncidentState): string | undefined {
  const steps = ROOM_STEPS.filter((name) => state.steps[name]?.status !== 'done');
  const post = state.steps.timelinePost?.status;
  if (post !== (state.source === 'api' ? 'skipped' : 'done')) steps.push('timelinePost');
  if (steps.length > 0)
    return steps
      .map(
        (name) =>
          `${name} ${state.steps[name]?.status ?? 'not started'}${state.steps[name]?.status === 'failed' ? ` (${state.steps[name]?.detail})` : ''}`,
      )
      .join(', ');
  const ticket = state.steps.jiraTicket?.ref;
  if (!state.steps.slackTopic?.detail?.includes(`Jira ${ticket} `)) return `topic does not show ${ticket} yet`;
  const update = state.steps.slackSummaryUpdate;
  if (update && update.status !== 'done') return `summary update ${update.status}`;
  return undefined;
}

/**
 * Close-out steps a resolved incident must have done (undefined: all done, none failed). The
 * source tool is told of the resolve unless it came from there (`fromSource`): then it must not be.
 */
export function closeOutMissing(
  incident: IncidentDelivery,
  state: IncidentState,
  options: { fromSource?: boolean } = {},
): string | undefined {
  const steps: StepName[] = [
    'jiraComment',
    'jiraTransition',
    'statusPageClose',
    'slackSummaryUpdate',
    'slackStatusMessage',
    'slackArchive',
    'changeResolved',
  ];
  const sync: StepName | undefined =
    incident.source === 'pagerduty' ? 'pagerdutySync' : incident.source === 'victorops' ? 'victoropsSync' : undefined;
  if (sync && !options.fromSource) steps.push(sync);
  const notDone = steps.filter((name) => state.steps[name]?.status !== 'done');
  const failed = Object.entries(state.steps).filter(([, step]) => step?.status === 'failed');
  const problems = [
    ...notDone.map((name) => `${name} ${state.steps[name]?.status ?? 'not run'}`),
    ...failed.map(([name, step]) => `${name} failed: ${step?.detail}`),
    ...(sync && options.fromSource && state.steps[sync]?.status === 'done' ? [`${sync} told the source of its own resolve`] : []),
  ];
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Requests the fakes refused as not what the real API accepts, and answers of their own that broke their spec: must stay empty. */
export function contractProblems(fakes: AllFakes): string[] {
  return [
    ...fakes.jira.refusals().map((request) => `jira: ${request.method} ${request.path}: ${request.refused}`),
    ...fakes.jira.responseProblems.map((problem) => `jira answer: ${problem}`),
    ...fakes.slack.problems().map((problem) => `slack: ${problem}`),
    ...fakes.pagerduty.requests
      .filter((request) => request.spec && request.spec !== 'ok' && request.spec !== 'unchecked')
      .map((request) => `pagerduty: ${request.spec}`),
    ...fakes.pagerduty.responseProblems.map((problem) => `pagerduty answer: ${problem}`),
    ...fakes.pagerdutyEvents.responseProblems.map((problem) => `pagerduty events answer: ${problem}`),
    ...fakes.victorops.requests.filter((request) => request.status === 400).map((request) => `victorops: ${request.refused}`),
    ...fakes.statuscast.requests.filter((request) => request.status === 400).map((request) => `statuscast: ${request.refused}`),
    ...fakes.statuscast.responseProblems.map((problem) => `statuscast answer: ${problem}`),
  ];
}
