/**
 * Runs the step table (src/workflows/steps.ts) for one incident: each step waits for what it
 * needs, runs its one activity, goes on the record, and starts what follows it. Every piece of
 * work it starts is counted, so the workflow can wait for all of it before it continues as new or
 * completes (nothing started is ever dropped).
 */
import {
  ActivityFailure,
  condition,
  log,
  patched,
  proxyActivities,
  proxySinks,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, IncidentSettings, StepOutcome } from '../activities/index.js';
import { budgetQueue, stepPriority, type BudgetName } from '../shared/budgets.js';
import type { ActorNote, StepFailureRecord, StepName } from '../shared/incident.js';
import type { StepMetricOutcome, StepMetricSinks } from '../shared/step-metrics.js';
import { vendorCall } from './activity-options.js';
import type { Change, Incident } from './incident-state.js';
import { exists, PATHS, STEPS, stepInput, stepWords, type ActiveStep, type StepContext, type StepSpec } from './steps.js';

/** Reads that only inform steps (settings) must not hold them for long. */
const lookups = proxyActivities<Activities>({ ...vendorCall, scheduleToCloseTimeout: '1 minute' });

/**
 * The worker counts each run of a step by outcome and times it (src/temporal/step-metrics.ts): once
 * per run of a step however many attempts its activity took. Never while a run replays: replays
 * would count again what the first execution counted.
 */
const { stepMetrics } = proxySinks<StepMetricSinks>();
function countStep(step: StepName, outcome: StepMetricOutcome, calledAt?: number): void {
  if (workflowInfo().unsafe.isReplaying) return;
  stepMetrics.settled(step, outcome, calledAt === undefined ? undefined : (Date.now() - calledAt) / 1000);
}

/** What a run does when its settings could not be read: no status page, change events or failure alerts; the default archive delay. */
const NO_SETTINGS: IncidentSettings = { changeEvents: false, failureAlerts: false, archiveDelayMs: 86_400_000 };

/** An activity's failure in the words the timeline shows: the vendor's message, never a stack. */
export function failureDetail(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

const isActive = (name: StepName): name is ActiveStep => name in STEPS;

/**
 * Patch id of indexing what a step made as a search attribute (the room's channel, issue 12): runs
 * recorded before it replay without the upsert. Never rename.
 */
export const INDEXED_STEPS = 'indexed-steps';

/** The steps of one incident run, and every piece of work they start. */
export class StepRunner {
  /** Runs of each step, scheduled or running, in order: a step never runs twice at once. */
  private readonly queues = new Map<StepName, number[]>();
  private tickets = 0;
  private working = 0;
  private retrying = false;
  private settings: Promise<IncidentSettings>;
  private settingsRead?: IncidentSettings;
  private assigneeEmails: Promise<string[]> = Promise.resolve([]);
  /** Activity proxies by budget and priority: a step's call waits in its vendor budget's queue, in the incident's priority. */
  private readonly proxies = new Map<string, Activities>();

  constructor(
    private readonly incident: Incident,
    /** Settings a previous run of this incident read (continue-as-new). */
    carried?: IncidentSettings,
    /** Vendor calls wait in their budgets' task queues; false: the workflows' own queue, unpaced. */
    private readonly paced = true,
  ) {
    this.settingsRead = carried;
    this.settings = Promise.resolve(carried ?? NO_SETTINGS);
    // A run continued from warroom 0.1 carries none: read them again, as 0.1 did.
    if (!carried && incident.opened) this.readSettings();
  }

  /** Nothing is running or waiting to run. */
  get idle(): boolean {
    return this.working === 0;
  }

  /** The settings this run read, for the next run (continue-as-new). */
  get carriedSettings(): IncidentSettings | undefined {
    return this.settingsRead;
  }

  /** The settings read when the war room opened (close-out needs the archive delay). */
  settingsForClose(): Promise<IncidentSettings> {
    return this.settings;
  }

  /** The war room: settings and assignee e-mails are read while the ticket, room and status page start. */
  open(): void {
    this.readSettings();
    const ids = this.incident.assigneeIds();
    if (ids.length > 0) {
      const assignees = this.activitiesFor('pagerduty-rest', true, { scheduleToCloseTimeout: '1 minute' });
      this.assigneeEmails = this.track(
        assignees.assigneeEmails(stepInput(this.incident.state, ids)).then(
          (found) => found.emails,
          () => [],
        ),
      );
    }
    void this.run(PATHS.open);
  }

  /** Starts a path's steps; settles when they have (what follows them is still counted in `idle`). */
  async run(path: readonly ActiveStep[], change?: Change): Promise<void> {
    await Promise.all(path.map((name) => this.schedule(name, change)));
  }

  /** Why a retry would do nothing now; undefined when it would re-run something. */
  retryRefusal(): string | undefined {
    if (this.retrying) return 'a retry is already running';
    if (this.retriable().length === 0) return 'no step has failed';
    return undefined;
  }

  /** `retry`: re-runs every failed step; what follows a recovered step runs as on the first time. Returns their words. */
  retry(note: ActorNote): string[] {
    const failed = this.retriable();
    const words = failed.map(([, failure]) => failure.what);
    this.incident.record({ actor: note.by, what: 'retry failed steps', outcome: 'ok', detail: words.join(', ') });
    const change: Change = {
      status: this.incident.status,
      origin: 'retry',
      actor: this.incident.state.resolvedBy ?? this.incident.state.acknowledgedBy,
    };
    this.retrying = true;
    void this.track(Promise.all(failed.map(([name]) => this.schedule(name, change)))).finally(() => {
      this.retrying = false;
    });
    return words;
  }

  private retriable(): Array<[ActiveStep, StepFailureRecord]> {
    return this.incident
      .failedSteps()
      .filter((entry): entry is [ActiveStep, StepFailureRecord] => isActive(entry[0]) && STEPS[entry[0]].retry);
  }

  private readSettings(): void {
    this.settings = this.track(
      lookups.incidentSettings(stepInput(this.incident.state, this.incident.assigneeIds())).then(
        (settings) => settings,
        (err: unknown) => {
          this.incident.record({
            actor: 'warroom',
            what: 'read status page and PagerDuty settings',
            outcome: 'failed',
            detail: failureDetail(err),
          });
          return NO_SETTINGS;
        },
      ),
    );
    void this.settings.then((settings) => {
      this.settingsRead = settings;
      if (settings.statusPage) this.incident.statusPagePlanned(settings.statusPage.monitor, settings.statusPage.combineAlerts);
    });
  }

  /** Counts a piece of work until it settles. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.working += 1;
    return work.finally(() => {
      this.working -= 1;
    });
  }

  private busy(name: StepName): boolean {
    return (this.queues.get(name)?.length ?? 0) > 0;
  }

  /**
   * Queues one run of a step and starts it. Work in workflow code is counted in promises: the SDK
   * records a stack trace for every promise a workflow creates, so a step awaits only what it must.
   */
  private schedule(name: ActiveStep, change?: Change): Promise<void> {
    const ticket = ++this.tickets;
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = []));
    queue.push(ticket);
    this.working += 1;
    return this.runStep(name, change, queue, ticket);
  }

  /** Until this is the step's next run and what it needs and runs after have settled; a grace bounds the wait for those that have one. */
  private async waitForTurn(spec: StepSpec<ActiveStep>, queue: number[], ticket: number): Promise<void> {
    const settled = (names: readonly StepName[]) => names.every((name) => !this.busy(name));
    const strict = [...(spec.needs ?? []), ...(spec.after ?? []).flatMap((dep) => (typeof dep === 'string' ? [dep] : []))];
    const graced = (spec.after ?? []).flatMap((dep) => (typeof dep === 'string' ? [] : [dep]));
    const ready = () => queue[0] === ticket && settled(strict);
    const withGraced = () => ready() && settled(graced.map((dep) => dep.step));
    if (graced[0] && !withGraced()) await condition(withGraced, graced[0].grace);
    if (!ready()) await condition(ready);
  }

  private async runStep(name: ActiveStep, change: Change | undefined, queue: number[], ticket: number): Promise<void> {
    try {
      await this.runTurn(name, change, queue, ticket);
    } finally {
      queue.splice(queue.indexOf(ticket), 1);
      this.working -= 1;
    }
  }

  private async runTurn(name: ActiveStep, change: Change | undefined, queue: number[], ticket: number): Promise<void> {
    const spec: StepSpec<ActiveStep> = STEPS[name];
    const { incident } = this;
    const ctx: StepContext = {
      state: incident.state,
      change,
      settings: this.settings,
      assigneeEmails: this.assigneeEmails,
      runId: workflowInfo().runId,
    };
    await this.waitForTurn(spec, queue, ticket);
    if (!(spec.needs ?? []).every((need) => exists(incident.state, need))) return;
    if (spec.once && incident.state.steps[name]?.status === 'done') return;
    // A plain answer is used as it is: awaiting it would cost a promise (and its stack trace).
    const asked = spec.when?.(ctx) ?? true;
    const guard = asked instanceof Promise ? await asked : asked;
    if (guard === false) return;
    const what = stepWords(spec, ctx);
    if (guard !== true) {
      incident.stepSettled(name, what, { status: 'skipped', detail: guard.skip });
      countStep(name, 'skipped');
      return;
    }
    if (spec.delay && incident.state.steps[name] === undefined && (await this.delayed(name, what, spec, ctx))) return;

    const extra = spec.input?.(ctx);
    const input = stepInput(incident.state, incident.assigneeIds(), change, extra instanceof Promise ? await extra : extra);
    incident.stepPending(name);
    // Workflow time: from the task that called the activity to the task that saw its outcome.
    const calledAt = Date.now();
    let outcome: StepOutcome;
    try {
      outcome = await spec.call(
        this.activitiesFor(typeof spec.budget === 'function' ? spec.budget(ctx) : spec.budget, spec.opens),
        input,
        ctx,
      );
    } catch (err) {
      countStep(name, 'failed', calledAt);
      this.failed(name, what, failureDetail(err));
      return;
    }
    countStep(name, outcome.status, calledAt);
    if (outcome.status !== 'done') {
      incident.stepSettled(name, what, { status: 'skipped', detail: outcome.detail });
      return;
    }
    const recovered = incident.stepSettled(name, what, {
      status: 'done',
      detail: outcome.detail,
      ref: outcome.ref,
      url: outcome.url,
      name: outcome.name,
    });
    if (recovered?.alert === 'open') void this.track(this.resolveAlert(name, recovered));
    if (spec.indexAs && outcome.ref && patched(INDEXED_STEPS)) upsertSearchAttributes([{ key: spec.indexAs, value: outcome.ref }]);
    if (spec.echoes) incident.pushedStatus(input.status);
    // Scheduled before this run leaves its queue, so steps waiting on it also wait for what follows.
    for (const next of spec.then ?? []) {
      if (typeof next === 'string') void this.schedule(next, change);
      else if (incident.state.steps[next.onlyIfRan] !== undefined) void this.schedule(next.step, change);
    }
  }

  /** A wait before the step's first run (a durable timer). True when a resolve came first and the step is skipped. */
  private async delayed(name: ActiveStep, what: string, spec: StepSpec<ActiveStep>, ctx: StepContext): Promise<boolean> {
    const delay = await spec.delay?.(ctx);
    if (!delay) return false;
    this.incident.stepPending(name, delay.waiting);
    this.incident.record({ actor: 'warroom', what, outcome: 'pending', detail: delay.announced });
    if (!(await condition(() => this.incident.status === 'resolved', delay.ms))) return false;
    this.incident.stepSettled(name, what, { status: 'skipped', detail: delay.cancelled });
    countStep(name, 'skipped');
    return true;
  }

  /** A step failed for good: on the record, and one PagerDuty alert per incident and step. */
  private failed(name: ActiveStep, what: string, error: string): void {
    log.error('step failed', { step: name, error });
    if (this.incident.stepFailed(name, what, error)) void this.track(this.raiseAlert(name, what, error));
  }

  private async raiseAlert(name: ActiveStep, what: string, error: string): Promise<void> {
    if (!(await this.settings).failureAlerts) return;
    const entry = `page someone: "${what}" failed`;
    try {
      await this.alerts().raiseFailureAlert(this.alertInput(name, what, error));
      this.incident.record({ actor: 'warroom', what: entry, outcome: 'ok', detail: error });
      // A retry that succeeded while the alert was on its way: the alert is resolved right after.
      if (!this.incident.alertRaised(name)) await this.resolveAlert(name, { what, error, alert: 'open' });
    } catch (err) {
      this.incident.record({ actor: 'warroom', what: entry, outcome: 'failed', detail: failureDetail(err) });
    }
  }

  private async resolveAlert(name: ActiveStep, failure: StepFailureRecord): Promise<void> {
    const entry = `resolve the alert for "${failure.what}"`;
    try {
      await this.alerts().resolveFailureAlert(this.alertInput(name, failure.what, failure.error));
      this.incident.record({ actor: 'warroom', what: entry, outcome: 'ok' });
    } catch (err) {
      this.incident.record({ actor: 'warroom', what: entry, outcome: 'failed', detail: failureDetail(err) });
    }
  }

  /** warroom's own alerts go first in PagerDuty's Events budget: a failed automation needs a person. */
  private alerts(): Activities {
    return this.activitiesFor('pagerduty-events', true);
  }

  /** The activities as a step of this incident calls them: in its budget's task queue (none: the workflows' own), in its priority. */
  private activitiesFor(budget: BudgetName | undefined, opens = false, options: { scheduleToCloseTimeout?: string } = {}): Activities {
    const priorityKey = stepPriority(this.incident.state.severity, opens);
    const key = `${budget ?? ''} ${priorityKey} ${options.scheduleToCloseTimeout ?? ''}`;
    let proxy = this.proxies.get(key);
    if (!proxy) {
      proxy = proxyActivities<Activities>({
        ...vendorCall,
        ...options,
        ...(budget && this.paced ? { taskQueue: budgetQueue(workflowInfo().taskQueue, budget) } : {}),
        priority: { priorityKey },
      });
      this.proxies.set(key, proxy);
    }
    return proxy;
  }

  private alertInput(step: ActiveStep, what: string, error: string) {
    return stepInput(this.incident.state, this.incident.assigneeIds(), undefined, { failure: { step, what, error } });
  }
}
