import {
  type ActivityOptions,
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, CloseLoopSettings, StepInput, StepOutcome } from '../../activities/index.js';
import type { ActorNote, IncidentEvent, IncidentState, SourceName, StepName, StepRecord, TimelineEntry } from '../../shared/incident.js';
import { acknowledgeSignal, incidentEventSignal, incidentQuery, resolveSignal, retrySignal } from '../../shared/messages.js';
import { severityKey, statusKey } from '../../shared/search-attributes.js';

/*
 * FROZEN: the incident workflow of warroom 0.1, kept byte-for-byte in behaviour so that runs it
 * started replay and finish on newer workers (CHANGELOG.md, "Upgrading open incidents").
 * `incidentWorkflow` sends every run without the `core-v2` patch marker here. Never edit this
 * file: any change to what it schedules breaks those runs. It is deleted once no 0.1 run can
 * remain (see CHANGELOG.md). Its pure helpers are copied in below so later changes elsewhere
 * cannot change it either.
 */

/** Where an event came from (0.1's `originOf`). */
function originOf(event: Pick<IncidentEvent, 'source' | 'via'>): string {
  return event.via ?? event.source;
}

/** 0.1's activity options. */
const vendorCall = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['NonRetryableVendorError'],
  },
} as const satisfies ActivityOptions;

const steps = proxyActivities<Activities>(vendorCall);

/** Reads that only improve a step (assignee e-mails) must not hold it for long. */
const lookups = proxyActivities<Activities>({ ...vendorCall, scheduleToCloseTimeout: '1 minute' });

/** 0.1's input. */
export interface LegacyIncidentInput {
  key: string;
  source: SourceName;
  externalId: string;
  /** Set only by continue-as-new: the state so far, so a long incident keeps its record. */
  carried?: LegacyCarriedState;
}

/** What a 0.1 run carries through continue-as-new; the run that continues it reads it (`Incident.resume`). */
export interface LegacyCarriedState {
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
/** Patch id of the close-the-loop behaviour (issue 4); never rename. */
const CLOSE_THE_LOOP = 'close-the-loop';
/** What the close-the-loop steps do when their settings could not be read. */
const NO_CLOSE_LOOP: CloseLoopSettings = { changeEvents: false, failureAlerts: false };

/** 0.1's `incidentWorkflow`: one run per incident, every webhook arrives as a signal, in order. */
export async function legacyIncidentWorkflow(input: LegacyIncidentInput): Promise<IncidentState> {
  // Issue 4 (status page, state sync, change events, failure alerts, retry). Runs recorded
  // before it keep the first version's path, so their histories replay unchanged.
  const closeLoop = patched(CLOSE_THE_LOOP);
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
  /** Read once per run, with the first war-room steps; every close-the-loop step waits for it. */
  let loopSettings: Promise<CloseLoopSettings> = Promise.resolve(NO_CLOSE_LOOP);
  /** Statuses warroom itself pushed to the source tool: the webhook that comes back is an echo. */
  const pushedToSource = new Set<string>();
  const retryRequests: ActorNote[] = [];
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
    via: closeLoop ? (note.via ?? 'signal') : undefined,
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
  setHandler(retrySignal, (note) => void retryRequests.push(note));

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
      if (closeLoop) background.push(pageAboutFailure(name, what, detail));
    }
    state.steps[name] = result;
    if (closeLoop && result.status === 'done' && state.failures?.[name]) background.push(failureCleared(name));
    return result;
  };

  /** A step failed for good: one PagerDuty alert per incident and step (its dedup key), and a timeline entry. */
  const pageAboutFailure = async (name: StepName, what: string, error: string): Promise<void> => {
    const failures = (state.failures ??= {});
    const earlier = failures[name];
    failures[name] = { what, error, alert: earlier?.alert === 'open' ? 'open' : 'none' };
    if (earlier?.alert === 'open' || !(await loopSettings).failureAlerts) return;
    try {
      await steps.raiseFailureAlert(stepInput({ failure: { step: name, what, error } }));
      const current = state.failures?.[name];
      if (current) current.alert = 'open';
      record({ actor: 'warroom', what: `page someone: "${what}" failed`, outcome: 'ok', detail: error });
    } catch (err) {
      const detail = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
      record({ actor: 'warroom', what: `page someone: "${what}" failed`, outcome: 'failed', detail });
    }
  };

  /** A failed step succeeded on retry: its failure alert is resolved. */
  const failureCleared = async (name: StepName): Promise<void> => {
    const failure = state.failures?.[name];
    if (!failure) return;
    delete state.failures?.[name];
    if (failure.alert !== 'open') return;
    try {
      await steps.resolveFailureAlert(stepInput({ failure: { step: name, what: failure.what, error: failure.error } }));
      record({ actor: 'warroom', what: `resolve the alert for "${failure.what}"`, outcome: 'ok' });
    } catch (err) {
      const detail = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
      record({ actor: 'warroom', what: `resolve the alert for "${failure.what}"`, outcome: 'failed', detail });
    }
  };

  /** A PagerDuty change event for something warroom did; once per action (the step is recorded). */
  const changeEvent = async (
    name: StepName,
    change: NonNullable<StepInput['change']>,
    what: string,
    extra: Partial<StepInput> = {},
  ): Promise<void> => {
    if (!(await loopSettings).changeEvents || state.steps[name]?.status === 'done') return;
    await runStep(name, what, () => steps.sendChangeEvent(stepInput({ ...extra, change })));
  };

  const exists = (name: StepName) => state.steps[name]?.status === 'done' && Boolean(state.steps[name]?.ref);

  /** Topic, pinned summary and announcement of a room that exists. */
  const furnishRoom = () =>
    Promise.all([
      runStep('slackTopic', 'set Slack channel topic', () => steps.setChannelTopic(stepInput())),
      (async () => {
        await runStep('slackSummary', 'post summary in Slack', () => steps.postSummary(stepInput()));
        if (exists('slackSummary')) await runStep('slackPin', 'pin the summary', () => steps.pinSummary(stepInput()));
      })(),
      runStep('slackAnnounce', 'announce the channel', () => steps.announceChannel(stepInput())),
    ]);

  /** A ticket that arrived after the room was furnished: topic and summary show it. */
  const showTicketInRoom = () =>
    Promise.all([
      runStep('slackTopic', 'set Slack channel topic', () => steps.setChannelTopic(stepInput())),
      exists('slackSummary')
        ? runStep('slackSummaryUpdate', 'update the summary', () => steps.updateSummary(stepInput({ actor: state.acknowledgedBy })))
        : undefined,
    ]);

  /**
   * Ticket and room open in parallel; topic, summary and the timeline post follow once both exist.
   * A slow or failing Jira never holds the room: after a grace period the room says "ticket pending"
   * and the ticket, topic and summary catch up when Jira answers.
   */
  const openWarRoom = async (): Promise<void> => {
    const emails = assignees.size > 0 ? lookups.assigneeEmails(stepInput()).catch(() => ({ emails: [] as string[] })) : undefined;
    const ticket = runStep('jiraTicket', 'open Jira ticket', () => steps.openTicket(stepInput()));
    if (closeLoop) {
      loopSettings = lookups.closeLoopSettings(stepInput()).catch((err: unknown) => {
        record({ actor: 'warroom', what: 'read status page and PagerDuty settings', outcome: 'failed', detail: (err as Error).message });
        return NO_CLOSE_LOOP;
      });
      background.push(
        ticket.then(() =>
          exists('jiraTicket') ? changeEvent('changeTicket', 'ticket', 'PagerDuty change event: ticket opened') : undefined,
        ),
      );
    }
    const statusPage = closeLoop ? postStatusPage() : runStep('statusPage', 'post status page', () => steps.postStatusPage(stepInput()));
    const room = (async () => {
      await runStep('slackChannel', 'open Slack channel', () => steps.openChannel(stepInput()));
      if (!exists('slackChannel')) return;
      if (closeLoop) background.push(changeEvent('changeRoom', 'room', 'PagerDuty change event: room opened'));
      const inviteEmails = emails ? (await emails).emails : [];
      await runStep('slackInvite', 'invite responders', () => steps.inviteResponders(stepInput({ inviteEmails })));
    })();
    let ticketPending = false;
    roomFurnished = (async () => {
      await room;
      if (!exists('slackChannel')) return;
      await condition(() => state.steps.jiraTicket?.status !== 'pending', TICKET_GRACE);
      ticketPending = state.steps.jiraTicket?.status === 'pending';
      await furnishRoom();
    })();
    const catchUp = (async () => {
      await Promise.all([roomFurnished, ticket]);
      if (ticketPending && exists('jiraTicket')) await showTicketInRoom();
    })();
    await Promise.all([ticket, room]);
    await Promise.all([
      runStep('timelinePost', 'post links to the alerting tool', () => steps.postTimelineNote(stepInput())),
      catchUp,
      statusPage,
    ]);
  };

  /**
   * The status page, per the monitor template of the incident's service. A wait time is a
   * durable timer: an incident resolved within it never reaches the page. With combined alerts
   * the incident joins its monitor's shared StatusCast incident instead of creating its own.
   */
  const postStatusPage = async (): Promise<void> => {
    const settings = await loopSettings;
    const plan = settings.statusPage;
    if (!plan) {
      const detail = settings.noStatusPage ?? 'not configured (StatusCast)';
      state.steps.statusPage = { status: 'skipped', detail };
      record({ actor: 'warroom', what: 'post status page', outcome: 'skipped', detail });
      return;
    }
    state.statusPage = { monitor: plan.monitor, combined: plan.combineAlerts };
    if (plan.waitMs > 0) {
      state.steps.statusPage = { status: 'pending', detail: `waiting ${plan.waitMs / 1000} s (monitor "${plan.monitor}")` };
      record({
        actor: 'warroom',
        what: 'post status page',
        outcome: 'pending',
        detail: `wait time ${plan.waitMs / 1000} s before posting`,
      });
      if (await condition(() => state.status === 'resolved', plan.waitMs)) {
        const detail = `resolved within the ${plan.waitMs / 1000} s wait time: nothing posted`;
        state.steps.statusPage = { status: 'skipped', detail };
        record({ actor: 'warroom', what: 'post status page', outcome: 'skipped', detail });
        return;
      }
    }
    const ref = { monitor: plan.monitor, externalId: state.key };
    const posted = plan.combineAlerts
      ? await runStep('statusPage', `join the status page of monitor "${plan.monitor}"`, () =>
          steps.attachToStatusPage(stepInput({ statusPage: ref })),
        )
      : await runStep('statusPage', 'post status page', () => steps.postStatusPage(stepInput({ statusPage: ref })));
    if (posted.status === 'done' && !plan.combineAlerts) {
      await changeEvent('changeStatusPage', 'statusPage', 'PagerDuty change event: status page posted', {
        statusPage: { ...ref, id: refs.statusPage, draft: !plan.autoPublish },
      });
    }
  };

  /** Closes this incident's part of the status page: its own StatusCast incident, or its place in the shared one. */
  const closeStatusPage = async (by: string): Promise<void> => {
    if (!closeLoop) {
      await runStep('statusPageClose', 'close status page', () => steps.closeStatusPage(stepInput({ actor: by })));
      return;
    }
    const page = state.statusPage;
    if (!page || !exists('statusPage')) return;
    const ref = { monitor: page.monitor, externalId: state.key, id: refs.statusPage };
    if (page.combined) {
      await runStep('statusPageClose', `leave the status page of monitor "${page.monitor}"`, () =>
        steps.detachFromStatusPage(stepInput({ actor: by, statusPage: ref })),
      );
    } else {
      await runStep('statusPageClose', 'close status page', () => steps.closeStatusPage(stepInput({ actor: by, statusPage: ref })));
    }
  };

  /** Tells the room and the paging tool about an acknowledge or resolve. */
  const announceState = (actor: string, note?: string, origin?: string): Promise<unknown>[] => {
    const input = stepInput({ actor, note, origin });
    if (closeLoop) return announceToAll(input);
    const calls: Promise<unknown>[] = [runStep('pagerdutySync', 'sync PagerDuty', () => steps.syncPagerDuty(input))];
    if (exists('slackSummary')) calls.push(runStep('slackSummaryUpdate', 'update the summary', () => steps.updateSummary(input)));
    if (exists('slackChannel')) {
      calls.push(runStep('slackStatusMessage', `tell the channel: ${state.status}`, () => steps.postStatusMessage(input)));
    }
    return calls;
  };

  /**
   * Close-the-loop version: the source tool hears of a change made elsewhere (never of its own),
   * and the webhook it then sends back is recognised as an echo.
   */
  const announceToAll = (input: StepInput): Promise<unknown>[] => {
    const calls: Promise<unknown>[] = [];
    const origin = input.origin ?? state.source;
    if (origin !== state.source && (state.source === 'pagerduty' || state.source === 'victorops')) {
      const [name, what, call] =
        state.source === 'pagerduty'
          ? (['pagerdutySync', 'sync PagerDuty', () => steps.syncPagerDuty(input)] as const)
          : (['victoropsSync', 'sync VictorOps', () => steps.syncVictorOps(input)] as const);
      // Only a status warroom did push makes the tool's next webhook an echo (a skipped sync does not).
      calls.push(
        runStep(name, `${what}: ${input.status}`, call).then((step) => {
          if (step.status === 'done') pushedToSource.add(input.status);
        }),
      );
    }
    if (exists('slackSummary')) calls.push(runStep('slackSummaryUpdate', 'update the summary', () => steps.updateSummary(input)));
    if (exists('slackChannel')) {
      calls.push(runStep('slackStatusMessage', `tell the channel: ${input.status}`, () => steps.postStatusMessage(input)));
    }
    return calls;
  };

  const closeOut = async (by: string, note?: string, origin?: string): Promise<void> => {
    await Promise.all([warRoom, ...background]);
    const input = stepInput({ actor: by, note });
    await Promise.all([
      exists('jiraTicket')
        ? (async () => {
            await runStep('jiraComment', 'comment on the Jira ticket', () => steps.commentTicket(input));
            await runStep('jiraTransition', 'close the Jira ticket', () => steps.transitionTicket(input));
          })()
        : undefined,
      closeStatusPage(by),
      ...announceState(by, note, origin),
    ]);
    if (closeLoop) await changeEvent('changeResolved', 'resolved', 'PagerDuty change event: resolved', { actor: by, origin });
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
    record({ actor: event.actor, what: `${event.kind} from ${originOf(event)}`, outcome, detail });

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
          received(event, 'ignored', isEcho(event) ? "echo of warroom's own change" : 'already acknowledged');
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

  /** A webhook from the source tool reporting a status warroom itself pushed there. */
  const isEcho = (event: IncidentEvent): boolean => {
    if (!closeLoop || event.via || event.source !== state.source) return false;
    const status = event.kind === 'acknowledge' ? 'acknowledged' : event.kind === 'resolve' ? 'resolved' : undefined;
    return status !== undefined && pushedToSource.has(status);
  };

  const acknowledge = (event: IncidentEvent) => {
    state.acknowledgedAt = event.occurredAt;
    state.acknowledgedBy = event.actor;
    setStatus('acknowledged');
    // The room's summary must exist before it can show the new state.
    background.push(roomFurnished.then(() => Promise.all(announceState(event.actor, event.note, originOf(event)))).then(() => undefined));
  };

  /** Applies events until one resolves the incident; continues as new when the history grows long. */
  const untilResolved = async (): Promise<IncidentEvent> => {
    for (;;) {
      await condition(() => queue.length > 0 || workflowInfo().continueAsNewSuggested);
      if (queue.length === 0) {
        await Promise.all([warRoom, ...background]);
        if (queue.length > 0) continue;
        const carried: LegacyCarriedState = { state, seenEventIds: seenOrder, warRoomOpened, refs, assignees: [...assignees] };
        await continueAsNew<typeof legacyIncidentWorkflow>({ ...input, carried });
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
        background.push(Promise.all(announceState(event.actor, event.note, originOf(event))).then(() => undefined));
        return true;
      }
      received(event, 'ignored', isEcho(event) ? "echo of warroom's own change" : 'incident is resolved');
    }
  };

  /** The call that makes a step again, for `retry`; undefined for steps that are not re-run alone. */
  const rerun = (name: StepName): (() => Promise<StepOutcome>) | undefined => {
    const input = stepInput({ actor: state.resolvedBy ?? state.acknowledgedBy, origin: 'retry' });
    const page = state.statusPage;
    const pageRef = page ? { monitor: page.monitor, externalId: state.key, id: refs.statusPage } : undefined;
    const change = (action: NonNullable<StepInput['change']>) => () => steps.sendChangeEvent(stepInput({ change: action }));
    switch (name) {
      case 'jiraTicket':
        return () => steps.openTicket(input);
      case 'slackChannel':
        return () => steps.openChannel(input);
      case 'slackInvite':
        return () => steps.inviteResponders(input);
      case 'slackTopic':
        return () => steps.setChannelTopic(input);
      case 'slackSummary':
        return () => steps.postSummary(input);
      case 'slackPin':
        return () => steps.pinSummary(input);
      case 'slackAnnounce':
        return () => steps.announceChannel(input);
      case 'timelinePost':
        return () => steps.postTimelineNote(input);
      case 'pagerdutySync':
        return () => steps.syncPagerDuty(input);
      case 'victoropsSync':
        return () => steps.syncVictorOps(input);
      case 'jiraComment':
        return () => steps.commentTicket(input);
      case 'jiraTransition':
        return () => steps.transitionTicket(input);
      case 'slackSummaryUpdate':
        return () => steps.updateSummary(input);
      case 'slackStatusMessage':
        return () => steps.postStatusMessage(input);
      case 'slackArchive':
        return () => steps.archiveChannel(input);
      case 'statusPage':
        if (!page || !pageRef) return undefined;
        return page.combined
          ? () => steps.attachToStatusPage(stepInput({ statusPage: pageRef }))
          : () => steps.postStatusPage(stepInput({ statusPage: pageRef }));
      case 'statusPageClose':
        if (!page || !pageRef) return undefined;
        return page.combined
          ? () => steps.detachFromStatusPage(stepInput({ statusPage: pageRef }))
          : () => steps.closeStatusPage(stepInput({ statusPage: pageRef }));
      case 'changeTicket':
        return change('ticket');
      case 'changeRoom':
        return change('room');
      case 'changeStatusPage':
        return change('statusPage');
      case 'changeResolved':
        return change('resolved');
      default:
        return undefined;
    }
  };

  /** `retry`: re-runs every failed step; a room or ticket that now exists gets what it missed. */
  const retryFailed = async (note: ActorNote): Promise<void> => {
    const failed = Object.entries(state.failures ?? {}) as Array<[StepName, { what: string }]>;
    if (failed.length === 0) {
      record({ actor: note.by, what: 'retry failed steps', outcome: 'ignored', detail: 'no step has failed' });
      return;
    }
    record({ actor: note.by, what: 'retry failed steps', outcome: 'ok', detail: failed.map(([, failure]) => failure.what).join(', ') });
    const recovered: StepName[] = [];
    for (const [name, failure] of failed) {
      const call = rerun(name);
      if (!call) continue;
      if ((await runStep(name, failure.what, call)).status === 'done') recovered.push(name);
    }
    if (recovered.includes('slackChannel')) {
      await runStep('slackInvite', 'invite responders', () => steps.inviteResponders(stepInput()));
      await furnishRoom();
    } else if (recovered.includes('jiraTicket') && exists('slackChannel')) {
      await showTicketInRoom();
    }
    if (recovered.includes('jiraTicket')) await changeEvent('changeTicket', 'ticket', 'PagerDuty change event: ticket opened');
  };

  if (closeLoop) {
    if (warRoomOpened) loopSettings = lookups.closeLoopSettings(stepInput()).catch(() => NO_CLOSE_LOOP);
    void (async () => {
      for (;;) {
        await condition(() => retryRequests.length > 0);
        const request = retryRequests.shift() as ActorNote;
        const retrying = retryFailed(request);
        background.push(retrying);
        await retrying;
      }
    })();
  }

  /** Steps still running in the background (failure alerts, change events) finish before the run does. */
  const finished = async (): Promise<IncidentState> => {
    if (closeLoop) await Promise.all(background);
    return state;
  };

  for (;;) {
    const resolution = await untilResolved();
    if (!warRoomOpened) {
      if (!state.title) state.title = `${state.source} incident ${state.externalId}`;
      record({ actor: 'warroom', what: 'close out', outcome: 'skipped', detail: 'resolved before anything was opened' });
      return finished();
    }
    await closeOut(resolution.actor, resolution.note, originOf(resolution));
    if (!exists('slackChannel')) return finished();
    if (await reopenedBeforeArchive()) continue;
    await runStep('slackArchive', 'archive the Slack channel', () => steps.archiveChannel(stepInput()));
    return finished();
  }
}
