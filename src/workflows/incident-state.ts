/**
 * An incident's state and its transitions, as pure code: an event goes in, the state changes and
 * the effects to run come out. No Temporal here (the workflow runs the effects), so every rule is
 * unit-tested on tables of event sequences (test/incident-state.test.ts).
 */
import type {
  ActorNote,
  IncidentEvent,
  IncidentNote,
  IncidentState,
  IncidentStatus,
  Severity,
  StepFailureRecord,
  StepName,
  StepRecord,
  TimelineEntry,
} from '../shared/incident.js';
import { originOf } from '../shared/incident.js';
import type { IncidentActionResult, NoteResult } from '../shared/messages.js';
import { defaultTitle, spanText } from '../shared/text.js';

/** Timeline entries the state keeps; older ones are counted (the run's history keeps them all). */
export const TIMELINE_LIMIT = 300;
/** Event ids remembered for de-duplication; older ones fall off (sources retry within minutes). */
export const SEEN_EVENT_LIMIT = 1000;
/** Repeated alerts after this many are counted, not each written to the timeline. */
export const REPEATS_ON_TIMELINE = 20;
/** Links, responders, assignees and details an incident keeps at most (a repeat storm adds no more). */
export const LIST_LIMIT = 100;

/** A change of status the room and the tools are told about: who made it, why, and through what. */
export interface Change {
  status: IncidentStatus;
  actor?: string;
  note?: string;
  /** A source name, `slack`, `api`, `signal` or `retry`: a tool is never told about its own change. */
  origin: string;
}

/** What the workflow does because of a transition. */
export type Effect =
  | { kind: 'openWarRoom' }
  | { kind: 'announce'; change: Change }
  | { kind: 'searchAttributes'; status?: IncidentStatus; severity?: Severity }
  /** The incident is open (again): its escalation and reminder timers start. */
  | { kind: 'watch' }
  | { kind: 'escalate' }
  | { kind: 'remind' };

/** What a run carries into the next through continue-as-new: bounded, whatever the incident's length. */
export interface CarriedIncident {
  version: 2;
  state: IncidentState;
  seenEventIds: string[];
  opened: boolean;
  assignees: string[];
  pushedToSource: IncidentStatus[];
  actions: number;
}

/** What warroom 0.1 carried through continue-as-new (`src/workflows/legacy/incident-v1.ts`). */
export interface LegacyCarried {
  state: IncidentState;
  seenEventIds: string[];
  warRoomOpened: boolean;
  refs: Record<string, string>;
  assignees: string[];
}

type Clock = () => Date;

const statusOfKind = (kind: IncidentEvent['kind']): IncidentStatus | undefined =>
  kind === 'acknowledge' ? 'acknowledged' : kind === 'resolve' ? 'resolved' : undefined;

/** One incident: its state, and a method per domain event. */
export class Incident {
  /** Set once the war room is opening (the first trigger, acknowledge or reopen). */
  opened: boolean;
  /** The resolve being closed out. */
  resolution?: Change;
  /** Opening events that arrived after the run closed: the next run starts with them. */
  readonly late: IncidentEvent[] = [];
  private readonly seen: Set<string>;
  private readonly seenOrder: string[];
  private readonly assignees: Set<string>;
  /** Statuses warroom itself pushed to the source tool: the webhook that comes back is an echo. */
  private readonly pushedToSource: Set<IncidentStatus>;
  /** Events held while steps close the incident out or archive it; applied once they are done. */
  private deferred: IncidentEvent[] | undefined;
  private closed = false;
  private actions: number;

  private constructor(
    readonly state: IncidentState,
    carried: Omit<CarriedIncident, 'state' | 'version'>,
    private readonly now: Clock,
  ) {
    this.opened = carried.opened;
    this.seenOrder = carried.seenEventIds.slice(-SEEN_EVENT_LIMIT);
    this.seen = new Set(this.seenOrder);
    this.assignees = new Set(carried.assignees);
    this.pushedToSource = new Set(carried.pushedToSource);
    this.actions = carried.actions;
  }

  /** A new incident, before its first event. */
  static start(ids: { key: string; workflowId: string; source: string; externalId: string }, now: Clock = () => new Date()): Incident {
    const state: IncidentState = {
      ...ids,
      title: '',
      status: 'triggered',
      triggeredAt: now().toISOString(),
      links: [],
      responders: [],
      steps: {},
      timeline: [],
      repeatCount: 0,
    };
    return new Incident(state, { seenEventIds: [], opened: false, assignees: [], pushedToSource: [], actions: 0 }, now);
  }

  /** The incident a previous run carried, from this version or from warroom 0.1. */
  static resume(carried: CarriedIncident | LegacyCarried, now: Clock = () => new Date()): Incident {
    const incident =
      'version' in carried
        ? new Incident(carried.state, carried, now)
        : new Incident(
            carried.state,
            {
              seenEventIds: carried.seenEventIds,
              opened: carried.warRoomOpened,
              assignees: carried.assignees,
              pushedToSource: [],
              actions: 0,
            },
            now,
          );
    incident.trimTimeline();
    return incident;
  }

  get status(): IncidentStatus {
    return this.state.status;
  }

  /** What continues in the next run: the state (bounded) and what de-duplication and echo detection need. */
  carry(): CarriedIncident {
    return {
      version: 2,
      state: this.state,
      seenEventIds: [...this.seenOrder],
      opened: this.opened,
      assignees: [...this.assignees],
      pushedToSource: [...this.pushedToSource],
      actions: this.actions,
    };
  }

  /** What an acknowledge or resolve update answers. */
  summary(): IncidentActionResult {
    const { key, workflowId, status, acknowledgedAt, acknowledgedBy, resolvedAt, resolvedBy } = this.state;
    return { key, workflowId, status, acknowledgedAt, acknowledgedBy, resolvedAt, resolvedBy };
  }

  /** The assignees' source ids (PagerDuty users), for the e-mail look-up. */
  assigneeIds(): string[] {
    return [...this.assignees];
  }

  // ---- events -------------------------------------------------------------------------------

  /** A webhook's event: repeats of one delivery are dropped, events of another incident ignored. */
  receive(event: IncidentEvent): Effect[] {
    if (event.key !== this.state.key) {
      this.ignore(event.actor || 'signal', `${event.kind} for another incident`, `addressed to ${event.key}`);
      return [];
    }
    if (!this.remember(event.eventId)) return [];
    return this.apply(event);
  }

  /** An acknowledge or resolve from a person or service (Slack, the API, a signal or an update). */
  act(kind: 'acknowledge' | 'resolve', note: ActorNote): Effect[] {
    this.actions += 1;
    return this.apply({
      source: this.state.source,
      externalId: this.state.externalId,
      key: this.state.key,
      kind,
      eventId: `signal-${kind}-${this.actions}`,
      actor: note.by,
      note: note.note,
      links: [],
      occurredAt: this.now().toISOString(),
      via: note.via ?? 'signal',
    });
  }

  /** Why an acknowledge or resolve would change nothing now; undefined when it would. */
  refusal(kind: 'acknowledge' | 'resolve'): string | undefined {
    if (this.closed) return 'the incident is closed';
    if (this.status === 'resolved') return 'already resolved';
    if (kind === 'acknowledge' && this.status === 'acknowledged') return 'already acknowledged';
    return undefined;
  }

  /**
   * A status update (`/incident note`): on the timeline as its author's, and remembered as the
   * incident's latest update (`lastUpdateAt`: a reminder asks only when none came since the last).
   * A repeat of its id changes nothing.
   */
  note(note: IncidentNote): NoteResult {
    const repeat = note.id !== undefined && !this.remember(`note-${note.id}`);
    if (!repeat) {
      const entry = this.record({ actor: note.by, what: `note from ${note.via ?? 'signal'}`, outcome: 'ok', detail: note.note });
      this.state.lastUpdateAt = entry.at;
      this.state.lastUpdateBy = note.by;
    }
    const { key, workflowId, lastUpdateAt, lastUpdateBy } = this.state;
    return { key, workflowId, repeat, lastUpdateAt, lastUpdateBy };
  }

  /** Why a note would not go on the record now (the run has closed, or a note with its id is on it); undefined when it would. */
  noteRefusal(note?: Pick<IncidentNote, 'id'>): string | undefined {
    if (this.closed) return 'the incident is closed';
    if (note?.id !== undefined && this.seen.has(`note-${note.id}`)) return 'this update was recorded already';
    return undefined;
  }

  /** Something that reached the run and changes nothing (a malformed signal, a refused request), on the record with why. */
  ignore(actor: string, what: string, why: string): void {
    this.record({ actor, what, outcome: 'ignored', detail: why });
  }

  private apply(event: IncidentEvent): Effect[] {
    if (this.closed) return this.afterClose(event);
    if (this.deferred) {
      this.deferred.push(event);
      return [];
    }
    if (!this.opened && (event.kind === 'trigger' || event.kind === 'acknowledge' || event.kind === 'reopen')) return this.open(event);
    if (this.status === 'resolved') return this.whileResolved(event);
    switch (event.kind) {
      case 'trigger':
        return this.repeat(event);
      case 'acknowledge':
        return this.acknowledge(event);
      case 'reopen':
        this.received(event, 'ok', event.note);
        return [...this.setStatus('triggered'), ...this.rewatch()];
      case 'annotate':
        this.received(event, 'ok', event.note);
        return [];
      case 'update':
        return this.update(event);
      case 'resolve':
        return this.resolve(event);
    }
  }

  /** The first trigger, acknowledge or reopen: the war room opens. */
  private open(event: IncidentEvent): Effect[] {
    this.adopt(event);
    if (!this.state.title) this.state.title = defaultTitle(this.state);
    this.state.triggeredAt = event.occurredAt;
    this.received(event, 'ok', event.note);
    this.opened = true;
    const effects: Effect[] = [{ kind: 'openWarRoom' }, { kind: 'watch' }];
    if (this.state.severity) effects.unshift({ kind: 'searchAttributes', severity: this.state.severity });
    if (event.kind === 'acknowledge') effects.push(...this.acknowledge(event, true));
    return effects;
  }

  /** The same incident triggered again while open: counted, folded in, never a new room. */
  private repeat(event: IncidentEvent): Effect[] {
    this.state.repeatCount += 1;
    this.adopt(event);
    if (this.state.repeatCount <= REPEATS_ON_TIMELINE) this.received(event, 'ignored', `repeated alert #${this.state.repeatCount}`);
    return [];
  }

  private acknowledge(event: IncidentEvent, opening = false): Effect[] {
    if (!opening) {
      if (this.status === 'acknowledged') {
        this.received(event, 'ignored', this.isEcho(event) ? "echo of warroom's own change" : 'already acknowledged');
        return [];
      }
      this.received(event, 'ok', event.note);
    }
    this.state.acknowledgedAt = event.occurredAt;
    this.state.acknowledgedBy = event.actor;
    return [...this.setStatus('acknowledged'), { kind: 'announce', change: this.changeOf(event, 'acknowledged') }];
  }

  private update(event: IncidentEvent): Effect[] {
    this.adopt(event);
    this.received(event, 'ok', event.note);
    return event.severity ? [{ kind: 'searchAttributes', severity: event.severity }] : [];
  }

  private resolve(event: IncidentEvent): Effect[] {
    this.received(event, 'ok', event.note);
    if (event.title && !this.state.title) this.state.title = event.title;
    this.state.resolvedAt = event.occurredAt;
    this.state.resolvedBy = event.actor;
    this.state.resolves = (this.state.resolves ?? 0) + 1;
    this.resolution = this.changeOf(event, 'resolved');
    if (!this.opened) {
      if (!this.state.title) this.state.title = defaultTitle(this.state);
      this.record({ actor: 'warroom', what: 'close out', outcome: 'skipped', detail: 'resolved before anything was opened' });
    }
    return this.setStatus('resolved');
  }

  /** Resolved and closed out, the room not yet archived: a new alert reopens the incident in the same room. */
  private whileResolved(event: IncidentEvent): Effect[] {
    if (event.kind !== 'trigger' && event.kind !== 'reopen') {
      this.received(event, 'ignored', this.isEcho(event) ? "echo of warroom's own change" : 'incident is resolved');
      return [];
    }
    this.received(event, 'ok', 'reopened after resolve');
    this.state.resolvedAt = undefined;
    this.state.resolvedBy = undefined;
    this.resolution = undefined;
    return [...this.setStatus('triggered'), { kind: 'announce', change: this.changeOf(event, 'triggered') }, ...this.rewatch()];
  }

  /**
   * After the run closed: a webhook that would open an incident is kept for the next run (it was
   * accepted, so it must not be lost); anything else changes nothing.
   */
  private afterClose(event: IncidentEvent): Effect[] {
    const opens = !event.via && (event.kind === 'trigger' || event.kind === 'acknowledge' || event.kind === 'reopen');
    if (opens) this.late.push(event);
    this.received(event, 'ignored', opens ? 'the incident is closed: a new run opens it again' : 'the incident is closed');
    return [];
  }

  // ---- timers: escalation and reminders ------------------------------------------------------

  /**
   * Milliseconds until the incident escalates unless acknowledged; undefined once this opening has
   * escalated. The wait is fixed when it first starts, so a continued run keeps the same deadline.
   */
  escalationDue(afterMs: number): number | undefined {
    const escalation = (this.state.escalation ??= { count: 0 });
    if (escalation.escalated) return undefined;
    escalation.afterMs = afterMs;
    escalation.dueAt ??= new Date(this.now().getTime() + afterMs).toISOString();
    return Math.max(0, Date.parse(escalation.dueAt) - this.now().getTime());
  }

  /** The wait ran out: still unacknowledged, the incident escalates (a page and the room told), once per opening. */
  escalate(): Effect[] {
    const escalation = this.state.escalation;
    if (this.status !== 'triggered' || !escalation?.dueAt || escalation.escalated) return [];
    escalation.count += 1;
    escalation.escalated = true;
    this.record({
      actor: 'warroom',
      what: 'escalate',
      outcome: 'ok',
      detail: `nobody acknowledged within ${spanText(escalation.afterMs ?? 0)}`,
    });
    return [{ kind: 'escalate' }];
  }

  /** Milliseconds until the room is next asked for an update: `everyMs` after the last reminder (or the opening). */
  reminderDue(everyMs: number): number {
    const since = Date.parse(this.state.remindedAt ?? this.state.triggeredAt);
    return Math.max(0, since + everyMs - this.now().getTime());
  }

  /** A reminder is due: the room is asked, unless someone posted an update since the last reminder (then the clock restarts). */
  remind(): Effect[] {
    const last = this.state.remindedAt ?? this.state.triggeredAt;
    this.state.remindedAt = this.now().toISOString();
    if (this.state.lastUpdateAt && this.state.lastUpdateAt > last) return [];
    return [{ kind: 'remind' }];
  }

  /** The incident is open again (reopened): a new escalation wait, and the reminder clock restarts. */
  private rewatch(): Effect[] {
    if (this.state.escalation) this.state.escalation = { count: this.state.escalation.count };
    this.state.remindedAt = this.now().toISOString();
    return [{ kind: 'watch' }];
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Close-out or archive begins: events wait until it is done, so the steps see one state. */
  holdEvents(): void {
    this.deferred ??= [];
  }

  /** Close-out or archive is done: the held events apply now (a new alert reopens the incident). */
  releaseEvents(): Effect[] {
    const held = this.deferred ?? [];
    this.deferred = undefined;
    return held.flatMap((event) => this.apply(event));
  }

  /** The run is finishing: held events, and what arrives from now on, belong to the next run. */
  close(): void {
    this.closed = true;
    const held = this.deferred ?? [];
    this.deferred = undefined;
    for (const event of held) this.afterClose(event);
  }

  // ---- steps --------------------------------------------------------------------------------

  /** A step started (or is waiting, with why). */
  stepPending(name: StepName, detail?: string): void {
    this.state.steps[name] = detail ? { status: 'pending', detail } : { status: 'pending' };
  }

  /** A step settled: recorded on the timeline, its link kept. Returns the failure it recovered from, if any. */
  stepSettled(name: StepName, what: string, result: StepRecord): StepFailureRecord | undefined {
    this.state.steps[name] = result;
    this.record({ actor: 'warroom', what, outcome: result.status === 'done' ? 'ok' : result.status, detail: result.detail });
    if (result.status === 'done' && result.url && !this.state.links.some((link) => link.url === result.url)) {
      this.state.links.push({ label: what, url: result.url });
    }
    if (result.status !== 'done') return undefined;
    const failure = this.state.failures?.[name];
    if (failure) delete this.state.failures?.[name];
    return failure;
  }

  /** A step failed for good. Returns true when a PagerDuty alert should be raised for it (none is open yet). */
  stepFailed(name: StepName, what: string, error: string): boolean {
    const failures = (this.state.failures ??= {});
    const open = failures[name]?.alert === 'open';
    failures[name] = { what, error, alert: open ? 'open' : 'none' };
    this.stepSettled(name, what, { status: 'failed', detail: error });
    return !open;
  }

  /** The failure alert for a step was raised. False when the step recovered meanwhile: the alert must be resolved at once. */
  alertRaised(name: StepName): boolean {
    const failure = this.state.failures?.[name];
    if (failure) failure.alert = 'open';
    return failure !== undefined;
  }

  /** Failed steps, oldest failure first. */
  failedSteps(): Array<[StepName, StepFailureRecord]> {
    return Object.entries(this.state.failures ?? {}) as Array<[StepName, StepFailureRecord]>;
  }

  /** The incident has a status page: its monitor, and whether it shares the monitor's incident (combined alerts). */
  statusPagePlanned(monitor: string, combined: boolean): void {
    this.state.statusPage ??= { monitor, combined };
  }

  /** warroom told the source tool this status itself: the webhook that comes back is an echo. */
  pushedStatus(status: IncidentStatus): void {
    this.pushedToSource.add(status);
  }

  /** One entry on the timeline (returned); past TIMELINE_LIMIT the oldest are counted instead of kept. */
  record(entry: Omit<TimelineEntry, 'at'>): TimelineEntry {
    const recorded = { at: this.now().toISOString(), ...entry };
    this.state.timeline.push(recorded);
    this.trimTimeline();
    return recorded;
  }

  // ---- internals ----------------------------------------------------------------------------

  private remember(eventId: string): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    this.seenOrder.push(eventId);
    if (this.seenOrder.length > SEEN_EVENT_LIMIT) this.seen.delete(this.seenOrder.shift() as string);
    return true;
  }

  private trimTimeline(): void {
    const excess = this.state.timeline.length - TIMELINE_LIMIT;
    if (excess <= 0) return;
    this.state.timeline.splice(0, excess);
    this.state.olderEntries = (this.state.olderEntries ?? 0) + excess;
  }

  /** What an event tells about the incident, kept within LIST_LIMIT. */
  private adopt(event: IncidentEvent): void {
    const { state } = this;
    if (event.title) state.title = event.title;
    if (event.severity) state.severity = event.severity;
    if (event.service) state.service = event.service;
    for (const link of event.links) {
      if (state.links.length < LIST_LIMIT && !state.links.some((known) => known.url === link.url)) state.links.push(link);
    }
    for (const email of event.responders ?? []) {
      if (state.responders.length < LIST_LIMIT && !state.responders.includes(email)) state.responders.push(email);
    }
    for (const id of event.slackResponders ?? []) {
      const invited = (state.slackResponders ??= []);
      if (invited.length < LIST_LIMIT && !invited.includes(id)) invited.push(id);
    }
    for (const id of event.assignees ?? []) if (this.assignees.size < LIST_LIMIT) this.assignees.add(id);
    if (event.details) {
      const merged = { ...state.details, ...event.details };
      state.details = Object.fromEntries(Object.entries(merged).slice(0, LIST_LIMIT));
    }
  }

  private setStatus(status: IncidentStatus): Effect[] {
    this.state.status = status;
    return [{ kind: 'searchAttributes', status }];
  }

  private received(event: IncidentEvent, outcome: TimelineEntry['outcome'], detail?: string): void {
    this.record({ actor: event.actor, what: `${event.kind} from ${originOf(event)}`, outcome, detail });
  }

  private changeOf(event: IncidentEvent, status: IncidentStatus): Change {
    return { status, actor: event.actor, note: event.note, origin: originOf(event) };
  }

  /** A webhook from the source tool reporting a status warroom itself pushed there. */
  private isEcho(event: IncidentEvent): boolean {
    if (event.via || event.source !== this.state.source) return false;
    const status = statusOfKind(event.kind);
    return status !== undefined && this.pushedToSource.has(status);
  }
}
