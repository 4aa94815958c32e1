import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one process; a registry per app keeps tests independent. */
export function createMetrics({ processMetrics = false } = {}) {
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
  return { registry, webhooks, slackInteractions, latency, requests };
}

export type Metrics = ReturnType<typeof createMetrics>;
