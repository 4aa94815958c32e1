import {
  type ActivityOptions,
  ApplicationFailure,
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
    ...extra,
  });

  /** Runs one step, records it on the timeline; a failure is recorded and never stops the incident. */
  const runStep = async (name: StepName, what: string, call: () => Promise<StepOutcome>): Promise<void> => {
    state.steps[name] = { status: 'pending' };
    try {
      const outcome = await call();
      if (outcome.status === 'done') {
        state.steps[name] = { status: 'done', detail: outcome.detail, ref: outcome.ref, url: outcome.url };
        if (outcome.ref) refs[name] = outcome.ref;
        if (outcome.url) state.links.push({ label: what, url: outcome.url });
        record({ actor: 'warroom', what, outcome: 'ok', detail: outcome.detail });
      } else {
        state.steps[name] = { status: 'skipped', detail: outcome.detail };
        record({ actor: 'warroom', what, outcome: 'skipped', detail: outcome.detail });
      }
    } catch (err) {
      const detail = err instanceof ApplicationFailure && err.cause ? err.cause.message : (err as Error).message;
      state.steps[name] = { status: 'failed', detail };
      record({ actor: 'warroom', what, outcome: 'failed', detail });
      log.error('step failed', { step: name, error: detail });
    }
  };

  const openWarRoom = async (): Promise<void> => {
    await Promise.all([
      runStep('jiraTicket', 'open Jira ticket', () => steps.openTicket(stepInput())),
      runStep('slackChannel', 'open Slack channel', () => steps.openChannel(stepInput())),
      runStep('statusPage', 'post status page', () => steps.postStatusPage(stepInput())),
    ]);
    await runStep('timelinePost', 'post links to the alerting tool', () => steps.postTimelineNote(stepInput()));
  };

  const closeOut = async (by: string, note?: string): Promise<void> => {
    await Promise.all([warRoom, ...background]);
    const input = stepInput({ actor: by, note });
    await Promise.all([
      runStep('jiraClose', 'close Jira ticket', () => steps.closeTicket(input)),
      runStep('slackClose', 'close Slack channel', () => steps.closeChannel(input)),
      runStep('statusPageClose', 'close status page', () => steps.closeStatusPage(input)),
      runStep('pagerdutySync', 'sync PagerDuty', () => steps.syncPagerDuty(input)),
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
    background.push(runStep('pagerdutySync', 'sync PagerDuty', () => steps.syncPagerDuty(stepInput({ actor: event.actor }))));
  };

  let resolution: IncidentEvent | undefined;
  while (!resolution) {
    await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested);
    if (queue.length === 0) {
      await Promise.all([warRoom, ...background]);
      if (queue.length > 0) continue;
      const carried: CarriedState = { state, seenEventIds: seenOrder, warRoomOpened, refs, assignees: [...assignees] };
      await continueAsNew<typeof incidentWorkflow>({ ...input, carried });
    }
    resolution = apply(queue.shift() as IncidentEvent);
  }
  if (!warRoomOpened) {
    if (!state.title) state.title = `${state.source} incident ${state.externalId}`;
    record({ actor: 'warroom', what: 'close out', outcome: 'skipped', detail: 'resolved before anything was opened' });
  } else {
    await closeOut(resolution.actor, resolution.note);
  }
  return state;
}
