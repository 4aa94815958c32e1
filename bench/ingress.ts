/**
 * Ingress benchmark: how fast warroom durably accepts PagerDuty webhooks (HTTP POST -> 202 once
 * Temporal holds the signal-with-start), next to the bare SDK call it wraps, on one Temporal dev
 * server. No worker runs: workflows only queue. Prints figures, never pass/fail.
 *
 *   npm run bench:ingress
 *   BENCH_REQUESTS=3000 BENCH_CONCURRENCY=50 BENCH_ROUNDS=3 BENCH_WARMUP=200 BENCH_DUPLICATES=5
 *   BENCH_SENDER=thread|inline   (HTTP senders in a worker thread, or on the API's own event loop)
 */
import { performance } from 'node:perf_hooks';
import type { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentEvent } from '../src/shared/incident.js';
import { incidentEventSignal, INCIDENT_WORKFLOW } from '../src/shared/messages.js';
import { keyKey, severityKey, sourceKey, statusKey } from '../src/shared/search-attributes.js';
import { normalisePagerDuty } from '../src/sources/pagerduty.js';
import { connectClient } from '../src/temporal/connection.js';
import type { IncidentWorkflowInput } from '../src/workflows/incident.js';
import { intFromEnv } from '../test/settings.js';
import { startStack } from '../test/stack.js';
import { machineLine, percentile, processCpuUs, signedPagerDutyTrigger, watchdog } from './measure.js';
import { closedLoop, inlineSender, tally, threadSender, type HttpSender, type PostPlan, type RunResult } from './http-sender.js';

const TARGET_RATIO = 0.9;
const TARGET_P99_MS = 50;
/** Webhooks are signed as in production, so verification is part of what is measured. */
const WEBHOOK_SECRET = 'bench-webhook-secret';

const settings = {
  requests: intFromEnv('BENCH_REQUESTS', 3000),
  concurrency: intFromEnv('BENCH_CONCURRENCY', 50),
  rounds: intFromEnv('BENCH_ROUNDS', 3),
  warmup: intFromEnv('BENCH_WARMUP', 200, 0),
  duplicates: intFromEnv('BENCH_DUPLICATES', 5, 0),
  sender: process.env.BENCH_SENDER === 'inline' ? ('inline' as const) : ('thread' as const),
  timeoutMs: intFromEnv('BENCH_TIMEOUT_S', 900) * 1000,
};

// ---------------------------------------------------------------------------------------------
// Deliveries: the fixture with a distinct event.id each, and a distinct data.id per incident.

interface Deliveries {
  bodies: string[];
  headers: Record<string, string>[];
  /** The same deliveries as warroom normalises them: the bare path's input. */
  events: IncidentEvent[];
}

/** `count` deliveries tagged `tag`; every `perIncident` consecutive ones share an incident. */
function deliveries(tag: string, count: number, perIncident = 1): Deliveries {
  const result: Deliveries = { bodies: [], headers: [], events: [] };
  for (let index = 0; index < count; index++) {
    const incidentId = `PB${tag}${Math.floor(index / perIncident)}`;
    const { body, headers } = signedPagerDutyTrigger(incidentId, `01BENCH${tag}E${index}`, WEBHOOK_SECRET);
    const normalised = normalisePagerDuty(JSON.parse(body));
    if (!('event' in normalised)) throw new Error(`fixture does not normalise: ${JSON.stringify(normalised)}`);
    result.bodies.push(body);
    result.headers.push(headers);
    result.events.push(normalised.event);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The two paths.

/** The raw SDK call, with the same workflow, input, signal, memo and search attributes as src/dispatch.ts. */
async function bareSignalWithStart(client: Client, taskQueue: string, event: IncidentEvent): Promise<string> {
  const input: IncidentWorkflowInput = { key: event.key, source: event.source, externalId: event.externalId };
  await client.workflow.signalWithStart(INCIDENT_WORKFLOW, {
    workflowId: workflowIdFor(event.key),
    taskQueue,
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
  });
  return 'ok';
}

// ---------------------------------------------------------------------------------------------
// Measuring.

interface Row {
  path: string;
  round: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  failures: Record<string, number>;
  outcomes: Record<string, number>;
  /** Share of wall time the main (API / SDK) event loop was busy. */
  mainBusy: number;
  senderBusy?: number;
  /** CPU per request of this Node process (all threads) and of the Temporal server, in microseconds. */
  nodeCpuUs: number;
  serverCpuUs?: number;
}

async function measure(
  path: string,
  round: number,
  serverPid: number | undefined,
  sender: HttpSender | undefined,
  run: () => Promise<RunResult>,
): Promise<Row> {
  const mainBefore = performance.eventLoopUtilization();
  const senderBefore = sender?.utilization();
  const cpuBefore = process.cpuUsage();
  const serverBefore = processCpuUs(serverPid);
  const result = await run();
  const serverAfter = processCpuUs(serverPid);
  const cpu = process.cpuUsage(cpuBefore);
  const senderAfter = sender?.utilization();
  const mainBusy = performance.eventLoopUtilization(performance.eventLoopUtilization(), mainBefore).utilization;
  const requests = result.latenciesMs.length;
  const sorted = Float64Array.from(result.latenciesMs).sort();
  const failures = Object.fromEntries(Object.entries(result.statuses).filter(([status]) => status !== '202' && status !== 'ok'));
  return {
    path,
    round,
    requests,
    perSecond: requests / (result.elapsedMs / 1000),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    failures,
    outcomes: result.outcomes,
    mainBusy,
    senderBusy: senderBefore && senderAfter ? performance.eventLoopUtilization(senderAfter, senderBefore).utilization : undefined,
    nodeCpuUs: (cpu.user + cpu.system) / requests,
    serverCpuUs: serverBefore !== undefined && serverAfter !== undefined ? (serverAfter - serverBefore) / requests : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Printing.

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const percent = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value * 100)}%`);

function failuresText(row: Row): string {
  const count = Object.values(row.failures).reduce((sum, n) => sum + n, 0);
  if (count === 0) return '0';
  return `${count} (${Object.entries(row.failures)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ')})`;
}

const COLUMNS = [
  'path',
  'round',
  'requests',
  'req/s',
  'p50 ms',
  'p99 ms',
  'non-202',
  'main loop',
  'sender loop',
  'node µs/req',
  'temporal µs/req',
];
const WIDTHS = [12, 6, 9, 8, 8, 8, 8, 10, 12, 12, 16];

function line(cells: string[]): string {
  return cells
    .map((cell, index) => cell.padEnd(WIDTHS[index] ?? 8))
    .join('')
    .trimEnd();
}

function rowLine(row: Row, round: string = String(row.round)): string {
  return line([
    row.path,
    round,
    String(row.requests),
    fixed(row.perSecond, 0),
    fixed(row.p50),
    fixed(row.p99),
    failuresText(row),
    percent(row.mainBusy),
    percent(row.senderBusy),
    fixed(row.nodeCpuUs, 0),
    row.serverCpuUs === undefined ? '-' : fixed(row.serverCpuUs, 0),
  ]);
}

function summaryLine(row: Row): string {
  return line([
    row.path,
    String(row.round),
    String(row.requests),
    fixed(row.perSecond, 0),
    fixed(row.p50),
    fixed(row.p99),
    failuresText(row),
  ]);
}

/** The median round by throughput (for an even count, the slower of the middle two). */
function medianRound(rows: Row[]): Row {
  const sorted = [...rows].sort((a, b) => a.perSecond - b.perSecond);
  const row = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!row) throw new Error('no rounds');
  return row;
}

function outcomesText(rows: Row[]): string {
  const total: Record<string, number> = {};
  for (const row of rows) for (const [outcome, n] of Object.entries(row.outcomes)) total[outcome] = (total[outcome] ?? 0) + n;
  return (
    Object.entries(total)
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ') || 'none'
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`machine: ${machineLine()}`);
  console.log(
    `settings: ${settings.requests} requests × ${settings.rounds} rounds per path, concurrency ${settings.concurrency}, ` +
      `warm-up ${settings.warmup}, senders ${settings.sender === 'thread' ? 'in a worker thread' : 'on the API event loop'}, ` +
      `PagerDuty v3 incident.triggered, signed, no worker running`,
  );

  const disarm = watchdog(settings.timeoutMs);
  // The API alone: no worker runs, so workflows only queue.
  const stack = await startStack({ name: 'bench-ingress', worker: false, env: { PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  const cleanups: (() => Promise<unknown>)[] = [() => stack.stop()];

  try {
    const serverPid = stack.temporal.pid;
    const { taskQueue } = stack;
    // The bare path has a connection of its own: the API's Dispatcher wraps its client's
    // signalWithStart RPC, and the bare path must be the SDK untouched.
    const forBare: { client: Client; connection: Connection } = await connectClient({
      ...stack.config.temporal,
      address: stack.temporal.address,
    });
    cleanups.push(() => forBare.connection.close());
    // Idle keep-alive sockets must survive the bare rounds, or the first POSTs of a round reconnect.
    stack.apiServer!.keepAliveTimeout = settings.timeoutMs;
    const port = stack.apiPort;
    const sender = settings.sender === 'thread' ? threadSender(settings.concurrency) : inlineSender(settings.concurrency);
    cleanups.push(() => sender.close());

    const postPlan = (batch: Deliveries): PostPlan => ({
      port,
      path: '/webhooks/pagerduty',
      concurrency: settings.concurrency,
      bodies: batch.bodies,
      headers: batch.headers,
    });
    const warroomRun = (batch: Deliveries) => () => sender.run(postPlan(batch));
    const bareRun = (batch: Deliveries) => async (): Promise<RunResult> => {
      const { labels, ...run } = await closedLoop(batch.events.length, settings.concurrency, (index) =>
        bareSignalWithStart(forBare.client, taskQueue, batch.events[index] as IncidentEvent),
      );
      return { ...run, ...tally(labels) };
    };

    if (settings.warmup > 0) {
      const warmWarroom = await measure('warroom', 0, serverPid, sender, warroomRun(deliveries('WU', settings.warmup)));
      const warmBare = await measure('bare SDK', 0, serverPid, undefined, bareRun(deliveries('BU', settings.warmup)));
      console.log(`warm-up: ${settings.warmup} each; non-202: warroom ${failuresText(warmWarroom)}, bare ${failuresText(warmBare)}`);
    }

    const warroomRows: Row[] = [];
    const bareRows: Row[] = [];
    console.log('\nrounds (interleaved; order alternates each round):');
    console.log(line(COLUMNS));
    for (let round = 1; round <= settings.rounds; round++) {
      // Build the round's deliveries before its clock starts.
      const warroomBatch = deliveries(`R${round}W`, settings.requests);
      const bareBatch = deliveries(`R${round}B`, settings.requests);
      const steps = [
        () => measure('warroom', round, serverPid, sender, warroomRun(warroomBatch)).then((row) => (warroomRows.push(row), row)),
        () => measure('bare SDK', round, serverPid, undefined, bareRun(bareBatch)).then((row) => (bareRows.push(row), row)),
      ];
      if (round % 2 === 0) steps.reverse();
      for (const step of steps) console.log(rowLine(await step()));
    }

    let duplicateRows: Row[] = [];
    if (settings.duplicates > 1) {
      const perIncident = settings.duplicates;
      const warroomBatch = deliveries('DW', settings.requests, perIncident);
      const bareBatch = deliveries('DB', settings.requests, perIncident);
      duplicateRows = [
        await measure(`warroom x${perIncident}`, 1, serverPid, sender, warroomRun(warroomBatch)),
        await measure(`bare SDK x${perIncident}`, 1, serverPid, undefined, bareRun(bareBatch)),
      ];
      console.log(
        `\n${perIncident} deliveries per incident (${Math.ceil(settings.requests / perIncident)} incidents, ` +
          `the ${perIncident} of one incident in flight together; 1 round each):`,
      );
      console.log(line(COLUMNS));
      for (const row of duplicateRows) console.log(rowLine(row));
    }

    const warroom = medianRound(warroomRows);
    const bareMedian = medianRound(bareRows);
    const ratio = warroom.perSecond / bareMedian.perSecond;
    console.log(`\nsummary (median round by req/s of ${settings.rounds}, per path):`);
    console.log(line(['path', 'round', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'non-202']));
    console.log(summaryLine(warroom));
    console.log(summaryLine(bareMedian));
    const pairRatios = warroomRows.map((row, index) => row.perSecond / (bareRows[index]?.perSecond ?? Number.NaN));
    const medianPairRatio = [...pairRatios].sort((a, b) => a - b)[Math.floor((pairRatios.length - 1) / 2)] ?? Number.NaN;
    console.log(`ratio (warroom/bare throughput): ${ratio.toFixed(2)}   target >= ${TARGET_RATIO}`);
    console.log(`  same-round ratios: ${pairRatios.map((value) => value.toFixed(2)).join(', ')} (median ${medianPairRatio.toFixed(2)})`);
    console.log(
      `p99 side by side: warroom ${fixed(warroom.p99)} ms, bare ${fixed(bareMedian.p99)} ms   target (warroom) <= ${TARGET_P99_MS} ms`,
    );
    // Closed loop: mean latency = senders in flight / throughput, whatever the code path costs.
    console.log(
      `  Little's law: ${settings.concurrency} in flight / ${fixed(warroom.perSecond, 0)} req/s = ${fixed((settings.concurrency / warroom.perSecond) * 1000, 0)} ms mean; ` +
        `p99 <= ${TARGET_P99_MS} ms at ${settings.concurrency} in flight needs > ${Math.round((settings.concurrency * 1000) / TARGET_P99_MS)} req/s`,
    );
    const [warroomDuplicates, bareDuplicates] = duplicateRows;
    if (warroomDuplicates && bareDuplicates) {
      console.log(
        `x${settings.duplicates} ratio: ${(warroomDuplicates.perSecond / bareDuplicates.perSecond).toFixed(2)}; ` +
          `p99 warroom ${fixed(warroomDuplicates.p99)} ms, bare ${fixed(bareDuplicates.p99)} ms`,
      );
    }
    console.log(
      `warroom 202 outcomes: timed rounds ${outcomesText(warroomRows)}${warroomDuplicates ? `; x${settings.duplicates} run ${outcomesText([warroomDuplicates])}` : ''}`,
    );
    console.log(
      "columns: main loop = busy share of the event loop running the API (or the bare SDK calls); sender loop = the HTTP senders' thread; " +
        'node µs/req = CPU of this whole process per request; temporal µs/req = CPU of the dev server per request',
    );
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: Error) => console.error(`cleanup failed: ${err.message}`));
    }
    disarm();
  }
}

await main();
