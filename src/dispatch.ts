import { AsyncLocalStorage } from 'node:async_hooks';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { workflowIdFor } from './shared/ids.js';
import type { ActorNote, IncidentEvent } from './shared/incident.js';
import { acknowledgeSignal, incidentEventSignal, INCIDENT_WORKFLOW, resolveSignal } from './shared/messages.js';
import { keyKey, severityKey, sourceKey, statusKey } from './shared/search-attributes.js';
import type { IncidentWorkflowInput } from './workflows/incident.js';

export type DispatchResult =
  | { key: string; workflowId: string; outcome: 'started' | 'signaled' }
  | { key: string; workflowId: string; outcome: 'not-open' };

/** How long Temporal gets to accept a start or signal before the sender is told to retry (PagerDuty waits 5 s). */
const ACCEPT_DEADLINE_MS = 4000;

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

  private withDeadline<T>(fn: () => Promise<T>): Promise<T> {
    return this.client.connection.withDeadline(Date.now() + ACCEPT_DEADLINE_MS, fn);
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

  /** Acknowledge or resolve by key, from the API. */
  async act(key: string, action: 'acknowledge' | 'resolve', note: ActorNote): Promise<DispatchResult> {
    const signal = action === 'acknowledge' ? acknowledgeSignal : resolveSignal;
    return this.signalOpen(key, (handle) => handle.signal(signal, note));
  }

  private async signalOpen(
    key: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
  ): Promise<DispatchResult> {
    const workflowId = workflowIdFor(key);
    try {
      await this.withDeadline(() => send(this.client.workflow.getHandle(workflowId)));
      return { key, workflowId, outcome: 'signaled' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { key, workflowId, outcome: 'not-open' };
      throw err;
    }
  }
}
