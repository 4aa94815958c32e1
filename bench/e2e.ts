/**
 * End-to-end benchmark: from a signed PagerDuty v3 `incident.triggered` webhook (HTTP POST to
 * warroom's API) until the war room exists: Jira ticket, Slack channel with responders invited,
 * and the note on the PagerDuty incident ("ready"); and until topic, summary and pin are done
 * too ("furnished"). One Temporal dev server, the vendor fakes, the API and one worker, all
 * started here. Each time ends when a fake answered the call that made the last part.
 *
 * Two settings in one run: every fake at 0 ms added latency, then every fake at
 * BENCH_LATENCY_MS per call, next to the critical-path bound: the least time the chain of
 * dependent vendor calls each incident actually made needs at that latency.
 * Prints figures, never pass/fail.
 *
 *   npm run bench:e2e
 *   BENCH_INCIDENTS=30 BENCH_CONCURRENCY=5 BENCH_WARMUP=5 BENCH_LATENCY_MS=200 BENCH_TIMEOUT_S=600
 *   VENDOR_BUDGETS=false   (vendor calls unpaced, on the workflows' own queue; default: through the budgets' queues)
 *   BENCH_SDK_METRICS=true (the Runtime exports the SDK's and the step metrics, as a worker started by main.ts does)
 *   BENCH_TRACING=true     (traces on, sent over OTLP/HTTP to a sink in this process that accepts and drops them)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { workflowIdFor } from '../src/shared/ids.js';
import { freePort } from '../src/temporal/dev-server.js';
import { sdkMetricsExporter } from '../src/temporal/sdk-metrics.js';
import { startTracing, type Tracing } from '../src/tracing.js';
import type { AllFakes } from '../test/fakes/env.js';
import { intFromEnv } from '../test/settings.js';
import { startStack, type CreateWorker } from '../test/stack.js';
import { CLOCK_TICKS_PER_SECOND, machineLine, percentile, processCpuUs, signedPagerDutyTrigger, watchdog } from './measure.js';
import { closedLoop, tally } from './http-sender.js';
import { longestChain, watchWarRoom, type VendorCall, type WarRoomTrace, type WarRoomWatch } from './war-room-watch.js';

/** Targets from issue 3: p50 at 0 ms, and p50 over the critical-path bound at the latency setting. */
const TARGET_P50_MS = 300;
const TARGET_BOUND_RATIO = 1.3;
/** Target from issue 10: CPU per incident, warroom's process and the Temporal server together, at 0 ms. */
const TARGET_CPU_MS = 100;
const WEBHOOK_SECRET = 'bench-webhook-secret';
const ANNOUNCE_CHANNEL = 'incidents';
/** One incident that takes longer than this has gone wrong; it is counted as a failure. */
const INCIDENT_DEADLINE_MS = 60_000;

const settings = {
  incidents: intFromEnv('BENCH_INCIDENTS', 30),
  concurrency: intFromEnv('BENCH_CONCURRENCY', 5),
  warmup: intFromEnv('BENCH_WARMUP', 5, 0),
  latencyMs: intFromEnv('BENCH_LATENCY_MS', 200),
  timeoutMs: intFromEnv('BENCH_TIMEOUT_S', 600) * 1000,
  sdkMetrics: process.env.BENCH_SDK_METRICS === 'true',
  tracing: process.env.BENCH_TRACING === 'true',
};

/** An OTLP/HTTP receiver that accepts every export and keeps nothing but the count of bytes. */
async function startTraceSink(): Promise<{ url: string; bytes: () => number; stop: () => Promise<void> }> {
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    bytes: () => bytes,
    stop: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

// ---------------------------------------------------------------------------------------------
// Options.

/** How the benchmark gets its worker; scratch variants pass their own to compare worker set-ups. */
export type StartWorker = CreateWorker;

export interface E2eOptions {
  /** Printed with the settings: what this run's worker differs in. */
  variant?: string;
  startWorker?: StartWorker;
  /** Dynamic config for the dev server (e.g. matching partitions). */
  devServerConfig?: Record<string, string | number | boolean>;
}

// ---------------------------------------------------------------------------------------------
// One setting: N incidents through a closed loop of senders.

interface SettingResult {
  name: string;
  latencyMs: number;
  traces: WarRoomTrace[];
  failures: Record<string, number>;
  elapsedMs: number;
  /** Calls no incident owns, made while this setting ran. */
  shared: VendorCall[];
  /** Share of wall time this process's main event loop (API, activities, fakes) was busy. */
  mainBusy: number;
  /** CPU per incident of this whole process and of the Temporal server, in milliseconds. */
  nodeCpuMs: number;
  serverCpuMs?: number;
  /** Share of the machine's CPU time used by other processes meanwhile (a shared host skews every figure). */
  othersBusy?: number;
}

/** Busy and total CPU time of the whole machine in microseconds, from /proc/stat (Linux); undefined elsewhere. */
function machineCpuUs(): { busy: number; total: number } | undefined {
  try {
    const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks.map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: (busy * 1e6) / CLOCK_TICKS_PER_SECOND, total: ((busy + idle + iowait) * 1e6) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

async function runSetting(
  name: string,
  latencyMs: number,
  count: number,
  target: { fakes: AllFakes; watch: WarRoomWatch; apiUrl: string; channelTemplate?: string; serverPid?: number },
): Promise<SettingResult> {
  target.fakes.setLatency(latencyMs);
  const incidents = Array.from({ length: count }, () =>
    target.fakes.pagerduty.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' }),
  );
  const deliveries = incidents.map((incident, index) =>
    signedPagerDutyTrigger(incident.id, `01E2E${name.replace(/\W/g, '')}${index}${incident.id}`, WEBHOOK_SECRET),
  );
  const traces: WarRoomTrace[] = [];
  const sharedFrom = target.watch.shared.length;
  const loopBefore = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const serverBefore = processCpuUs(target.serverPid);
  const machineBefore = machineCpuUs();

  const { labels, elapsedMs } = await closedLoop(count, settings.concurrency, async (index) => {
    const incident = incidents[index] as (typeof incidents)[number];
    const { body, headers } = deliveries[index] as ReturnType<typeof signedPagerDutyTrigger>;
    const trace = target.watch.follow(incident.id, target.channelTemplate);
    traces[index] = trace;
    const response = await fetch(`${target.apiUrl}/webhooks/pagerduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    trace.acceptedAt = performance.now();
    const answer = (await response.json().catch(() => ({}))) as { outcome?: string };
    if (response.status !== 202) return `${response.status} ${answer.outcome ?? ''}`.trim();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolveLate) => (timer = setTimeout(() => resolveLate('late'), INCIDENT_DEADLINE_MS)));
    const settled = await Promise.race([trace.furnished.then(() => 'done' as const), late]);
    clearTimeout(timer);
    // `late`: not furnished within INCIDENT_DEADLINE_MS.
    return settled === 'done' ? `202 ${answer.outcome ?? ''}` : 'late';
  });
  const serverAfter = processCpuUs(target.serverPid);
  const machineAfter = machineCpuUs();
  const cpu = process.cpuUsage(cpuBefore);
  const mainBusy = performance.eventLoopUtilization(performance.eventLoopUtilization(), loopBefore).utilization;
  const { statuses } = tally(labels);
  const failures = Object.fromEntries(Object.entries(statuses).filter(([status]) => status !== '202'));
  return {
    name,
    latencyMs,
    traces,
    failures,
    elapsedMs,
    shared: target.watch.shared.slice(sharedFrom),
    mainBusy,
    nodeCpuMs: (cpu.user + cpu.system) / 1000 / count,
    serverCpuMs: serverBefore !== undefined && serverAfter !== undefined ? (serverAfter - serverBefore) / 1000 / count : undefined,
    othersBusy:
      machineBefore && machineAfter && serverBefore !== undefined && serverAfter !== undefined
        ? Math.max(0, machineAfter.busy - machineBefore.busy - (cpu.user + cpu.system) - (serverAfter - serverBefore)) /
          (machineAfter.total - machineBefore.total)
        : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Figures.

/** Nearest-rank percentile of samples. */
function percentileOf(samples: readonly number[], p: number): number {
  return percentile(
    samples.filter(Number.isFinite).sort((a, b) => a - b),
    p,
  );
}

const median = (samples: readonly number[]) => percentileOf(samples, 0.5);
const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const since = (trace: WarRoomTrace, at: number | undefined) => (at === undefined ? Number.NaN : at - trace.sentAt);

/** The most common value (ties: the larger), for per-incident counts that should all agree. */
function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? Number.NaN;
}

const ROOM_HELPERS = new Set(['users.lookupByEmail', 'GET users', 'auth.test', 'users.conversations']);

/** The vendor calls behind each part of one incident's war room; each path's depth is its longest chain. */
interface CriticalPath {
  ticket: VendorCall[];
  room: VendorCall[];
  timeline: VendorCall[];
  topic: VendorCall[];
  summaryPin: VendorCall[];
}

function criticalPath(trace: WarRoomTrace, shared: readonly VendorCall[]): CriticalPath {
  const own = (before: number | undefined, keep: (call: VendorCall) => boolean) =>
    trace.calls.filter((call) => before !== undefined && call.answeredAt <= before && keep(call));
  const invite = trace.calls.find((call) => call.what === 'conversations.invite' && call.ok);
  const channelAt = trace.at.channel ?? Number.NaN;
  // Look-ups name no incident. Take the PagerDuty user look-up made between this webhook and
  // the channel, and the Slack look-ups between the channel and the invite; another incident's
  // calls in those windows overlap this one's, so they cannot lengthen the chain.
  const helpers = invite
    ? shared.filter((call) =>
        call.what === 'users.lookupByEmail'
          ? call.arrivedAt >= channelAt && call.answeredAt <= invite.arrivedAt
          : ROOM_HELPERS.has(call.what) &&
            call.arrivedAt >= trace.sentAt &&
            call.arrivedAt <= channelAt &&
            call.answeredAt <= invite.arrivedAt,
      )
    : [];
  return {
    ticket: own(trace.at.ticket, (call) => call.vendor === 'jira'),
    room: [...own(trace.at.invite, (call) => call.what === 'conversations.create' || call.what === 'conversations.invite'), ...helpers],
    timeline: own(trace.at.note, (call) => call.what === 'GET notes' || call.what === 'POST notes'),
    topic: own(trace.at.topic, (call) => call.what === 'conversations.info' || call.what === 'conversations.setTopic'),
    summaryPin: own(trace.at.pin, (call) => ['conversations.history', 'chat.postMessage', 'pins.add'].includes(call.what)),
  };
}

/** Calls per incident by vendor and name, from the fakes' logs of the whole setting. */
function callsPerIncident(result: SettingResult): string {
  const counts = new Map<string, number>();
  for (const call of [...result.traces.flatMap((trace) => trace.calls), ...result.shared]) {
    const name = `${call.vendor} ${call.what}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const incidents = result.traces.length;
  return [...counts.entries()].map(([name, n]) => `${name} ${fixed(n / incidents, n % incidents === 0 ? 0 : 1)}`).join(', ');
}

/** A path as its steps: calls that ran alongside each other joined by ‖, steps by →. */
function pathText(calls: readonly VendorCall[]): string {
  const steps: Set<string>[] = [];
  for (const call of calls) {
    const step = longestChain(calls.filter((other) => other.answeredAt <= call.arrivedAt)).length;
    (steps[step] ??= new Set()).add(call.what);
  }
  return (
    steps
      .filter(Boolean)
      .map((names) => [...names].join(' ‖ '))
      .join(' → ') || '(none)'
  );
}

interface Bound {
  ms: number;
  furnishedMs: number;
  depth: { ticket: number; room: number; timeline: number; topic: number; summaryPin: number };
  example: CriticalPath;
}

function bound(result: SettingResult): Bound {
  const paths = result.traces.map((trace) => criticalPath(trace, result.shared));
  const deepest = (name: keyof CriticalPath) => mode(paths.map((path) => longestChain(path[name]).length));
  const depth = {
    ticket: deepest('ticket'),
    room: deepest('room'),
    timeline: deepest('timeline'),
    topic: deepest('topic'),
    summaryPin: deepest('summaryPin'),
  };
  const typical = (path: CriticalPath) =>
    (Object.keys(depth) as (keyof CriticalPath)[]).every((name) => longestChain(path[name]).length === depth[name]);
  const example = paths.find(typical) ?? (paths[0] as CriticalPath);
  const opened = Math.max(depth.ticket, depth.room);
  return {
    ms: result.latencyMs * (opened + depth.timeline),
    furnishedMs: result.latencyMs * (opened + Math.max(depth.timeline, depth.topic, depth.summaryPin)),
    depth,
    example,
  };
}

interface Row {
  label: string;
  values: number[];
}

/** Per incident, where the time to "ready" went: our own calls' arrival and answer times. */
function timeline(result: SettingResult): Row[] {
  const rows: Row[] = [
    { label: 'POST → 202 (durably accepted)', values: [] },
    { label: 'POST → Jira search arrives', values: [] },
    { label: 'POST → conversations.create arrives', values: [] },
    { label: 'conversations.create (in Slack)', values: [] },
    { label: 'channel made → invite answered', values: [] },
    { label: 'POST → ticket made', values: [] },
    { label: 'ticket + invite → GET notes arrives', values: [] },
    { label: 'GET notes arrives → note made', values: [] },
    { label: 'ready', values: [] },
    { label: 'ready → furnished', values: [] },
  ];
  const put = (index: number, value: number) => rows[index]?.values.push(value);
  for (const trace of result.traces) {
    const first = (what: string) => trace.calls.find((call) => call.what === what);
    const create = first('conversations.create');
    const notes = first('GET notes');
    put(0, since(trace, trace.acceptedAt));
    put(1, since(trace, first('searchAndReconsileIssuesUsingJql')?.arrivedAt));
    put(2, since(trace, create?.arrivedAt));
    put(3, create ? create.answeredAt - create.arrivedAt : Number.NaN);
    put(4, (trace.at.invite ?? Number.NaN) - (trace.at.channel ?? Number.NaN));
    put(5, since(trace, trace.at.ticket));
    put(6, (notes?.arrivedAt ?? Number.NaN) - Math.max(trace.at.ticket ?? Number.NaN, trace.at.invite ?? Number.NaN));
    put(7, (trace.at.note ?? Number.NaN) - (notes?.arrivedAt ?? Number.NaN));
    put(8, since(trace, trace.readyAt));
    put(9, (trace.furnishedAt ?? Number.NaN) - (trace.readyAt ?? Number.NaN));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Temporal's own view, from each run's history: workflow tasks and activity dispatch up to the note.

const EventType = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const eventMs = (event: HistoryEvent) => {
  const time = event.eventTime;
  return time ? Number(time.seconds ?? 0) * 1000 + (time.nanos ?? 0) / 1e6 : Number.NaN;
};
const idOf = (value: unknown) => Number(String(value ?? Number.NaN));

interface TemporalView {
  /** Workflow tasks completed before the timeline note's activity completed. */
  workflowTasks: number[];
  /** POST → the run's first workflow task completed (the server's clock, same host). */
  firstTask: number[];
  /** An activity's start (as the server recorded it) → its first vendor call arriving at the fake. */
  startToCall: number[];
  /** Workflow task: scheduled → started (waiting for a poller), started → completed (the worker's turn). */
  wftWait: number[];
  wftRun: number[];
  /** Activity task: scheduled → started, by activity type. */
  activityWait: Map<string, number[]>;
  /** Per run, once furnished: every history event, and every workflow task completed. */
  events: number[];
  tasksAll: number[];
  /** History events by type, summed over the runs. */
  eventTypes: Map<string, number>;
}

async function temporalView(client: Client, traces: readonly WarRoomTrace[]): Promise<TemporalView> {
  const view: TemporalView = {
    workflowTasks: [],
    firstTask: [],
    startToCall: [],
    wftWait: [],
    wftRun: [],
    activityWait: new Map(),
    events: [],
    tasksAll: [],
    eventTypes: new Map(),
  };
  const wallClock = (at: number) => performance.timeOrigin + at;
  for (const trace of traces) {
    const history = await client.workflow.getHandle(workflowIdFor(trace.key)).fetchHistory();
    const at = new Map<number, HistoryEvent>();
    const activityType = new Map<number, string>();
    const firstCall: Record<string, string> = { openTicket: 'searchAndReconsileIssuesUsingJql', openChannel: 'conversations.create' };
    let tasks = 0;
    view.events.push(history.events?.length ?? 0);
    for (const event of history.events ?? []) {
      const id = idOf(event.eventId);
      at.set(id, event);
      const type = EventType[event.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? '?';
      view.eventTypes.set(type, (view.eventTypes.get(type) ?? 0) + 1);
      switch (event.eventType) {
        case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: {
          const scheduled = at.get(idOf(event.workflowTaskStartedEventAttributes?.scheduledEventId));
          if (scheduled) view.wftWait.push(eventMs(event) - eventMs(scheduled));
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
          const started = at.get(idOf(event.workflowTaskCompletedEventAttributes?.startedEventId));
          if (started) view.wftRun.push(eventMs(event) - eventMs(started));
          if (tasks === 0) view.firstTask.push(eventMs(event) - wallClock(trace.sentAt));
          tasks += 1;
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          activityType.set(id, event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
          const scheduledId = idOf(event.activityTaskStartedEventAttributes?.scheduledEventId);
          const scheduled = at.get(scheduledId);
          const type = activityType.get(scheduledId) ?? '?';
          if (scheduled) view.activityWait.set(type, [...(view.activityWait.get(type) ?? []), eventMs(event) - eventMs(scheduled)]);
          const call = trace.calls.find((made) => made.what === firstCall[type]);
          if (call) view.startToCall.push(wallClock(call.arrivedAt) - eventMs(event));
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
          if (activityType.get(idOf(event.activityTaskCompletedEventAttributes?.scheduledEventId)) === 'postTimelineNote') {
            view.workflowTasks.push(tasks);
          }
          break;
      }
    }
    view.tasksAll.push(tasks);
  }
  return view;
}

// ---------------------------------------------------------------------------------------------
// Printing.

const WIDTHS = [16, 10, 11, 7, 7, 11, 7, 7, 7, 11, 10, 14, 8, 9];
const LABEL_WIDTH = 40;
const COLUMN_WIDTH = 14;

function line(cells: string[]): string {
  return cells
    .map((cell, index) => cell.padEnd(WIDTHS[index] ?? 9))
    .join('')
    .trimEnd();
}

function failuresText(failures: Record<string, number>): string {
  const count = Object.values(failures).reduce((sum, n) => sum + n, 0);
  return count === 0
    ? '0'
    : `${count} (${Object.entries(failures)
        .map(([what, n]) => `${what}: ${n}`)
        .join(', ')})`;
}

function settingLine(result: SettingResult): string {
  const ready = result.traces.map((trace) => since(trace, trace.readyAt));
  const furnished = result.traces.map((trace) => since(trace, trace.furnishedAt));
  return line([
    result.name,
    String(result.traces.length),
    fixed(median(ready)),
    fixed(percentileOf(ready, 0.99)),
    fixed(Math.max(...ready.filter(Number.isFinite))),
    fixed(median(furnished)),
    fixed(percentileOf(furnished, 0.99)),
    fixed(Math.max(...furnished.filter(Number.isFinite))),
    fixed(result.traces.length / (result.elapsedMs / 1000), 1),
    `${Math.round(result.mainBusy * 100)}%`,
    fixed(result.nodeCpuMs),
    result.serverCpuMs === undefined ? '-' : fixed(result.serverCpuMs),
    result.othersBusy === undefined ? '-' : `${Math.round(result.othersBusy * 100)}%`,
    failuresText(result.failures),
  ]);
}

function printTemporalView(name: string, view: TemporalView): void {
  const waits = [...view.activityWait.entries()]
    .filter(([type]) => ['openChannel', 'openTicket', 'assigneeEmails', 'inviteResponders', 'postTimelineNote'].includes(type))
    .map(([type, values]) => `${type} ${fixed(median(values), 1)}`)
    .join(', ');
  console.log(
    `  ${name}: ${fixed(median(view.workflowTasks))} workflow tasks up to the note; POST → first one done p50 ${fixed(median(view.firstTask), 1)} ms; ` +
      `each waits p50 ${fixed(median(view.wftWait), 1)} ms for the worker, runs p50 ${fixed(median(view.wftRun), 1)} ms`,
  );
  console.log(`    activity schedule→start p50 (ms): ${waits}; start → its first vendor call p50 ${fixed(median(view.startToCall), 1)} ms`);
  const runs = view.events.length;
  const types = [...view.eventTypes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type.toLowerCase()} ${fixed(n / runs, 1)}`)
    .join(', ');
  console.log(
    `    once furnished, per run: ${fixed(median(view.events))} history events, ${fixed(median(view.tasksAll))} workflow tasks; events: ${types}`,
  );
}

/** The issue-10 bar: CPU per incident of warroom's process and of the Temporal server, with what drives the server's share. */
function printCpu(result: SettingResult, view: TemporalView): void {
  const server = result.serverCpuMs ?? Number.NaN;
  console.log(
    `CPU per incident, ${result.name}: node ${fixed(result.nodeCpuMs, 1)} ms + server ${fixed(server, 1)} ms = ${fixed(result.nodeCpuMs + server, 1)} ms   ` +
      `target <= ${TARGET_CPU_MS} ms; ${fixed(median(view.events))} history events, ${fixed(median(view.tasksAll))} workflow tasks per incident`,
  );
}

// ---------------------------------------------------------------------------------------------

/** Runs both settings and prints the figures; `options` lets scratch variants swap the worker. */
export async function runE2e(options: E2eOptions = {}): Promise<void> {
  console.log(`machine: ${machineLine()}`);
  console.log(
    `settings: ${settings.incidents} incidents per setting, ${settings.concurrency} at a time (closed loop), warm-up ${settings.warmup}; ` +
      `fakes at 0 ms, then ${settings.latencyMs} ms per call; PagerDuty v3 incident.triggered, signed; one worker` +
      (options.variant ? `; variant: ${options.variant}` : '') +
      `; SDK metrics ${settings.sdkMetrics ? 'exported' : 'off'}; tracing ${settings.tracing ? 'on (OTLP/HTTP to a local sink)' : 'off'}`,
  );

  // The worker's lifecycle chatter at INFO would drown the figures; warnings still show.
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(settings.sdkMetrics ? { telemetryOptions: { metrics: sdkMetricsExporter(`127.0.0.1:${await freePort()}`) } } : {}),
  });
  const sink = settings.tracing ? await startTraceSink() : undefined;
  const tracing: Tracing | undefined = sink
    ? startTracing({
        serviceName: 'warroom-bench',
        resourceAttributes: {},
        url: sink.url,
        headers: {},
        sampler: 'parentbased_always_on',
        samplerRatio: 1,
      })
    : undefined;
  const disarm = watchdog(settings.timeoutMs);
  // As test/warroom.test.ts sets it up.
  const stack = await startStack({
    name: 'bench-e2e',
    temporal: { headless: true, dynamicConfig: options.devServerConfig },
    fakes: { slack: { seed: 7 }, configure: ['jira', 'slack', 'pagerduty', 'victorops'], announceChannel: ANNOUNCE_CHANNEL },
    worker: { create: options.startWorker },
    tracing,
    env: {
      PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com,nobody@example.com',
      TEMPORAL_UI_URL: 'http://localhost:8233',
      // VENDOR_BUDGETS=false compares the unpaced path (vendor calls eager, on the workflows' queue).
      ...(process.env.VENDOR_BUDGETS ? { VENDOR_BUDGETS: process.env.VENDOR_BUDGETS } : {}),
    },
  });

  try {
    const { fakes, client, config } = stack;
    const watch = watchWarRoom(fakes);
    const target = { fakes, watch, apiUrl: stack.apiUrl, channelTemplate: config.slack?.channelTemplate, serverPid: stack.temporal.pid };
    if (settings.warmup > 0) {
      const warm = await runSetting('warm-up', 0, settings.warmup, target);
      console.log(`warm-up: ${settings.warmup} incidents at 0 ms; failures ${failuresText(warm.failures)}`);
    }
    const results = [
      await runSetting('fakes 0 ms', 0, settings.incidents, target),
      await runSetting(`fakes ${settings.latencyMs} ms`, settings.latencyMs, settings.incidents, target),
    ];
    fakes.setLatency(0);
    const [fast, slow] = results as [SettingResult, SettingResult];

    console.log(
      '\nwebhook POST → war room, ms (ready = ticket + channel with invites + PagerDuty note; furnished = ready + topic + summary + pin):',
    );
    console.log(
      line([
        'setting',
        'incidents',
        'ready p50',
        'p99',
        'max',
        'furn. p50',
        'p99',
        'max',
        'inc/s',
        'main loop',
        'node cpu',
        'temporal cpu',
        'others',
        'failures',
      ]),
    );
    for (const result of results) console.log(settingLine(result));
    console.log(
      'columns: inc/s = incidents furnished per second; main loop = busy share of the event loop running the API, activities and fakes; ' +
        'node cpu / temporal cpu = ms of CPU per incident of this whole process (all threads) / of the dev server; ' +
        "others = share of the machine's CPU other processes used meanwhile",
    );

    const fastReady = median(fast.traces.map((trace) => since(trace, trace.readyAt)));
    const slowReady = median(slow.traces.map((trace) => since(trace, trace.readyAt)));
    const slowFurnished = median(slow.traces.map((trace) => since(trace, trace.furnishedAt)));
    const limit = bound(slow);
    const { depth, example } = limit;
    console.log(`\n${fast.name}: ready p50 ${fixed(fastReady)} ms   target <= ${TARGET_P50_MS} ms`);
    console.log(
      `${slow.name}: ready p50 ${fixed(slowReady)} ms; critical-path bound ${fixed(limit.ms)} ms = ${slow.latencyMs} ms × ` +
        `(max(ticket ${depth.ticket}, room ${depth.room}) + timeline ${depth.timeline}); ratio ${fixed(slowReady / limit.ms, 2)}   target <= ${TARGET_BOUND_RATIO}`,
    );
    console.log(`  ticket path:   ${pathText(example.ticket)}`);
    console.log(`  room path:     ${pathText(example.room)}`);
    console.log(`  timeline path: ${pathText(example.timeline)}`);
    console.log(`  then topic:    ${pathText(example.topic)};  summary: ${pathText(example.summaryPin)}`);
    console.log(
      `  furnished p50 ${fixed(slowFurnished)} ms; bound ${fixed(limit.furnishedMs)} ms = ${slow.latencyMs} ms × (max(ticket ${depth.ticket}, room ${depth.room}) + ` +
        `max(timeline ${depth.timeline}, topic ${depth.topic}, summary+pin ${depth.summaryPin})); ratio ${fixed(slowFurnished / limit.furnishedMs, 2)}`,
    );
    console.log(`  vendor calls per incident (${slow.name}): ${callsPerIncident(slow)}`);

    console.log('\nwhere the time goes, p50 per incident (ms):');
    console.log(`${''.padEnd(LABEL_WIDTH)}${results.map((result) => result.name.padEnd(COLUMN_WIDTH)).join('')}`.trimEnd());
    const rows = results.map(timeline);
    for (const [index, row] of (rows[0] ?? []).entries()) {
      const cells = rows.map((setting) => fixed(median(setting[index]?.values ?? []), 1).padEnd(COLUMN_WIDTH));
      console.log(`${row.label.padEnd(LABEL_WIDTH)}${cells.join('')}`.trimEnd());
    }
    console.log(`ready − bound (time outside vendor calls on the chain), ${slow.name}: p50 ${fixed(slowReady - limit.ms)} ms`);

    console.log("\nTemporal, from the runs' histories (server timestamps):");
    const views = [];
    for (const result of results) {
      const view = await temporalView(client, result.traces);
      printTemporalView(result.name, view);
      views.push(view);
    }
    console.log('');
    printCpu(fast, views[0] as TemporalView);
    if (sink) console.log(`traces: ${fixed(sink.bytes() / 1024)} KiB of OTLP sent to the sink`);
  } finally {
    await stack.stop().catch((err: Error) => console.error(`cleanup failed: ${err.message}`));
    await tracing?.shutdown();
    await sink?.stop();
    disarm();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runE2e();
