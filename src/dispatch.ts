import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { workflowIdFor } from './shared/ids.js';
import type { ActorNote, IncidentEvent } from './shared/incident.js';
import { acknowledgeSignal, incidentEventSignal, INCIDENT_WORKFLOW, resolveSignal, retrySignal } from './shared/messages.js';
import { keyKey, severityKey, sourceKey, statusKey } from './shared/search-attributes.js';
import type { IncidentWorkflowInput } from './workflows/incident.js';

export type DispatchResult =
  | { key: string; workflowId: string; outcome: 'started' | 'signaled' }
  | { key: string; workflowId: string; outcome: 'not-open' };

/** What a person can ask of an open incident by key. */
export type IncidentAction = 'acknowledge' | 'resolve' | 'retry';

const SIGNAL_BY_ACTION = { acknowledge: acknowledgeSignal, resolve: resolveSignal, retry: retrySignal } as const;

/** How long Temporal gets to accept a start or signal before the sender is told to retry (PagerDuty waits 5 s). */
const ACCEPT_DEADLINE_MS = 4000;

/** Temporal did not accept a start or signal in time; the sender is answered 503 and may retry. */
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

const startedFlag = new AsyncLocalStorage<{ started?: boolean }>();
const instrumented = new WeakSet<object>();

/**
 * The SDK's signalWithStart hides the server's `started` flag; this wraps the one RPC on this
 * client's connection to read it, so the ingress can say "started" or "signaled" truthfully.
 */
function instrument(client: Client): void {
  const service = client.connection.workflowService;
  if (instrumented.has(service)) return;
  instrumented.add(service);
  const original = service.signalWithStartWorkflowExecution.bind(service);
  service.signalWithStartWorkflowExecution = (async (request: Parameters<typeof original>[0]) => {
    const response = await original(request);
    const store = startedFlag.getStore();
    if (store) store.started = Boolean(response.started);
    return response;
  }) as typeof service.signalWithStartWorkflowExecution;
}

/** Events that carry enough to open an incident start its run; the rest only reach an open one. */
function mayStart(event: IncidentEvent): boolean {
  return Boolean(event.title) && event.kind !== 'resolve' && event.kind !== 'annotate';
}

/** Turns normalised events into starts and signals on the incident's one workflow. */
export class Dispatcher {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {
    instrument(client);
  }

  /**
   * Runs one Temporal call under a gRPC deadline and a timer of the same length: the SDK's retry
   * backoff can overrun its deadline by a second, and the sender's own timeout does not wait.
   */
  private async withDeadline<T>(fn: () => Promise<T>, deadlineMs = ACCEPT_DEADLINE_MS): Promise<T> {
    const call = this.client.connection.withDeadline(Date.now() + deadlineMs, fn);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const late = call.then(
          () => 'accepted' as const,
          () => 'failed' as const,
        );
        reject(new AcceptTimeoutError(deadlineMs, late));
      }, deadlineMs);
    });
    try {
      return await Promise.race([call, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once Temporal has durably accepted the event (or says the incident is not open). */
  async dispatch(event: IncidentEvent): Promise<DispatchResult> {
    const workflowId = workflowIdFor(event.key);
    if (!mayStart(event)) return this.signalOpen(event.key, (handle) => handle.signal(incidentEventSignal, event));
    const input: IncidentWorkflowInput = { key: event.key, source: event.source, externalId: event.externalId };
    const store: { started?: boolean } = {};
    await startedFlag.run(store, () =>
      this.withDeadline(() =>
        this.client.workflow.signalWithStart(INCIDENT_WORKFLOW, {
          workflowId,
          taskQueue: this.taskQueue,
          args: [input],
          signal: incidentEventSignal,
          signalArgs: [event],
          memo: { title: event.title },
          typedSearchAttributes: new TypedSearchAttributes([
            { key: keyKey, value: event.key },
            { key: sourceKey, value: event.source },
            { key: statusKey, value: event.kind === 'acknowledge' ? 'acknowledged' : 'triggered' },
            ...(event.severity ? [{ key: severityKey, value: event.severity }] : []),
          ]),
        }),
      ),
    );
    return { key: event.key, workflowId, outcome: store.started ? 'started' : 'signaled' };
  }

  /** Acknowledge, resolve or retry by key (API, Slack buttons); only an open run is signalled, none is started. */
  async act(key: string, action: IncidentAction, note: ActorNote, deadlineMs = ACCEPT_DEADLINE_MS): Promise<DispatchResult> {
    const signal = SIGNAL_BY_ACTION[action];
    return this.signalOpen(key, (handle) => handle.signal(signal, note), deadlineMs);
  }

  private async signalOpen(
    key: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
    deadlineMs = ACCEPT_DEADLINE_MS,
  ): Promise<DispatchResult> {
    const workflowId = workflowIdFor(key);
    try {
      await this.withDeadline(() => send(this.client.workflow.getHandle(workflowId)), deadlineMs);
      return { key, workflowId, outcome: 'signaled' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { key, workflowId, outcome: 'not-open' };
      throw err;
    }
  }
}
