import {
  ActivityFailure,
  type ActivityOptions,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, StepInput, StepOutcome } from '../activities/index.js';
import type {
  ActorNote,
  IncidentEvent,
  IncidentState,
  SourceName,
  StepName,
  StepRecord,
  TimelineEntry,
} from '../shared/incident.js';
import { acknowledgeSignal, incidentEventSignal, incidentQuery, resolveSignal } from '../shared/messages.js';
import { severityKey, statusKey } from '../shared/search-attributes.js';

/** Vendor calls: bounded attempts, backing off to a minute, for up to half an hour in all. */
const vendorCall = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['NonRetryableVendorError'],
  },
} satisfies ActivityOptions;

const steps = proxyActivities<Activities>(vendorCall);

/** Reads that only improve a step (assignee e-mails) must not hold it for long. */
const lookups = proxyActivities<Activities>({ ...vendorCall, scheduleToCloseTimeout: '1 minute' });

export interface IncidentWorkflowInput {
  key: string;
  source: SourceName;
  externalId: string;
  /** Set only by continue-as-new: the state so far, so a long incident keeps its record. */
  carried?: CarriedState;
}

interface CarriedState {
  state: IncidentState;
  seenEventIds: string[];
  warRoomOpened: boolean;
  refs: Record<string, string>;
  assignees: string[];
}

/** Event ids remembered for de-duplication; older ones fall off (sources retry within minutes). */
const SEEN_EVENT_LIMIT = 1000;
/** How long the room waits for the ticket before saying "ticket pending". */
const TICKET_GRACE = '10 seconds';
/** Repeated alerts after this many are counted, not each written to the timeline. */
const REPEATS_ON_TIMELINE = 20;

/** One run per incident: every webhook for it arrives here as a signal, in order. */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentState> {
  const { workflowId } = workflowInfo();
  const state: IncidentState = input.carried?.state ?? {
    key: input.key,
    workflowId,
    source: input.source,
    externalId: input.externalId,
    title: '',
    status: 'triggered',
    triggeredAt: new Date().toISOString(),
    links: [],
    responders: [],
    steps: {},
    timeline: [],
    repeatCount: 0,
  };
  const seen = new Set<string>(input.carried?.seenEventIds ?? []);
  const seenOrder: string[] = [...seen];
  const assignees = new Set<string>(input.carried?.assignees ?? []);
  const refs: Record<string, string> = { ...input.carried?.refs };
  const queue: IncidentEvent[] = [];
  let warRoomOpened = input.carried?.warRoomOpened ?? false;
  let warRoom: Promise<void> | undefined;
  /** Settles once the room has its topic and summary (or cannot have them). */
  let roomFurnished: Promise<void> = Promise.resolve();
  /** Steps started outside the war room (state sync); close-out waits for them. */
  const background: Promise<void>[] = [];
  let signalCount = 0;

  const remember = (eventId: string): boolean => {
    if (seen.has(eventId)) return false;
    seen.add(eventId);
    seenOrder.push(eventId);
    if (seenOrder.length > SEEN_EVENT_LIMIT) seen.delete(seenOrder.shift() as string);
    return true;
  };

  const fromActor = (kind: 'acknowledge' | 'resolve', note: ActorNote): IncidentEvent => ({
    source: state.source,
    externalId: state.externalId,
    key: state.key,
    kind,
    eventId: `signal-${kind}-${++signalCount}`,
    actor: note.by,
    note: note.note,
    links: [],
    occurredAt: new Date().toISOString(),
  });

  setHandler(incidentEventSignal, (event) => {
    if (event.key !== state.key) {
      log.warn('event for another incident ignored', { eventKey: event.key });
      return;
    }
    if (remember(event.eventId)) queue.push(event);
  });
  setHandler(acknowledgeSignal, (note) => void queue.push(fromActor('acknowledge', note)));
  setHandler(resolveSignal, (note) => void queue.push(fromActor('resolve', note)));
  setHandler(incidentQuery, () => state);

  const record = (entry: Omit<TimelineEntry, 'at'>) => {
    state.timeline.push({ at: new Date().toISOString(), ...entry });
  };

  /** What a finished step created, shaped for the next steps; undefined until it exists. */
  const done = <T>(name: StepName, shape: (step: StepRecord) => T): T | undefined => {
    const step = state.steps[name];
    return step?.status === 'done' && step.ref ? shape(step) : undefined;
  };

  const stepInput = (extra: Partial<StepInput> = {}): StepInput => ({
    key: state.key,
    workflowId: state.workflowId,
    source: state.source,
    externalId: state.externalId,
    title: state.title,
    severity: state.severity,
    service: state.service,
    status: state.status,
    links: state.links,
    responders: state.responders,
    assignees: [...assignees],
    refs: { ...refs },
    details: state.details,
    triggeredAt: state.triggeredAt,
    ticket: done('jiraTicket', (step) => ({ key: step.ref as string, url: step.url })),
    channel: done('slackChannel', (step) => ({ id: step.ref as string, name: step.name, url: step.url })),
    summary: done('slackSummary', (step) => ({ channel: refs.slackChannel as string, ts: step.ref as string })),
    ...extra,
  });

  /** Runs one step, records it on the timeline; a failure is recorded and never stops the incident. */
  const runStep = async (name: StepName, what: string, call: () => Promise<StepOutcome>): Promise<StepRecord> => {
    state.steps[name] = { status: 'pending' };
    let result: StepRecord;
    try {
      const outcome = await call();
      if (outcome.status === 'done') {
        result = { status: 'done', detail: outcome.detail, ref: outcome.ref, url: outcome.url, name: outcome.name };
        if (outcome.ref) refs[name] = outcome.ref;
        if (outcome.url && !state.links.some((link) => link.url === outcome.url)) {
          state.links.push({ label: what, url: outcome.url });
        }
        record({ actor: 'warroom', what, outcome: 'ok', detail: outcome.detail });
      } else {
        result = { status: 'skipped', detail: outcome.detail };
        record({ actor: 'warroom', what, outcome: 'skipped', detail: outcome.detail });
      }
    } catch (err) {
      const detail = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
      result = { status: 'failed', detail };
      record({ actor: 'warroom', what, outcome: 'failed', detail });
      log.error('step failed', { step: name, error: detail });
    }
    state.steps[name] = result;
    return result;
  };

  const exists = (name: StepName) => state.steps[name]?.status === 'done' && Boolean(state.steps[name]?.ref);

  /**
   * Ticket and room open in parallel; topic, summary and the timeline post follow once both exist.
   * A slow or failing Jira never holds the room: after a grace period the room says "ticket pending"
   * and the ticket, topic and summary catch up when Jira answers.
   */
  const openWarRoom = async (): Promise<void> => {
    const emails = assignees.size > 0 ? lookups.assigneeEmails(stepInput()).catch(() => ({ emails: [] as string[] })) : undefined;
    const ticket = runStep('jiraTicket', 'open Jira ticket', () => steps.openTicket(stepInput()));
    const statusPage = runStep('statusPage', 'post status page', () => steps.postStatusPage(stepInput()));
    const room = (async () => {
      await runStep('slackChannel', 'open Slack channel', () => steps.openChannel(stepInput()));
      if (!exists('slackChannel')) return;
      const inviteEmails = emails ? (await emails).emails : [];
      await runStep('slackInvite', 'invite responders', () => steps.inviteResponders(stepInput({ inviteEmails })));
    })();
    let ticketPending = false;
    roomFurnished = (async () => {
      await room;
      if (!exists('slackChannel')) return;
      await condition(() => state.steps.jiraTicket?.status !== 'pending', TICKET_GRACE);
      ticketPending = state.steps.jiraTicket?.status === 'pending';
      await Promise.all([
        runStep('slackTopic', 'set Slack channel topic', () => steps.setChannelTopic(stepInput())),
        (async () => {
          await runStep('slackSummary', 'post summary in Slack', () => steps.postSummary(stepInput()));
          if (exists('slackSummary')) await runStep('slackPin', 'pin the summary', () => steps.pinSummary(stepInput()));
        })(),
        runStep('slackAnnounce', 'announce the channel', () => steps.announceChannel(stepInput())),
      ]);
    })();
    const catchUp = (async () => {
      await Promise.all([roomFurnished, ticket]);
      if (ticketPending && exists('jiraTicket')) {
        await Promise.all([
          runStep('slackTopic', 'set Slack channel topic', () => steps.setChannelTopic(stepInput())),
          exists('slackSummary')
            ? runStep('slackSummaryUpdate', 'update the summary', () =>
                steps.updateSummary(stepInput({ actor: state.acknowledgedBy })),
              )
            : undefined,
        ]);
      }
    })();
    await Promise.all([ticket, room]);
    await Promise.all([
      runStep('timelinePost', 'post links to the alerting tool', () => steps.postTimelineNote(stepInput())),
      catchUp,
      statusPage,
    ]);
  };

  /** Tells the room and the paging tool about an acknowledge or resolve. */
  const announceState = (actor: string, note?: string): Promise<unknown>[] => {
    const input = stepInput({ actor, note });
    const calls: Promise<unknown>[] = [runStep('pagerdutySync', 'sync PagerDuty', () => steps.syncPagerDuty(input))];
    if (exists('slackSummary')) calls.push(runStep('slackSummaryUpdate', 'update the summary', () => steps.updateSummary(input)));
    if (exists('slackChannel')) {
      calls.push(runStep('slackStatusMessage', `tell the channel: ${state.status}`, () => steps.postStatusMessage(input)));
    }
    return calls;
  };

  const closeOut = async (by: string, note?: string): Promise<void> => {
    await Promise.all([warRoom, ...background]);
    const input = stepInput({ actor: by, note });
    await Promise.all([
      exists('jiraTicket')
        ? (async () => {
            await runStep('jiraComment', 'comment on the Jira ticket', () => steps.commentTicket(input));
            await runStep('jiraTransition', 'close the Jira ticket', () => steps.transitionTicket(input));
          })()
        : undefined,
      runStep('statusPageClose', 'close status page', () => steps.closeStatusPage(input)),
      ...announceState(by, note),
    ]);
  };

  const adopt = (event: IncidentEvent) => {
    if (event.title) state.title = event.title;
    if (event.severity) state.severity = event.severity;
    if (event.service) state.service = event.service;
    for (const link of event.links) {
      if (!state.links.some((known) => known.url === link.url)) state.links.push(link);
    }
    for (const email of event.responders ?? []) {
      if (!state.responders.includes(email)) state.responders.push(email);
    }
    for (const id of event.assignees ?? []) assignees.add(id);
    if (event.details) state.details = { ...state.details, ...event.details };
  };

  const setStatus = (status: IncidentState['status']) => {
    state.status = status;
    upsertSearchAttributes([{ key: statusKey, value: status }]);
  };

  const received = (event: IncidentEvent, outcome: TimelineEntry['outcome'], detail?: string) =>
    record({ actor: event.actor, what: `${event.kind} from ${event.source}`, outcome, detail });

  /** Applies one event; returns the resolving event when the incident is over. */
  const apply = (event: IncidentEvent): IncidentEvent | undefined => {
    const opening = !warRoomOpened && (event.kind === 'trigger' || event.kind === 'acknowledge' || event.kind === 'reopen');
    if (opening) {
      adopt(event);
      if (!state.title) state.title = `${state.source} incident ${state.externalId}`;
      state.triggeredAt = event.occurredAt;
      received(event, 'ok', event.note);
      if (state.severity) upsertSearchAttributes([{ key: severityKey, value: state.severity }]);
      warRoomOpened = true;
      warRoom = openWarRoom();
      if (event.kind === 'acknowledge') acknowledge(event);
      return undefined;
    }
    switch (event.kind) {
      case 'trigger':
        state.repeatCount += 1;
        adopt(event);
        if (state.repeatCount <= REPEATS_ON_TIMELINE) received(event, 'ignored', `repeated alert #${state.repeatCount}`);
        return undefined;
      case 'acknowledge':
        if (state.status === 'acknowledged') {
          received(event, 'ignored', 'already acknowledged');
          return undefined;
        }
        received(event, 'ok', event.note);
        acknowledge(event);
        return undefined;
      case 'reopen':
        received(event, 'ok', event.note);
        setStatus('triggered');
        return undefined;
      case 'annotate':
        received(event, 'ok', event.note);
        return undefined;
      case 'update':
        adopt(event);
        if (event.severity) upsertSearchAttributes([{ key: severityKey, value: event.severity }]);
        received(event, 'ok', event.note);
        return undefined;
      case 'resolve':
        received(event, 'ok', event.note);
        if (event.title && !state.title) state.title = event.title;
        state.resolvedAt = event.occurredAt;
        state.resolvedBy = event.actor;
        setStatus('resolved');
        return event;
    }
  };

  const acknowledge = (event: IncidentEvent) => {
    state.acknowledgedAt = event.occurredAt;
    state.acknowledgedBy = event.actor;
    setStatus('acknowledged');
    // The room's summary must exist before it can show the new state.
    background.push(roomFurnished.then(() => Promise.all(announceState(event.actor, event.note))).then(() => undefined));
  };

  /** Applies events until one resolves the incident; continues as new when the history grows long. */
  const untilResolved = async (): Promise<IncidentEvent> => {
    for (;;) {
      await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested);
      if (queue.length === 0) {
        await Promise.all([warRoom, ...background]);
        if (queue.length > 0) continue;
        const carried: CarriedState = { state, seenEventIds: seenOrder, warRoomOpened, refs, assignees: [...assignees] };
        await continueAsNew<typeof incidentWorkflow>({ ...input, carried });
      }
      const resolution = apply(queue.shift() as IncidentEvent);
      if (resolution) return resolution;
    }
  };

  /**
   * After close-out the channel stays readable for the archive delay (a durable timer); a new
   * alert meanwhile reopens the incident in the same room instead.
   */
  const reopenedBeforeArchive = async (): Promise<boolean> => {
    const { archiveDelayMs } = await lookups.warRoomSettings();
    const deadline = Date.now() + archiveDelayMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await condition(() => queue.length > 0, remaining))) return false;
      const event = queue.shift() as IncidentEvent;
      if (event.kind === 'trigger' || event.kind === 'reopen') {
        received(event, 'ok', 'reopened after resolve');
        state.resolvedAt = undefined;
        state.resolvedBy = undefined;
        setStatus('triggered');
        background.push(Promise.all(announceState(event.actor, event.note)).then(() => undefined));
        return true;
      }
      received(event, 'ignored', 'incident is resolved');
    }
  };

  for (;;) {
    const resolution = await untilResolved();
    if (!warRoomOpened) {
      if (!state.title) state.title = `${state.source} incident ${state.externalId}`;
      record({ actor: 'warroom', what: 'close out', outcome: 'skipped', detail: 'resolved before anything was opened' });
      return state;
    }
    await closeOut(resolution.actor, resolution.note);
    if (!exists('slackChannel')) return state;
    if (await reopenedBeforeArchive()) continue;
    await runStep('slackArchive', 'archive the Slack channel', () => steps.archiveChannel(stepInput()));
    return state;
  }
}
