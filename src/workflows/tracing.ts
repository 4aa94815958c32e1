/**
 * Workflow interceptors for tracing (bundled as a `workflowInterceptorModules` entry): Temporal's
 * OpenTelemetry workflow interceptors, for the runs whose start carried a trace. The API's Client
 * adds one when tracing is on (src/tracing.ts); every other run, traced or not by its worker, never
 * loads OpenTelemetry (its modules would be evaluated again for every run) and records exactly the
 * commands and history it would record without this module. The decision is read from the run's
 * own start, so every replay of a run decides as its first execution did.
 */
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header Temporal's OpenTelemetry interceptors carry a trace's context in. */
const TRACE_HEADER = '_tracer-data';

/** Temporal's OpenTelemetry workflow interceptors for this run. */
function openTelemetryInterceptors(): WorkflowInterceptors {
  // A require, not an import: webpack bundles the module but evaluates it only here, for a traced run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors') as {
    interceptors: () => WorkflowInterceptors;
  };
  return loaded.interceptors();
}

/** Gives `to` every method of the interceptors in `from`, bound to them (each list holds at most one). */
function take(to: object, from: readonly object[] | undefined): void {
  for (const interceptor of from ?? []) {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(interceptor))) {
      const method = (interceptor as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof method === 'function') Object.assign(to, { [name]: method.bind(interceptor) });
    }
  }
}

/**
 * Empty interceptors until the run's first activation: the SDK looks an interceptor's methods up at
 * each call, so a traced run's get the OpenTelemetry ones there, and an untraced run's stay empty.
 */
export const interceptors = (): WorkflowInterceptors => {
  const inbound: WorkflowInboundCallsInterceptor = {};
  const outbound: WorkflowOutboundCallsInterceptor = {};
  let decided = false;
  const internals: WorkflowInternalsInterceptor = {
    activate(input, next) {
      const start = decided ? undefined : input.activation.jobs?.find((job) => job.initializeWorkflow)?.initializeWorkflow;
      if (start) {
        decided = true;
        if (start.headers?.[TRACE_HEADER]) {
          const traced = openTelemetryInterceptors();
          take(inbound, traced.inbound);
          take(outbound, traced.outbound);
          take(internals, traced.internals);
        }
      }
      next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
