/**
 * What the step runner tells the worker about each step, for the metrics (src/temporal/step-metrics.ts):
 * a sink, so the workflow records nothing and the worker measures outside the sandbox.
 */
import type { Sinks } from '@temporalio/workflow';

/** A step's outcome as the timeline records it. */
export type StepMetricOutcome = 'done' | 'skipped' | 'failed';

export interface StepMetricSinks extends Sinks {
  stepMetrics: {
    /** A run of `step` settled; `seconds` from its activity call to its outcome, when it called one. */
    settled(step: string, outcome: StepMetricOutcome, seconds?: number): void;
  };
}
