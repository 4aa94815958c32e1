/**
 * Observability an operator relies on: one trace per webhook, from the HTTP request through the
 * incident's run to each vendor call (in this process, spans kept in memory); and, from warroom
 * started as an operator starts it (`src/main.ts --role=all` in a child process), the metrics on
 * /metrics after an incident (the API's, the SDK's worker metrics and the step metrics), with every
 * metric the Grafana dashboard (deploy/grafana/warroom.json) queries among them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CancelledFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nonRetryable, rateLimited, unavailable } from '../src/activities/errors.js';
import { secretValues } from '../src/config.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { freePort } from '../src/temporal/dev-server.js';
import { attemptOutcome } from '../src/temporal/step-metrics.js';
import { NO_TRACING_SINKS, startTracing, type Tracing } from '../src/tracing.js';
import { bundleWorkflows } from '../src/worker.js';
import { pagerDutyTriggered, victorOpsOutgoing } from './deliveries.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { recordLogs, recordSecrets } from './secrets-scan.js';
import { startStack, type Stack } from './stack.js';

const WEBHOOK_SECRET = 'observability-pagerduty-webhook-secret';
const VICTOROPS_TOKEN = 'observability-victorops-token';
const ROOM = ['jiraTicket', 'slackChannel', 'slackInvite', 'slackTopic', 'slackSummary', 'slackPin', 'timelinePost'] as const;

describe('traces', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let h: Harness;
  let workflowBundle: WorkflowBundle;
  /** The incident the first test traced. */
  let traced: string;

  beforeAll(async () => {
    workflowBundle = await bundleWorkflows();
    tracing = startTracing(
      {
        serviceName: 'warroom-test',
        resourceAttributes: {},
        url: 'http://127.0.0.1:9/v1/traces',
        headers: {},
        sampler: 'parentbased_always_on',
        samplerRatio: 1,
      },
      { exporter, secrets: [WEBHOOK_SECRET, VICTOROPS_TOKEN] },
    );
    h = await startHarness({
      tracing,
      workflowBundle,
      fakes: { configure: ['jira', 'slack', 'pagerduty'] },
      env: { PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET, VICTOROPS_WEBHOOK_TOKEN: VICTOROPS_TOKEN, SLACK_ARCHIVE_DELAY: '1s' },
    });
  });

  afterAll(async () => {
    await h?.stop();
    await tracing?.shutdown();
  });

  it('follows one webhook in one trace: HTTP request, signal-with-start, the run, and each vendor call it starts', async () => {
    const incident = h.fakes.pagerduty.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
    const key = incidentKey('pagerduty', incident.id);
    traced = key;
    const delivery = pagerDutyTriggered(incident.id, { title: incident.title, secret: WEBHOOK_SECRET });
    expect(await h.post(delivery.path, delivery.body, delivery.headers)).toMatchObject({ status: 202, body: { outcome: 'started' } });
    await eventually(`${key}'s war room`, () => roomDone(h, key), { timeoutMs: 60_000 });
    // The run's own span ends with the run: resolve it, and it completes after the 1 s archive delay.
    expect(await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'observability test' }))).toMatchObject({ status: 200 });
    await eventually(
      `${key}'s run completed`,
      async () => (await h.client.workflow.getHandle(workflowIdFor(key)).describe()).status.name === 'COMPLETED',
      {
        timeoutMs: 60_000,
      },
    );

    const spans = await eventually('the run span exported', async () => {
      const finished = exporter.getFinishedSpans();
      return (
        finished.some((span) => span.name === 'RunWorkflow:incidentWorkflow' && span.attributes.workflowId === workflowIdFor(key)) &&
        finished
      );
    });
    const request = spans.find((span) => span.kind === SpanKind.SERVER && span.attributes['warroom.incident_key'] === key);
    expect(request, 'the webhook request span').toBeDefined();
    expect(request!.name).toBe('POST /webhooks/pagerduty');
    expect(request!.attributes).toMatchObject({
      'http.route': '/webhooks/pagerduty',
      'warroom.source': 'pagerduty',
      'warroom.outcome': 'started',
    });
    const traceId = request!.spanContext().traceId;
    const trace = spans.filter((span) => span.spanContext().traceId === traceId);
    const childOf = (parent: ReadableSpan, name: string) => {
      const found = trace.find((span) => span.name === name && span.parentSpanId === parent.spanContext().spanId);
      expect(found, `${name} under ${parent.name} in ${trace.map((span) => span.name).join(', ')}`).toBeDefined();
      return found!;
    };
    const signalWithStart = childOf(request!, 'SignalWithStartWorkflow:incidentWorkflow');
    expect(signalWithStart.attributes.temporalWorkflowId).toBe(workflowIdFor(key));
    const run = childOf(signalWithStart, 'RunWorkflow:incidentWorkflow');
    // Ids and names only: the sink's copy of the run's memo (the title) and search attributes is dropped.
    expect(run.attributes).toMatchObject({ workflowId: workflowIdFor(key), workflowType: 'incidentWorkflow' });
    expect(run.attributes).not.toHaveProperty('memo');
    expect(JSON.stringify(trace.map((span) => span.attributes))).not.toContain(incident.title);
    // The event that opened the incident opens its war room from the signal's handler, in the signal's span.
    const signal = childOf(signalWithStart, 'HandleSignal:incidentEvent');
    const vendorCall = (parent: ReadableSpan, activity: string) => {
      const attempt = childOf(childOf(parent, `StartActivity:${activity}`), `RunActivity:${activity}`);
      expect(attempt.attributes.temporalWorkflowId).toBe(workflowIdFor(key));
    };
    for (const activity of [
      'openTicket',
      'openChannel',
      'inviteResponders',
      'setChannelTopic',
      'postSummary',
      'pinSummary',
      'postTimelineNote',
    ]) {
      vendorCall(signal, activity);
    }
    // Close-out and archive run from the run's own loop.
    for (const activity of ['commentTicket', 'transitionTicket', 'archiveChannel']) vendorCall(run, activity);
  });

  it("replays a traced run's history, which carries the trace in its headers", async () => {
    expect(traced, 'the first test traced an incident').toBeDefined();
    const history = await h.client.workflow.getHandle(workflowIdFor(traced)).fetchHistory();
    expect(traceContext(history).headers).toBeGreaterThan(0);
    expect(traceContext(history).flags.length).toBeGreaterThan(0);
    // Replay runs the tracing interceptors again (the start carries a trace): same commands, no non-determinism.
    await Worker.runReplayHistory({ workflowBundle, sinks: NO_TRACING_SINKS }, history, workflowIdFor(traced));
  });

  it('keeps query strings and configured secrets out of every span', async () => {
    const delivery = victorOpsOutgoing(
      { number: uniqueId(), entityId: 'observability/check', title: 'disk full', uuid: uniqueId('UUID') },
      { victorOpsToken: VICTOROPS_TOKEN },
    );
    const { 'x-warroom-token': _token, ...headers } = delivery.headers;
    // The token as VictorOps' outgoing webhooks may carry it: in the URL.
    const answer = await h.post(`${delivery.path}?token=${VICTOROPS_TOKEN}`, delivery.body, headers);
    expect(answer.status).toBeLessThan(300);
    const request = await eventually('the VictorOps request span', async () =>
      exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER && span.attributes['http.route'] === '/webhooks/victorops'),
    );
    expect(request.attributes['http.target']).toBe('/webhooks/victorops');
    const everything = JSON.stringify(
      exporter
        .getFinishedSpans()
        .map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status })),
    );
    for (const secret of [WEBHOOK_SECRET, VICTOROPS_TOKEN]) expect(everything).not.toContain(secret);
  });
});

describe('metrics', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let stack: Stack;
  let warroom: ChildProcess | undefined;
  let output = '';
  let sdkMetricsUrl: string;
  let scraped: string;

  beforeAll(async () => {
    // The fakes and a task queue here; warroom itself as an operator runs it, in a process of its own.
    stack = await startStack({
      name: 'observability',
      temporal: { address: inject('temporalAddress') },
      fakes: { configure: ['jira', 'slack', 'pagerduty'] },
      worker: false,
      api: false,
      env: { PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET, LOG_LEVEL: 'warn' },
    });
    recordSecrets(secretValues(stack.env));
    const sdkMetricsPort = await freePort();
    sdkMetricsUrl = `http://127.0.0.1:${sdkMetricsPort}/metrics`;
    warroom = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role=all'], {
      cwd: root,
      env: { ...process.env, ...stack.env, WARROOM_SDK_METRICS_PORT: String(sdkMetricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => (output += chunk.toString('utf8'));
    warroom.stdout?.on('data', keep);
    warroom.stderr?.on('data', keep);
    await eventually(
      'warroom started',
      async () => {
        if (warroom?.exitCode !== null) throw new Error(`warroom exited: ${output}`);
        return output.includes('warroom is running');
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  }, 120_000);

  afterAll(async () => {
    if (warroom && warroom.exitCode === null) {
      const exited = new Promise((resolve) => warroom!.once('exit', resolve));
      warroom.kill('SIGTERM');
      await exited;
    }
    recordLogs(output);
    await stack?.stop();
  });

  it("serves the worker's SDK metrics and the step metrics on /metrics, by step and outcome", async () => {
    const incident = stack.fakes.pagerduty.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
    const key = incidentKey('pagerduty', incident.id);
    const delivery = pagerDutyTriggered(incident.id, { title: incident.title, secret: WEBHOOK_SECRET });
    const answer = await fetch(`${stack.apiUrl}${delivery.path}`, { method: 'POST', body: delivery.body, headers: delivery.headers });
    expect(answer.status).toBe(202);
    await eventually(
      `${key}'s war room`,
      async () => {
        const state = await stack.state(key);
        return ROOM.every((step) => state.steps[step]?.status === 'done');
      },
      { timeoutMs: 60_000 },
    );

    scraped = await eventually('the room steps on /metrics', async () => {
      const text = await (await fetch(`${stack.apiUrl}/metrics`)).text();
      return ROOM.every((step) => find(text, 'warroom_steps_total', { step, outcome: 'done' })) && text;
    });
    const queue = stack.taskQueue;
    // The API's own.
    expect(find(scraped, 'warroom_webhooks_total', { source: 'pagerduty', outcome: 'started' })?.value).toBe(1);
    expect(find(scraped, 'warroom_open_incidents', { status: 'triggered' })?.value).toBeGreaterThanOrEqual(1);
    // Steps: one per run of a step, by outcome, from the run; and how long each took.
    expect(
      find(scraped, 'warroom_steps_total', { step: 'jiraTicket', outcome: 'done', task_queue: queue, workflow_type: 'incidentWorkflow' })
        ?.value,
    ).toBe(1);
    expect(find(scraped, 'warroom_steps_total', { step: 'statusPage', outcome: 'skipped' })?.value).toBe(1);
    expect(find(scraped, 'warroom_step_duration_seconds_count', { step: 'slackChannel' })?.value).toBe(1);
    expect(find(scraped, 'warroom_step_duration_seconds_bucket', { step: 'slackChannel', le: '+Inf' })?.value).toBe(1);
    // Attempts: each attempt of an activity, on the budget queue it ran on.
    expect(
      find(scraped, 'warroom_step_attempts_total', { activity_type: 'openTicket', outcome: 'ok', task_queue: `${queue}.jira` })?.value,
    ).toBe(1);
    expect(
      find(scraped, 'warroom_step_attempt_duration_seconds_count', { activity_type: 'openChannel', task_queue: `${queue}.slack-create` })
        ?.value,
    ).toBe(1);
    // The SDK's worker metrics, durations in seconds.
    for (const name of [
      'temporal_workflow_task_schedule_to_start_latency_count',
      'temporal_worker_task_slots_available',
      'temporal_sticky_cache_size',
    ]) {
      expect(find(scraped, name, { task_queue: queue }), name).toBeDefined();
    }
    expect(find(scraped, 'temporal_activity_schedule_to_start_latency_count', { task_queue: `${queue}.slack-create` })).toBeDefined();
    for (const secret of secretValues(stack.env)) expect(scraped).not.toContain(secret);

    // The worker's endpoint serves them too, for a worker-only process's scrape.
    const sdk = await (await fetch(sdkMetricsUrl)).text();
    expect(find(sdk, 'warroom_steps_total', { step: 'jiraTicket', outcome: 'done' })).toBeDefined();
    expect(find(sdk, 'temporal_worker_task_slots_available', { task_queue: queue })).toBeDefined();
    expect(find(sdk, 'warroom_webhooks_total', {})).toBeUndefined();

    // Tracing is off here: the run's history carries no trace and no flag of the tracing interceptors.
    const history = await stack.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
    expect(traceContext(history)).toEqual({ headers: 0, flags: [] });
  });

  it('has every metric and label the Grafana dashboard queries', () => {
    expect(scraped, 'the previous test scraped /metrics').toBeDefined();
    const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/warroom.json', import.meta.url), 'utf8')) as Dashboard;
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const exported = parseExposition(scraped);
    // A family with no series yet (no Slack click in this test) is declared by its TYPE line.
    const declared = new Set(
      [...scraped.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    for (const expr of exprs) {
      const { metrics, labels } = promqlNames(expr);
      expect(metrics.length, expr).toBeGreaterThan(0);
      for (const metric of metrics) expect(declared.has(metric), `${metric} in ${expr}`).toBe(true);
      // Each label the query groups or filters by is on a series of one of its metrics (when they have any).
      const series = exported.filter((sample) => metrics.includes(sample.name));
      for (const label of series.length > 0 ? labels : []) {
        expect(
          series.some((sample) => label in sample.labels),
          `label ${label} in ${expr}`,
        ).toBe(true);
      }
    }
  });
});

/** SDK flags only Temporal's OpenTelemetry workflow interceptors set (@temporalio/workflow's flags.ts). */
const TRACING_FLAGS = [3, 4, 5, 6];

/** How many events of a history carry a trace header, and which tracing flags its workflow tasks recorded. */
function traceContext(history: temporal.api.history.v1.IHistory): { headers: number; flags: number[] } {
  const events = history.events ?? [];
  const headers = events.filter((event) =>
    Object.values(event).some((attributes) =>
      Boolean((attributes as { header?: { fields?: Record<string, unknown> } } | null)?.header?.fields?.['_tracer-data']),
    ),
  ).length;
  const flags = events.flatMap((event) => event.workflowTaskCompletedEventAttributes?.sdkMetadata?.langUsedFlags ?? []);
  return { headers, flags: [...new Set(flags)].filter((flag) => TRACING_FLAGS.includes(flag)).sort() };
}

describe('attempt outcomes', () => {
  it('names what each attempt came to by the failure types activities throw', () => {
    expect(attemptOutcome({ result: { status: 'done' } })).toBe('ok');
    expect(attemptOutcome({ result: { status: 'skipped', detail: 'not configured (Jira)' } })).toBe('skipped');
    expect(attemptOutcome({ result: { emails: [] } })).toBe('ok');
    expect(attemptOutcome({ error: rateLimited('Slack', 30_000) })).toBe('rate-limited');
    expect(attemptOutcome({ error: unavailable('Jira', 'HTTP 503') })).toBe('unavailable');
    expect(attemptOutcome({ error: nonRetryable('Jira', 'HTTP 400: labels') })).toBe('rejected');
    expect(attemptOutcome({ error: new CancelledFailure('cancelled') })).toBe('cancelled');
    expect(attemptOutcome({ error: new TypeError('a bug') })).toBe('error');
  });
});

interface Dashboard {
  panels: { targets?: { expr: string }[] }[];
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition, sample by sample. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sample of `name` whose labels include `labels`. */
function find(text: string, name: string, labels: Record<string, string>): Sample | undefined {
  return parseExposition(text).find(
    (sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value),
  );
}

/** Labels Prometheus adds or histograms carry: never among an exposition's own. */
const SCRAPE_LABELS = new Set(['le', 'instance', 'job']);

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'rate',
  'increase',
  'irate',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'topk',
  'bottomk',
  'abs',
  'clamp_min',
  'label_replace',
]);

/** The metric names a PromQL expression reads, and the labels it filters or groups by. */
function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels = new Set<string>();
  for (const [, list] of expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
    for (const label of list!.split(',').map((name) => name.trim())) if (label && !SCRAPE_LABELS.has(label)) labels.add(label);
  }
  for (const [, matchers] of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const [, label] of matchers!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(label!);
  }
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const metrics = [...bare.matchAll(/(?<![\w$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((match) => match[1]!)
    .filter((name) => !PROMQL_WORDS.has(name));
  return { metrics: [...new Set(metrics)], labels: [...labels] };
}

/** Whether the incident's war room is complete. */
async function roomDone(h: Harness, key: string): Promise<boolean> {
  const state = await h.state(key);
  return ROOM.every((step) => state.steps[step]?.status === 'done');
}
