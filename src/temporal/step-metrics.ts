/**
 * What workers measure of steps, in the Temporal Runtime's meter (exported with the SDK's worker
 * metrics, src/temporal/sdk-metrics.ts). Two levels, named apart because retries make them differ:
 * - steps: each run of a step settles once, by the timeline's outcome (done, skipped, failed),
 *   however many attempts it took; the step runner reports it through a sink, never in replay;
 * - attempts: each attempt of a step's activity (a vendor call), by what it came to, seen by an
 *   activity interceptor on every worker. A step retried five times is one step and five attempts.
 * Tags are named as the SDK names its own (task_queue, activity_type, workflow_type, namespace).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, type MetricCounter, type MetricHistogram, type MetricMeter } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, InjectedSinks } from '@temporalio/worker';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../activities/errors.js';
import type { StepMetricSinks } from '../shared/step-metrics.js';

/** Runs of steps by step and outcome (done, skipped, failed). */
export const STEPS_METRIC = 'warroom_steps_total';
/** From a step's activity call to its outcome, in workflow time: budget queues and retries included. */
export const STEP_DURATION_METRIC = 'warroom_step_duration_seconds';

/** Attempts of activities by outcome: `ok`, `skipped`, `rate-limited`, `unavailable`, `rejected`, `cancelled`, `error`. */
export const ATTEMPTS_METRIC = 'warroom_step_attempts_total';
/** How long one attempt took, vendor calls and all. */
export const ATTEMPT_DURATION_METRIC = 'warroom_step_attempt_duration_seconds';

/** The sink the step runner reports each settled step to. */
export function stepMetricSinks(meter: MetricMeter): InjectedSinks<StepMetricSinks> {
  const steps: MetricCounter = meter.createCounter(
    STEPS_METRIC,
    '',
    'Runs of incident steps by step and outcome (done, skipped, failed): one per run of a step, however many attempts its activity took.',
  );
  const durations: MetricHistogram = meter.createHistogram(
    STEP_DURATION_METRIC,
    'float',
    's',
    'Time from a step calling its activity to its outcome, by step: waits in vendor budgets and retries included.',
  );
  return {
    stepMetrics: {
      settled: {
        fn(info, step, outcome, seconds) {
          const tags = { step, namespace: info.namespace, task_queue: info.taskQueue, workflow_type: info.workflowType };
          steps.add(1, { ...tags, outcome });
          if (seconds !== undefined) durations.record(seconds, tags);
        },
        callDuringReplay: false,
      },
    },
  };
}

/** What an attempt came to, in the words of the metric's `outcome` label. */
export function attemptOutcome(settled: { result: unknown } | { error: unknown }): string {
  if ('result' in settled) {
    const status = (settled.result as { status?: unknown } | undefined)?.status;
    return status === 'skipped' ? 'skipped' : 'ok';
  }
  const { error } = settled;
  if (error instanceof CancelledFailure) return 'cancelled';
  if (!(error instanceof ApplicationFailure)) return 'error';
  if (error.type === RATE_LIMITED) return 'rate-limited';
  if (error.type === UNAVAILABLE) return 'unavailable';
  if (error.type === NON_RETRYABLE || error.nonRetryable) return 'rejected';
  return 'error';
}

/**
 * One interceptor for every activity of a worker (one per activity would keep each alive, see the
 * budget keeper's): the activity's type and queue come from its context at each call. Tags are
 * named as the SDK names its own (activity_type, task_queue, namespace).
 */
export function countAttempts(meter: MetricMeter): ActivityInboundCallsInterceptor {
  const attempts: MetricCounter = meter.createCounter(
    ATTEMPTS_METRIC,
    '',
    'Attempts of step activities (vendor calls) by activity type and outcome; a step that is retried counts each attempt.',
  );
  const durations: MetricHistogram = meter.createHistogram(
    ATTEMPT_DURATION_METRIC,
    'float',
    's',
    'How long one attempt of a step activity took, by activity type.',
  );
  const record = (settled: { result: unknown } | { error: unknown }, started: number) => {
    const { activityType, taskQueue, namespace } = Context.current().info;
    const tags = { activity_type: activityType, task_queue: taskQueue, namespace };
    attempts.add(1, { ...tags, outcome: attemptOutcome(settled) });
    durations.record((performance.now() - started) / 1000, tags);
  };
  return {
    async execute(input, next) {
      const started = performance.now();
      try {
        const result = await next(input);
        record({ result }, started);
        return result;
      } catch (error) {
        record({ error }, started);
        throw error;
      }
    },
  };
}
