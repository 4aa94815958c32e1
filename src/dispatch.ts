import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowClientInterceptor,
  type WorkflowSignalWithStartInput,
} from '@temporalio/client';
import { mapToPayloads, toPayloads } from '@temporalio/common';
import type { AcceptedDeliveries } from './accepted-deliveries.js';
import { workflowIdFor } from './shared/ids.js';
import type { ActorNote, IncidentEvent, IncidentNote, IncidentState } from './shared/incident.js';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  incidentEventSignal,
  incidentQuery,
  INCIDENT_WORKFLOW,
  noteUpdate,
  resolveSignal,
  resolveUpdate,
  retrySignal,
  retryUpdate,
  type IncidentActionResult,
  type NoteResult,
} from './shared/messages.js';
import { channelKey, keyKey, severityKey, sourceKey, statusKey } from './shared/search-attributes.js';
import type { IncidentWorkflowInput } from './workflows/incident.js';

/**
 * What became of a webhook's event: `repeat` is a delivery this process already had accepted (or
 * had under way), answered without asking Temporal again.
 */
export type DispatchResult =
  | { key: string; workflowId: string; outcome: 'started' | 'signaled' | 'repeat' }
  | { key: string; workflowId: string; outcome: 'not-open' };

/** What a person can ask of an open incident by key. */
export type IncidentAction = 'acknowledge' | 'resolve' | 'retry' | 'note';

/** What happened to an acknowledge, resolve or retry: the truth, as the incident's run answered it. */
export type ActionResult = { key: string; workflowId: string } & (
  | { outcome: 'acknowledged' | 'resolved'; incident: IncidentActionResult }
  | { outcome: 'retrying'; retrying: string[] }
  | { outcome: 'noted'; noted: NoteResult }
  /** The run refused it (already resolved, nothing failed...): nothing changed. */
  | { outcome: 'refused'; reason: string }
  /** A run of warroom 0.1 (no updates) took it as a signal; it acts on it, but cannot answer. */
  | { outcome: 'signaled' }
  | { outcome: 'not-open' }
);

/** How long Temporal gets to accept a start or signal before the sender is told to retry (PagerDuty waits 5 s). */
const ACCEPT_DEADLINE_MS = 4000;

/**
 * How long an acknowledge, resolve or retry through the API waits for the run's answer. An update
 * needs a worker to answer (a signal only needs the server), so it gets longer than a webhook: a
 * busy worker answers late rather than a caller hearing 503 for a change that then happens.
 */
export const ACTION_DEADLINE_MS = 10_000;

/** The update's answer when the run's code predates updates (warroom 0.1): the SDK's own words. */
const NO_UPDATE_HANDLER = /^No registered handler for update/;

/** Temporal did not accept a start, signal or update in time; the sender is answered 503 and may retry. */
export class AcceptTimeoutError extends Error {
  override name = 'AcceptTimeoutError';
  constructor(
    deadlineMs: number,
    /** Settles when Temporal finally answers the abandoned call: whether it went through after all. */
    readonly late: Promise<'accepted' | 'failed'>,
  ) {
    super(`Temporal did not accept within ${deadlineMs} ms`);
  }
}

/** gRPC status codes that mean "Temporal cannot take this now": the sender should retry. */
const UNAVAILABLE_CODES = new Set([
  1, // CANCELLED: the call was cut (connection lost, shutdown)
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED: rate limits, busy workflow
  10, // ABORTED
  14, // UNAVAILABLE: unreachable, restarting
]);

/**
 * Whether `err` means Temporal is unavailable (answer 503, the sender retries) rather than a bug
 * (answer 500, retrying the same request would fail the same way).
 */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof AcceptTimeoutError) return true;
  for (let cause: unknown = err, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'number' && UNAVAILABLE_CODES.has(code)) return true;
  }
  return false;
}

/** Events that carry enough to open an incident start its run; the rest only reach an open one. */
function mayStart(event: IncidentEvent): boolean {
  return Boolean(event.title) && event.kind !== 'resolve' && event.kind !== 'annotate';
}

const UPDATES = { acknowledge: acknowledgeUpdate, resolve: resolveUpdate } as const;
const SIGNALS = { acknowledge: acknowledgeSignal, resolve: resolveSignal, retry: retrySignal } as const;

/** Turns normalised events into starts and signals, and people's actions into updates, on the incident's one workflow. */
export class Dispatcher {
  /** Deliveries on their way to Temporal, by `<workflowId> <eventId>`: a copy waits for the first one's answer. */
  private readonly underWay = new Map<string, Promise<DispatchResult>>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /** The door for repeats; without one (or with capacity 0) every delivery is its own Temporal call. */
    private readonly accepted?: AcceptedDeliveries,
    /** Runs it starts send vendor calls through the budgets' queues (VENDOR_BUDGETS); false: unpaced, on the workflows' queue. */
    private readonly paced = true,
  ) {}

  /**
   * Runs one Temporal call under a gRPC deadline and a timer ending at the same moment: the SDK's
   * retry backoff can overrun its deadline by a second, and the sender's own timeout does not wait.
   */
  private async withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
    const allowedMs = Math.max(0, deadline - Date.now());
    const call = this.client.connection.withDeadline(deadline, fn);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const late = call.then(
          () => 'accepted' as const,
          () => 'failed' as const,
        );
        reject(new AcceptTimeoutError(allowedMs, late));
      }, allowedMs);
    });
    try {
      return await Promise.race([call, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once Temporal has durably accepted the event (or says the incident is not open). A
   * delivery this process had accepted is a repeat, answered at once; copies that arrive while
   * one is under way share its answer, failure included (nothing is held unless Temporal took it).
   * `deadlineMs` is shorter for Slack, which waits 3 s.
   */
  async dispatch(event: IncidentEvent, deadlineMs = ACCEPT_DEADLINE_MS): Promise<DispatchResult> {
    const accepted = this.accepted;
    if (!accepted || accepted.capacity === 0) return this.deliver(event, deadlineMs);
    const workflowId = workflowIdFor(event.key);
    const repeat = { key: event.key, workflowId, outcome: 'repeat' } as const;
    if (accepted.has(workflowId, event.eventId)) return repeat;
    const id = `${workflowId} ${event.eventId}`;
    const first = this.underWay.get(id);
    if (first) {
      const answer = await first;
      return answer.outcome === 'not-open' ? answer : repeat;
    }
    const delivering = this.deliverAndRemember(event, accepted, deadlineMs);
    this.underWay.set(id, delivering);
    try {
      return await delivering;
    } finally {
      this.underWay.delete(id);
    }
  }

  /**
   * One delivery to Temporal; once accepted, its id is held. Where the incident's run may end (a
   * resolve, even one whose answer was lost) or has ended (no open run; a new run started), a new
   * run would act on the old run's ids again: the incident's ids are let go of instead.
   */
  private async deliverAndRemember(event: IncidentEvent, accepted: AcceptedDeliveries, deadlineMs: number): Promise<DispatchResult> {
    const workflowId = workflowIdFor(event.key);
    const call = accepted.begin();
    try {
      const result = await this.deliver(event, deadlineMs);
      if (result.outcome === 'not-open') accepted.forget(workflowId);
      else if (event.kind !== 'resolve') accepted.remember(workflowId, event.eventId, call, result.outcome === 'started');
      return result;
    } finally {
      if (event.kind === 'resolve') accepted.forget(workflowId);
    }
  }

  /** One start or signal for the event, under the accept deadline. */
  private async deliver(event: IncidentEvent, deadlineMs: number): Promise<DispatchResult> {
    const workflowId = workflowIdFor(event.key);
    const deadline = Date.now() + deadlineMs;
    if (!mayStart(event)) {
      try {
        await this.withDeadline(deadline, () => this.client.workflow.getHandle(workflowId).signal(incidentEventSignal, event));
        return { key: event.key, workflowId, outcome: 'signaled' };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { key: event.key, workflowId, outcome: 'not-open' };
        throw err;
      }
    }
    const started = await this.withDeadline(deadline, () => this.signalWithStart(workflowId, event));
    return { key: event.key, workflowId, outcome: started ? 'started' : 'signaled' };
  }

  /**
   * Signal-with-start as the one RPC it is, on the public raw service: its answer says whether this
   * call started the run, which the SDK's `signalWithStart` does not return. It passes through the
   * Client's workflow interceptors as the SDK's own call does, so their headers (a trace) reach the run.
   */
  private async signalWithStart(workflowId: string, event: IncidentEvent): Promise<boolean> {
    const { namespace, identity, loadedDataConverter, interceptors } = this.client.options;
    const converter = loadedDataConverter.payloadConverter;
    const input: IncidentWorkflowInput = {
      key: event.key,
      source: event.source,
      externalId: event.externalId,
      ...(this.paced ? {} : { unpaced: true }),
    };
    const attributes: Record<string, string> = {
      [keyKey.name]: event.key,
      [sourceKey.name]: event.source,
      [statusKey.name]: event.kind === 'acknowledge' ? 'acknowledged' : 'triggered',
      ...(event.severity ? { [severityKey.name]: event.severity } : {}),
    };
    let started = false;
    const send = async ({ headers, options, signalArgs }: WorkflowSignalWithStartInput): Promise<string> => {
      const response = await this.client.connection.workflowService.signalWithStartWorkflowExecution({
        namespace,
        identity,
        requestId: randomUUID(),
        workflowId,
        workflowType: { name: INCIDENT_WORKFLOW },
        taskQueue: { name: this.taskQueue },
        input: { payloads: toPayloads(converter, ...options.args) },
        signalName: incidentEventSignal.name,
        signalInput: { payloads: toPayloads(converter, ...signalArgs) },
        memo: { fields: mapToPayloads(converter, { title: event.title }) },
        searchAttributes: { indexedFields: mapToPayloads(converter, attributes) },
        header: { fields: headers },
      });
      started = Boolean(response.started);
      return response.runId ?? '';
    };
    const workflowInterceptors = Array.isArray(interceptors.workflow) ? (interceptors.workflow as WorkflowClientInterceptor[]) : [];
    const call = workflowInterceptors.reduceRight<(input: WorkflowSignalWithStartInput) => Promise<string>>(
      (next, interceptor) => (interceptor.signalWithStart ? (given) => interceptor.signalWithStart!(given, next) : next),
      send,
    );
    await call({
      workflowType: INCIDENT_WORKFLOW,
      signalName: incidentEventSignal.name,
      signalArgs: [event],
      headers: {},
      options: { workflowId, taskQueue: this.taskQueue, args: [input] },
    });
    return started;
  }

  /**
   * Acknowledge, resolve, retry or note by key (API, Slack buttons and commands): an update, so the
   * answer is what the run did. Only an open run is asked; none is started. A run of warroom 0.1
   * gets the signal it knows. `updateId` (a Slack request's digest) makes a repeated request one
   * update: Temporal answers the repeat with the first one's result.
   */
  async act(
    key: string,
    action: IncidentAction,
    note: ActorNote | IncidentNote,
    deadlineMs = ACTION_DEADLINE_MS,
    updateId?: string,
  ): Promise<ActionResult> {
    try {
      return await this.askRun(key, action, note, deadlineMs, updateId);
    } finally {
      // A resolve may end the run (even one whose answer was lost): a new run would not know the ids held for it.
      if (action === 'resolve') this.accepted?.forget(workflowIdFor(key));
    }
  }

  private async askRun(
    key: string,
    action: IncidentAction,
    note: ActorNote | IncidentNote,
    deadlineMs: number,
    updateId: string | undefined,
  ): Promise<ActionResult> {
    const workflowId = workflowIdFor(key);
    const deadline = Date.now() + deadlineMs;
    const handle = this.client.workflow.getHandle(workflowId);
    const withId = updateId ? { updateId } : {};
    try {
      if (action === 'retry') {
        const { retrying } = await this.withDeadline(deadline, () => handle.executeUpdate(retryUpdate, { args: [note], ...withId }));
        return { key, workflowId, outcome: 'retrying', retrying };
      }
      if (action === 'note') {
        // The workflow checks the payload (a note without text is refused with why).
        const args: [IncidentNote] = [note as IncidentNote];
        const noted = await this.withDeadline(deadline, () => handle.executeUpdate(noteUpdate, { args, ...withId }));
        return { key, workflowId, outcome: 'noted', noted };
      }
      const incident = await this.withDeadline(deadline, () => handle.executeUpdate(UPDATES[action], { args: [note], ...withId }));
      return { key, workflowId, outcome: action === 'acknowledge' ? 'acknowledged' : 'resolved', incident };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { key, workflowId, outcome: 'not-open' };
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const reason = err.cause?.message ?? err.message;
      if (!NO_UPDATE_HANDLER.test(reason)) return { key, workflowId, outcome: 'refused', reason };
    }
    // 0.1's runs take no notes: there is no signal to fall back on.
    if (action === 'note')
      return { key, workflowId, outcome: 'refused', reason: 'this run started before warroom took notes (warroom 0.1)' };
    return this.actOnLegacyRun(key, action, note, deadline);
  }

  /**
   * The open incident whose war room is the Slack channel `channelId`, from Temporal visibility
   * (the `IncidentChannel` search attribute its run sets when the channel is created).
   */
  async incidentInChannel(channelId: string, deadlineMs: number): Promise<string | undefined> {
    // The id is checked by the caller too; this keeps anything but an id out of the query.
    if (!/^[A-Z0-9]+$/.test(channelId)) return undefined;
    const query = `WorkflowType = '${INCIDENT_WORKFLOW}' AND ExecutionStatus = 'Running' AND ${channelKey.name} = '${channelId}'`;
    return this.withDeadline(Date.now() + deadlineMs, async () => {
      for await (const run of this.client.workflow.list({ query, pageSize: 10 })) {
        return run.typedSearchAttributes.get(keyKey) ?? run.workflowId.replace(/^incident-/, '');
      }
      return undefined;
    });
  }

  /** The incident's state, asked of its open run (`incidentQuery`); `undefined` when it has none. */
  async openState(key: string, deadlineMs: number): Promise<IncidentState | undefined> {
    try {
      return await this.withDeadline(Date.now() + deadlineMs, () =>
        this.client.workflow.getHandle(workflowIdFor(key)).query(incidentQuery),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** warroom 0.1's runs take signals and cannot answer: their state says whether the signal would act. */
  private async actOnLegacyRun(
    key: string,
    action: Exclude<IncidentAction, 'note'>,
    note: ActorNote,
    deadline: number,
  ): Promise<ActionResult> {
    const workflowId = workflowIdFor(key);
    const handle = this.client.workflow.getHandle(workflowId);
    const state = await this.withDeadline(deadline, () => handle.query(incidentQuery));
    const reason = legacyRefusal(state, action);
    if (reason) return { key, workflowId, outcome: 'refused', reason };
    await this.withDeadline(deadline, () => handle.signal(SIGNALS[action], note));
    return { key, workflowId, outcome: 'signaled' };
  }
}

/** Why a 0.1 run would ignore the action (it records it as ignored and changes nothing), from its state. */
export function legacyRefusal(state: IncidentState, action: Exclude<IncidentAction, 'note'>): string | undefined {
  if (action === 'retry') {
    if (Object.keys(state.failures ?? {}).length > 0) return undefined;
    // Runs started before 0.1's close-the-loop patch record no failures and never re-run a step.
    const failed = Object.values(state.steps).some((step) => step?.status === 'failed');
    return failed ? 'this run started before warroom could retry steps; its failed steps cannot be re-run' : 'no step has failed';
  }
  if (state.status === 'resolved') return 'already resolved';
  if (action === 'acknowledge' && state.status === 'acknowledged') return 'already acknowledged';
  return undefined;
}
