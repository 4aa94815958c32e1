import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { attachIncidentSignal, detachIncidentSignal, STATUS_PAGE_WORKFLOW, statusPageWorkflowId } from '../shared/messages.js';
import { nonRetryable } from './errors.js';
import type { StepInput, StepOutcome } from './step.js';

export interface StatusPageMonitorDeps {
  /** The worker's own client; absent outside a worker (combined alerts then cannot work). */
  client?: Client;
}

/**
 * Combined alerts: incidents join and leave their monitor's status-page run. Joining is
 * signal-with-start, so the first incident starts the run and a retry only signals it again
 * (the run ignores an incident that is already attached).
 */
export function createStatusPageMonitorActivities(deps: StatusPageMonitorDeps) {
  const clientOrFail = (): Client => {
    if (!deps.client) throw nonRetryable('Temporal', 'no Temporal client on this worker for combined status pages');
    return deps.client;
  };
  const monitorOf = (input: StepInput): string => {
    const monitor = input.statusPage?.monitor ?? input.service;
    if (!monitor) throw nonRetryable('StatusCast', 'the incident names no monitor');
    return monitor;
  };

  return {
    /** Joins the incident to its monitor's shared status-page incident, starting the monitor's run if none is open. */
    async attachToStatusPage(input: StepInput): Promise<StepOutcome> {
      const monitor = monitorOf(input);
      const workflowId = statusPageWorkflowId(monitor);
      await clientOrFail().workflow.signalWithStart(STATUS_PAGE_WORKFLOW, {
        workflowId,
        // The monitor's run lives on the incident's own task queue, served by the same workers.
        taskQueue: Context.current().info.taskQueue,
        args: [{ monitor }],
        signal: attachIncidentSignal,
        signalArgs: [{ key: input.key, title: input.title, severity: input.severity, service: input.service }],
      });
      return { status: 'done', detail: `joined the status page of monitor "${monitor}" (run ${workflowId})`, ref: workflowId };
    },

    /** Leaves the monitor's shared status-page incident; the last to leave closes it. */
    async detachFromStatusPage(input: StepInput): Promise<StepOutcome> {
      const monitor = monitorOf(input);
      const workflowId = statusPageWorkflowId(monitor);
      try {
        await clientOrFail()
          .workflow.getHandle(workflowId)
          .signal(detachIncidentSignal, { key: input.key, resolvedBy: input.actor ?? 'warroom' });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          return { status: 'done', detail: `the status page of monitor "${monitor}" is already closed` };
        throw err;
      }
      return { status: 'done', detail: `left the status page of monitor "${monitor}"` };
    },
  };
}
