/**
 * Every step an incident run can take, declared once: the activity it calls, what it needs first,
 * what it waits for, whether `retry` re-runs it, and what follows when it succeeds. The open path,
 * the announcements, close-out, archive and retry all read this table (src/workflows/step-runner.ts
 * runs it). Adding a vendor's step is one entry here; the workflow itself does not change.
 *
 * Pure data and small functions: no Temporal calls, so the table is checked by unit tests.
 */
import type { Activities, IncidentSettings, StepInput, StepOutcome } from '../activities/index.js';
import type { BudgetName } from '../shared/budgets.js';
import type { IncidentState } from '../shared/incident.js';
import { postmortemRecord } from '../shared/postmortem.js';
import { channelKey } from '../shared/search-attributes.js';
import type { Change } from './incident-state.js';

/** What a step can see when it decides whether and how to run. */
export interface StepContext {
  state: IncidentState;
  /** The acknowledge, resolve or reopen being announced or closed out (or the retry). */
  change?: Change;
  /** Read once when the war room opens (status page plan, change events, failure alerts, archive delay). */
  settings: Promise<IncidentSettings>;
  /** E-mails of the source's assignees (PagerDuty), for invitations. */
  assigneeEmails: Promise<string[]>;
  /** The run's id: with the resolve count it names a postmortem. */
  runId: string;
}

/** Whether a step runs: `true`; `false` leaves it out silently; `{ skip }` records it as skipped, with why. */
export type Guard = boolean | { skip: string };

/** A step that waits before it first runs; a resolve within the wait skips it. */
export interface Delay {
  ms: number;
  /** The step's detail while it waits. */
  waiting: string;
  /** The timeline's words for the wait. */
  announced: string;
  /** The step's detail when the resolve came first. */
  cancelled: string;
}

/** A step that runs after another, at most `grace` later even if that one is still running. */
export type After<Name extends string = string> = Name | { step: Name; grace: string };

/** A step that follows another's success, only if a step it refreshes (`onlyIfRan`) has already run. */
export type FollowUp<Name extends string = string> = Name | { step: Name; onlyIfRan: Name };

/** One step; `Name` is every step of the table, so a reference to a step that does not exist does not compile. */
export interface StepSpec<Name extends string = string> {
  /** The timeline's words for it. */
  what: string | ((ctx: StepContext) => string);
  /** The vendor rate budget its activity waits for (src/shared/budgets.ts); none: it runs on the workflows' own task queue. */
  budget?: BudgetName | ((ctx: StepContext) => BudgetName | undefined);
  /** It opens the war room (ticket, room, responders, links): when a budget is short it goes before furnishing and close-out. */
  opens?: boolean;
  /** The one activity it calls. */
  call: (activities: Activities, input: StepInput, ctx: StepContext) => Promise<StepOutcome>;
  /** Extra input for the activity (the status page it works on, the change it reports...). */
  input?: (ctx: StepContext) => Partial<StepInput> | Promise<Partial<StepInput>>;
  /** Steps whose result it needs: it waits for them to settle and runs only when all are done. */
  needs?: readonly Name[];
  /** Steps it runs after, whatever their outcome. */
  after?: readonly After<Name>[];
  /** Whether it applies to this incident (settings, source, status page plan). */
  when?: (ctx: StepContext) => Guard | Promise<Guard>;
  /** A wait before its first run (the status page's wait time). */
  delay?: (ctx: StepContext) => Delay | undefined | Promise<Delay | undefined>;
  /** Done once per incident: a later run of its path leaves it out (change events). */
  once?: boolean;
  /** `retry` re-runs it when it failed. Every step does today; a step that must not opts out here. */
  retry: boolean;
  /** What runs when it succeeds: on its first run and when a retry recovers it. */
  then?: readonly FollowUp<Name>[];
  /** It pushes the incident's status to the source tool: the webhook that comes back is an echo. */
  echoes?: boolean;
  /** What it made (`ref`) is indexed as this search attribute once it succeeds, so the incident can be found by it. */
  indexAs?: typeof channelKey;
}

/** How long the room waits for the ticket before it says "ticket pending". */
export const TICKET_GRACE = '10 seconds';

const done = (state: IncidentState, name: string) => state.steps[name]?.status === 'done' && Boolean(state.steps[name]?.ref);
const statusOf = (ctx: StepContext) => ctx.change?.status ?? ctx.state.status;
const changeEventsOn = async (ctx: StepContext) => (await ctx.settings).changeEvents;
/** The change events report what exists, once; when change events are off they are left out. */
const changeEvent = <const Needs extends string>(
  what: string,
  change: NonNullable<StepInput['change']>,
  needs: Needs[],
): StepSpec<Needs> => ({
  what: `PagerDuty change event: ${what}`,
  budget: 'pagerduty-events',
  call: (a, input) => a.sendChangeEvent(input),
  input: () => ({ change }),
  needs,
  when: changeEventsOn,
  once: true,
  retry: true,
});
/** The incident's status-page incident, as the status-page steps address it. */
const statusPageRef = (ctx: StepContext) => {
  const page = ctx.state.statusPage;
  return page ? { monitor: page.monitor, externalId: ctx.state.key, id: ctx.state.steps.statusPage?.ref } : undefined;
};
/** The incident's own source tool hears of a change made elsewhere, never of its own. */
const syncsSource =
  (source: string) =>
  (ctx: StepContext): Guard =>
    ctx.state.source === source && (ctx.change?.origin ?? source) !== source;
/** The escalation a step pages, tells or resolves: the incident's latest. */
const escalationOf = (ctx: StepContext): Partial<StepInput> => ({
  escalation: {
    number: ctx.state.escalation?.count ?? 1,
    afterMs: ctx.state.escalation?.afterMs ?? 0,
    paged: ctx.state.steps.escalationPage?.status === 'done',
  },
});
/** Announcements wait until the room has its topic, summary and pin: what they update must exist. */
const ROOM = ['slackChannel', 'slackInvite', 'slackTopic', 'slackSummary', 'slackPin', 'slackAnnounce'] as const;
/** What a resolve closes out before its change event. */
const CLOSE_OUT = [
  'jiraComment',
  'jiraTransition',
  'statusPageClose',
  'pagerdutySync',
  'victoropsSync',
  'slackSummaryUpdate',
  'slackStatusMessage',
] as const;
const FURNISHING = ['slackInvite', { step: 'jiraTicket', grace: TICKET_GRACE }] as const;

/** The table, typed so that every step it names is one of its own keys. */
function defineSteps<const Name extends string>(table: { [K in Name]: StepSpec<NoInfer<Name>> }): { [K in Name]: StepSpec<Name> } {
  return table;
}

/** The step table. Keys are the names in `state.steps`; keep them stable (recorded states use them). */
export const STEPS = defineSteps({
  jiraTicket: {
    budget: 'jira',
    opens: true,
    what: 'open Jira ticket',
    call: (a, input) => a.openTicket(input),
    retry: true,
    // A ticket that arrives after the room was furnished: the topic and summary show it.
    then: ['changeTicket', { step: 'slackTopic', onlyIfRan: 'slackTopic' }, { step: 'slackSummaryUpdate', onlyIfRan: 'slackSummary' }],
  },
  slackChannel: {
    budget: 'slack-create',
    opens: true,
    what: 'open Slack channel',
    call: (a, input) => a.openChannel(input),
    // Below critical, a room holds back briefly: in a storm the critical rooms that arrive meanwhile take the budget first.
    delay: (ctx) =>
      !ctx.state.severity || ctx.state.severity === 'critical'
        ? undefined
        : ctx.settings.then(({ roomHoldMs }) => {
            if (!roomHoldMs) return undefined;
            const seconds = roomHoldMs / 1000;
            return {
              ms: roomHoldMs,
              waiting: `holding ${seconds} s (${ctx.state.severity}): more severe rooms go first`,
              announced: `${ctx.state.severity}: the room waits ${seconds} s so that more severe incidents open theirs first`,
              cancelled: `resolved within the ${seconds} s hold: no room opened`,
            };
          }),
    retry: true,
    then: ['changeRoom', 'slackInvite', 'slackTopic', 'slackSummary', 'slackAnnounce'],
    // `/incident` typed in the room finds the incident by the channel's id.
    indexAs: channelKey,
  },
  slackInvite: {
    budget: 'slack-invite',
    opens: true,
    what: 'invite responders',
    call: (a, input) => a.inviteResponders(input),
    input: async (ctx) => ({ inviteEmails: await ctx.assigneeEmails }),
    needs: ['slackChannel'],
    retry: true,
  },
  slackTopic: {
    budget: 'slack-topic',
    what: 'set Slack channel topic',
    call: (a, input) => a.setChannelTopic(input),
    needs: ['slackChannel'],
    after: FURNISHING,
    retry: true,
  },
  slackSummary: {
    what: 'post summary in Slack',
    call: (a, input) => a.postSummary(input),
    needs: ['slackChannel'],
    after: FURNISHING,
    retry: true,
    then: ['slackPin'],
  },
  slackPin: {
    budget: 'slack-pin',
    what: 'pin the summary',
    call: (a, input) => a.pinSummary(input),
    needs: ['slackSummary'],
    retry: true,
  },
  slackAnnounce: {
    budget: 'slack-announce',
    what: 'announce the channel',
    call: (a, input) => a.announceChannel(input),
    needs: ['slackChannel'],
    after: FURNISHING,
    retry: true,
  },
  timelinePost: {
    budget: (ctx) => (ctx.state.source === 'pagerduty' ? 'pagerduty-rest' : undefined),
    opens: true,
    what: 'post links to the alerting tool',
    call: (a, input) => a.postTimelineNote(input),
    after: ['jiraTicket', 'slackChannel', 'slackInvite'],
    retry: true,
  },
  statusPage: {
    what: (ctx) =>
      ctx.state.statusPage?.combined ? `join the status page of monitor "${ctx.state.statusPage.monitor}"` : 'post status page',
    // With combined alerts the incident joins its monitor's shared StatusCast incident.
    call: (a, input, ctx) => (ctx.state.statusPage?.combined ? a.attachToStatusPage(input) : a.postStatusPage(input)),
    input: (ctx) => ({ statusPage: statusPageRef(ctx) }),
    when: async (ctx) => {
      const settings = await ctx.settings;
      return settings.statusPage ? true : { skip: settings.noStatusPage ?? 'not configured (StatusCast)' };
    },
    delay: async (ctx) => {
      const plan = (await ctx.settings).statusPage;
      if (!plan || plan.waitMs <= 0) return undefined;
      const seconds = plan.waitMs / 1000;
      return {
        ms: plan.waitMs,
        waiting: `waiting ${seconds} s (monitor "${plan.monitor}")`,
        announced: `wait time ${seconds} s before posting`,
        cancelled: `resolved within the ${seconds} s wait time: nothing posted`,
      };
    },
    retry: true,
    then: ['changeStatusPage'],
  },
  changeTicket: changeEvent('ticket opened', 'ticket', ['jiraTicket']),
  changeRoom: changeEvent('room opened', 'room', ['slackChannel']),
  changeStatusPage: {
    ...changeEvent('status page posted', 'statusPage', ['statusPage']),
    input: async (ctx) => ({
      change: 'statusPage',
      statusPage: { ...statusPageRef(ctx)!, draft: !(await ctx.settings).statusPage?.autoPublish },
    }),
    // A combined page is announced by the monitor's own run, not per incident.
    when: async (ctx) => (await changeEventsOn(ctx)) && !ctx.state.statusPage?.combined,
  },
  pagerdutySync: {
    budget: 'pagerduty-rest',
    what: (ctx) => `sync PagerDuty: ${statusOf(ctx)}`,
    call: (a, input) => a.syncPagerDuty(input),
    after: ROOM,
    when: syncsSource('pagerduty'),
    retry: true,
    echoes: true,
  },
  victoropsSync: {
    what: (ctx) => `sync VictorOps: ${statusOf(ctx)}`,
    call: (a, input) => a.syncVictorOps(input),
    after: ROOM,
    when: syncsSource('victorops'),
    retry: true,
    echoes: true,
  },
  slackSummaryUpdate: {
    budget: 'slack-update',
    what: 'update the summary',
    call: (a, input) => a.updateSummary(input),
    needs: ['slackSummary'],
    after: ROOM,
    retry: true,
  },
  slackStatusMessage: {
    what: (ctx) => `tell the channel: ${statusOf(ctx)}`,
    call: (a, input) => a.postStatusMessage(input),
    needs: ['slackChannel'],
    after: ROOM,
    retry: true,
  },
  jiraComment: {
    budget: 'jira',
    what: 'comment on the Jira ticket',
    call: (a, input) => a.commentTicket(input),
    // Which resolve it reports: a reopened incident's next resolve gets its own comment.
    input: (ctx) => ({ resolve: ctx.state.resolves }),
    needs: ['jiraTicket'],
    retry: true,
  },
  jiraTransition: {
    budget: 'jira',
    what: 'close the Jira ticket',
    call: (a, input) => a.transitionTicket(input),
    needs: ['jiraTicket'],
    after: ['jiraComment'],
    retry: true,
  },
  statusPageClose: {
    what: (ctx) =>
      ctx.state.statusPage?.combined ? `leave the status page of monitor "${ctx.state.statusPage.monitor}"` : 'close status page',
    call: (a, input, ctx) => (ctx.state.statusPage?.combined ? a.detachFromStatusPage(input) : a.closeStatusPage(input)),
    input: (ctx) => ({ statusPage: statusPageRef(ctx) }),
    needs: ['statusPage'],
    retry: true,
  },
  changeResolved: {
    ...changeEvent('resolved', 'resolved', []),
    after: CLOSE_OUT,
  },
  postmortem: {
    budget: 'jira',
    what: 'write the postmortem timeline on the Jira ticket',
    call: (a, input) => a.writePostmortem(input),
    // The record as the close-out left it; the run and the resolve name it, so it is written once per resolve.
    input: (ctx) => ({ postmortem: { incident: postmortemRecord(ctx.state), runId: ctx.runId, resolve: ctx.state.resolves ?? 1 } }),
    needs: ['jiraTicket'],
    // Everything else the close-out runs, so the record tells their outcomes.
    after: [...CLOSE_OUT, 'changeResolved', 'escalationResolve'],
    // A retry after a reopen has no resolve to write up: the next resolve writes its own.
    when: (ctx) => ctx.state.status === 'resolved' || { skip: 'the incident is open again: its next resolve writes the postmortem' },
    retry: true,
  },
  escalationPage: {
    budget: 'pagerduty-events',
    // Like warroom's own failure alerts, a page goes first in its budget: it needs a person.
    opens: true,
    what: 'page: nobody acknowledged',
    call: (a, input) => a.raiseEscalation(input),
    input: escalationOf,
    when: async (ctx) => ((await ctx.settings).escalationPage ? true : { skip: 'not configured (PAGERDUTY_ESCALATION_ROUTING_KEY)' }),
    retry: true,
  },
  escalationNotice: {
    what: 'tell the room nobody acknowledged',
    call: (a, input) => a.postEscalation(input),
    input: escalationOf,
    needs: ['slackChannel'],
    // After the page, so the room hears whether someone was paged.
    after: ['escalationPage'],
    retry: true,
  },
  escalationResolve: {
    budget: 'pagerduty-events',
    what: 'resolve the escalation page',
    call: (a, input) => a.resolveEscalation(input),
    input: escalationOf,
    needs: ['escalationPage'],
    // Each page is resolved once: its dedup key is the ref of both steps.
    when: (ctx) => ctx.state.steps.escalationPage?.ref !== ctx.state.steps.escalationResolve?.ref,
    retry: true,
  },
  slackReminder: {
    what: 'ask the room for a status update',
    call: (a, input) => a.postReminder(input),
    needs: ['slackChannel'],
    retry: true,
  },
  slackArchive: {
    budget: 'slack-archive',
    what: 'archive the Slack channel',
    call: (a, input) => a.archiveChannel(input),
    needs: ['slackChannel'],
    retry: true,
  },
});

/** The steps this version runs (the table's keys). */
export type ActiveStep = keyof typeof STEPS;

/** Which steps each path starts; the rest follow from `then`, in the order `after` and `needs` give. */
export const PATHS = {
  /** The war room: ticket, room and status page at once; the room's furnishing follows the channel. */
  open: ['jiraTicket', 'slackChannel', 'statusPage', 'timelinePost'],
  /** An acknowledge or reopen: the source tool (when the change came from elsewhere) and the room hear of it; an escalation page is resolved. */
  announce: ['pagerdutySync', 'victoropsSync', 'slackSummaryUpdate', 'slackStatusMessage', 'escalationResolve'],
  /** A resolve: the ticket, the status page, the source tool and the room; then a change event. */
  closeOut: [...CLOSE_OUT, 'changeResolved', 'escalationResolve'],
  /** After the close-out, of runs that record the postmortem-v1 patch (src/workflows/incident.ts): the record, on the ticket. */
  postmortem: ['postmortem'],
  /** Nobody acknowledged in time (src/workflows/watches.ts). */
  escalate: ['escalationPage', 'escalationNotice'],
  /** The room is asked for a status update. */
  remind: ['slackReminder'],
  /** After the archive delay. */
  archive: ['slackArchive'],
} as const satisfies Record<string, readonly ActiveStep[]>;

/** The step's words for the timeline. */
export function stepWords(spec: StepSpec, ctx: StepContext): string {
  return typeof spec.what === 'function' ? spec.what(ctx) : spec.what;
}

/** Whether a step's output exists (done, with what it made). */
export function exists(state: IncidentState, name: string): boolean {
  return done(state, name);
}

/** What a step's activity is told of the incident: never a secret, only what the timeline may show. */
export function stepInput(state: IncidentState, assignees: string[], change?: Change, extra: Partial<StepInput> = {}): StepInput {
  const status = change?.status ?? state.status;
  const refs = Object.fromEntries(
    Object.entries(state.steps).flatMap(([name, step]) => (step?.ref ? [[name, step.ref] as [string, string]] : [])),
  );
  const ticket = state.steps.jiraTicket;
  const channel = state.steps.slackChannel;
  const summary = state.steps.slackSummary;
  return {
    key: state.key,
    workflowId: state.workflowId,
    source: state.source,
    externalId: state.externalId,
    title: state.title,
    severity: state.severity,
    service: state.service,
    status,
    links: state.links,
    responders: state.responders,
    slackResponders: state.slackResponders,
    assignees,
    refs,
    details: state.details,
    triggeredAt: state.triggeredAt,
    // Who the status is by, so every message about it can say so.
    actor: change ? change.actor : status === 'resolved' ? state.resolvedBy : status === 'acknowledged' ? state.acknowledgedBy : undefined,
    note: change?.note,
    origin: change?.origin,
    ticket: done(state, 'jiraTicket') ? { key: ticket!.ref!, url: ticket!.url } : undefined,
    channel: done(state, 'slackChannel') ? { id: channel!.ref!, name: channel!.name, url: channel!.url } : undefined,
    summary: done(state, 'slackSummary') && channel?.ref ? { channel: channel.ref, ts: summary!.ref! } : undefined,
    ...extra,
  };
}
