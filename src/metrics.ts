import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Open incidents by status, as Temporal visibility counts them at the scrape. */
export type OpenIncidentCounter = () => Promise<Record<string, number>>;

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop), for a process's own registry. */
  processMetrics?: boolean;
  /**
   * The Temporal SDK's Prometheus endpoint of a worker running in this process: what it serves
   * (worker, step and vendor-call metrics) is served on /metrics with the API's own.
   */
  sdkMetricsUrl?: string;
}

/** How long a scrape waits for the worker's SDK metrics and for visibility's counts. */
const SCRAPE_DEADLINE_MS = 2000;

/** Prometheus metrics of one process; a registry per app keeps tests independent. */
export function createMetrics({ processMetrics = false, sdkMetricsUrl }: MetricsOptions = {}) {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const webhooks = new Counter({
    name: 'warroom_webhooks_total',
    help: 'Webhooks and API calls received, by source and outcome (started, signaled, repeat, acknowledged, resolved, retrying, refused, ignored, invalid, unauthorized, unavailable, not-found, error); repeat: a delivery this process already had accepted, answered without asking Temporal again.',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  const slackInteractions = new Counter({
    name: 'warroom_slack_interactions_total',
    help: 'Slack button clicks received, by action (acknowledge, resolve, other) and outcome (acknowledged, resolved, refused, signaled, not-open, ignored, invalid, unauthorized, unavailable, error).',
    labelNames: ['action', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'warroom_webhook_duration_seconds',
    help: 'Time from request to answer, including Temporal accepting the start or signal.',
    labelNames: ['source'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'warroom_http_request_duration_seconds',
    help: 'Every HTTP request, by route, method and status: time from request to answer.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  let countOpenIncidents: OpenIncidentCounter | undefined;
  new Gauge({
    name: 'warroom_open_incidents',
    help: 'Open incidents (runs not resolved) by status (triggered, acknowledged), counted by Temporal visibility at each scrape: every API process of a cluster reports the same numbers; absent while Temporal does not answer.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!countOpenIncidents) return;
      const counts = await countOpenIncidents().catch(() => undefined);
      for (const [status, count] of Object.entries(counts ?? {})) this.set({ status }, count);
    },
  });

  /** The text a scrape gets: this registry's metrics, then the worker's SDK metrics when a worker runs here. */
  async function exposition(): Promise<string> {
    const own = await registry.metrics();
    if (!sdkMetricsUrl) return own;
    try {
      const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SCRAPE_DEADLINE_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return `${own}${await response.text()}`;
    } catch (err) {
      return `${own}# the worker's SDK metrics could not be read: ${(err as Error).message}\n`;
    }
  }

  return {
    registry,
    webhooks,
    slackInteractions,
    latency,
    requests,
    exposition,
    /** Where `warroom_open_incidents` comes from (the API: Temporal visibility); until set it has no value. */
    countOpenIncidentsWith(counter: OpenIncidentCounter) {
      countOpenIncidents = counter;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export { SCRAPE_DEADLINE_MS };
