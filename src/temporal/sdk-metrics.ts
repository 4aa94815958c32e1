/**
 * The Temporal SDK's metrics: the Rust core of every worker records its own (task slots, poll and
 * schedule-to-start latencies, sticky cache...) and warroom's step metrics (src/workflows/step-runner.ts,
 * src/temporal/attempt-metrics.ts) in the process-global Runtime, which serves them on a Prometheus
 * endpoint of its own. The Runtime is made once per process, before the first NativeConnection.
 */
import type { MetricsExporterConfig } from '@temporalio/worker';

/** Where a worker-only process serves the SDK's metrics unless WARROOM_SDK_METRICS_PORT says otherwise. */
export const DEFAULT_SDK_METRICS_PORT = 9464;

/** Buckets of warroom's step histograms, in seconds: a vendor call takes tens of milliseconds, a step retried for half an hour 1,800 s. */
const STEP_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/** The Runtime's metrics exporter: Prometheus text at `http://<bindAddress>/metrics`, durations in seconds. */
export function sdkMetricsExporter(bindAddress: string): MetricsExporterConfig {
  return {
    prometheus: {
      bindAddress,
      useSecondsForDurations: true,
      histogramBucketOverrides: {
        warroom_step_duration_seconds: STEP_SECONDS,
        warroom_step_attempt_duration_seconds: STEP_SECONDS,
      },
    },
  };
}

/** `host:port` as the Runtime binds it, and the URL this process reads it at. */
export function sdkMetricsEndpoint(host: string, port: number): { bindAddress: string; url: string } {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const bracketed = (name: string) => (name.includes(':') ? `[${name}]` : name);
  return {
    bindAddress: `${bracketed(host || '0.0.0.0')}:${port}`,
    url: `http://${wildcard ? '127.0.0.1' : bracketed(host)}:${port}/metrics`,
  };
}
