/**
 * Storm benchmarks (issue 10): warroom under floods, end to end on a Temporal dev server, the
 * vendor fakes, one worker and the API, all started here, one stack per setting. Each scenario is
 * one exported function printing its own section under the shared machine header; name some on
 * the command line to run only those. Prints figures and the issue's bar, never pass/fail.
 *
 *   npm run bench:storm [-- deliveries]
 *
 * deliveries: signed PagerDuty v3 deliveries for many incidents, every distinct event sent many
 * times over (a sender replaying, retrying, or several subscriptions), in a seeded random order,
 * through a closed loop of senders in a thread of their own. Run with warroom's door for repeats
 * off (DELIVERY_MEMORY_SIZE=0: every delivery is a Temporal call) and on (the default), side by side.
 *   STORM_DOOR=both|off|on  DELIVERY_STORM_INCIDENTS=100 DELIVERY_STORM_EVENTS=10
 *   DELIVERY_STORM_COPIES=10 DELIVERY_STORM_SENDERS=50 DELIVERY_STORM_SEED=10 BENCH_TIMEOUT_S=900
 * (The fakes set no rate limit here, so vendor budgets are off: this storm measures the door.)
 *
 * rooms: distinct incidents declared within seconds (warnings first, then criticals) against a
 * Slack fake that enforces Slack's published per-method limits (20 a minute for Tier 2 with a
 * minute's burst, 50 for Tier 3). Run without warroom's vendor budgets and room holds (every
 * activity finds the limit by being refused) and with them, side by side: when each room opened,
 * against the bound the limit allows, the order of critical and warning rooms, 429 answers.
 *   STORM_ROOMS=before,budgets,strict,after  ROOM_STORM_WARNINGS=80 ROOM_STORM_CRITICALS=20 ROOM_STORM_ARRIVAL_S=10
 */
import { DefaultLogger, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { channelName } from '../src/activities/slack.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { INCIDENT_WORKFLOW } from '../src/shared/messages.js';
import { bundleWorkflows } from '../src/worker.js';
import { deliver, genericIncident, shuffled } from '../test/deliveries.js';
import { eventually } from '../test/eventually.js';
import { seededRandom } from '../test/fakes/http.js';
import { SLACK_TIER_LIMITS } from '../test/fakes/slack.js';
import { fixtureJson } from '../test/samples.js';
import { intFromEnv } from '../test/settings.js';
import { signPagerDuty } from '../test/signing.js';
import { startStack, type Stack } from '../test/stack.js';
import { threadSender, type RunResult } from './http-sender.js';
import { machineLine, percentile, watchdog } from './measure.js';

const WEBHOOK_SECRET = 'bench-storm-webhook-secret';
const ANNOUNCE_CHANNEL = 'incidents';
const TITLE = 'checkout-api: 5xx rate above 5% for 10 minutes';

// ---------------------------------------------------------------------------------------------
// Scenario: the deliveries storm.

const DOORS = { both: ['off', 'on'], off: ['off'], on: ['on'] } as const;
type Door = 'off' | 'on';

const deliveries = {
  incidents: intFromEnv('DELIVERY_STORM_INCIDENTS', 100),
  events: intFromEnv('DELIVERY_STORM_EVENTS', 10),
  copies: intFromEnv('DELIVERY_STORM_COPIES', 10),
  senders: intFromEnv('DELIVERY_STORM_SENDERS', 50),
  seed: intFromEnv('DELIVERY_STORM_SEED', 10),
  doors: doorsFromEnv(),
  /** How long the war rooms get, after the last answer, to be complete. */
  settleMs: 180_000,
};

/** The issue's bar for the deliveries storm. */
const BAR = { drainedMs: 60_000, refused: 0 };

function doorsFromEnv(): readonly Door[] {
  const value = process.env.STORM_DOOR?.trim() || 'both';
  if (!(value in DOORS)) throw new Error(`STORM_DOOR must be both, off or on, got "${value}"`);
  return DOORS[value as keyof typeof DOORS];
}

/**
 * The distinct events of one incident, in the order PagerDuty would send them: each carries the
 * incident, so any of them may be the first to arrive (notes only reach an open run, and in a
 * random order some would be answered 200 "no open incident").
 */
const EVENT_TYPES = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.priority_updated',
  'incident.escalated',
  'incident.reassigned',
] as const;
const PRIORITIES = ['P1', 'P2', 'P3'];

interface PagerDutyBody {
  event: {
    id: string;
    event_type: string;
    occurred_at: string;
    agent: Record<string, unknown> | null;
    data: { id: string; self: string; html_url: string; title: string; status: string; priority: { summary: string } };
  };
}

const triggered = fixtureJson<PagerDutyBody>('pagerduty-v3-incident-triggered.json');
const acknowledged = fixtureJson<PagerDutyBody>('pagerduty-v3-incident-acknowledged.json');

/** The `index`-th distinct event of incident `incidentId`: its own event id, signed as PagerDuty signs. */
function pagerDutyEvent(incidentId: string, index: number): { body: string; headers: Record<string, string> } {
  const eventType = EVENT_TYPES[index < 2 ? index : 2 + ((index - 2) % 3)] as string;
  const body = structuredClone(triggered);
  body.event.id = `01STORM${incidentId}E${String(index).padStart(3, '0')}`;
  body.event.event_type = eventType;
  body.event.occurred_at = new Date(Date.UTC(2026, 2, 14, 9, 26, 53) + index * 60_000).toISOString();
  Object.assign(body.event.data, {
    id: incidentId,
    self: `https://api.pagerduty.com/incidents/${incidentId}`,
    html_url: `https://example-co.pagerduty.com/incidents/${incidentId}`,
    title: TITLE,
    status: index === 0 ? 'triggered' : 'acknowledged',
    priority: { ...body.event.data.priority, summary: PRIORITIES[index % PRIORITIES.length] },
  });
  // Changes after the trigger are people's (the on-call user), as in the acknowledged sample.
  if (index > 0) body.event.agent = acknowledged.event.agent;
  const text = JSON.stringify(body);
  return { body: text, headers: signPagerDuty(text, WEBHOOK_SECRET) };
}

interface StormPlan {
  incidentIds: string[];
  bodies: string[];
  headers: Record<string, string>[];
}

function planStorm(): StormPlan {
  const incidentIds = Array.from({ length: deliveries.incidents }, (_, n) => `PSTORM${String(n + 1).padStart(4, '0')}`);
  const distinct = incidentIds.flatMap((id) => Array.from({ length: deliveries.events }, (_, index) => pagerDutyEvent(id, index)));
  const all = shuffled(
    distinct.flatMap((delivery) => Array<typeof delivery>(deliveries.copies).fill(delivery)),
    seededRandom(deliveries.seed),
  );
  return { incidentIds, bodies: all.map((delivery) => delivery.body), headers: all.map((delivery) => delivery.headers) };
}

/** Per incident, how many of each thing the fakes and Temporal hold: every one should be 1 (events: the distinct count). */
interface Counts {
  runs: number[];
  tickets: number[];
  rooms: number[];
  notes: number[];
  /** Events on the incident's timeline: each distinct one once. */
  applied: number[];
}

interface DoorResult {
  door: Door;
  run: RunResult;
  /** Start and signal RPCs the API made. */
  temporalCalls: number;
  /** From the first send until every incident's ticket, room, note and events were all there. */
  completeMs: number;
  counts: Counts;
}

/** Start and signal RPCs made on the stack's client (the API's), counted. */
function countTemporalCalls(stack: Stack): () => number {
  let calls = 0;
  const service = stack.client.connection.workflowService as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const rpc of ['signalWithStartWorkflowExecution', 'signalWorkflowExecution']) {
    const original = service[rpc] as (...args: unknown[]) => Promise<unknown>;
    service[rpc] = (...args) => {
      calls += 1;
      return original(...args);
    };
  }
  return () => calls;
}

async function countsOf(stack: Stack, plan: StormPlan): Promise<Counts> {
  const { fakes, config, client } = stack;
  const runs = new Map<string, number>();
  for await (const run of client.workflow.list({ query: `WorkflowType = '${INCIDENT_WORKFLOW}'` })) {
    runs.set(run.workflowId, (runs.get(run.workflowId) ?? 0) + 1);
  }
  const applied: number[] = [];
  for (const id of plan.incidentIds) {
    const state = await stack.state(incidentKey('pagerduty', id));
    // The run records each event it applies once ("update from pagerduty"...); a repeat it drops leaves nothing.
    applied.push(state.timeline.filter((entry) => entry.what.endsWith(' from pagerduty')).length);
  }
  return {
    runs: plan.incidentIds.map((id) => runs.get(workflowIdFor(incidentKey('pagerduty', id))) ?? 0),
    tickets: plan.incidentIds.map((id) => fakes.jira.issuesWithLabel(`warroom-${incidentKey('pagerduty', id)}`).length),
    rooms: plan.incidentIds.map((id) => {
      const name = channelName(config.slack?.channelTemplate, id);
      return fakes.slack.state.channels.filter((channel) => channel.name === name || channel.name.startsWith(`${name}-`)).length;
    }),
    notes: plan.incidentIds.map((id) => fakes.pagerduty.state.incidents.get(id)?.notes.length ?? 0),
    applied,
  };
}

async function stormThroughDoor(door: Door, plan: StormPlan, workflowBundle: WorkflowBundleOption): Promise<DoorResult> {
  const stack = await startStack({
    name: `bench-storm-door-${door}`,
    temporal: { headless: true },
    fakes: { slack: { seed: 7 }, configure: ['jira', 'slack', 'pagerduty'], announceChannel: ANNOUNCE_CHANNEL },
    worker: { workflowBundle },
    env: {
      PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
      ...(door === 'off' ? { DELIVERY_MEMORY_SIZE: '0' } : {}),
    },
  });
  const sender = threadSender(deliveries.senders);
  try {
    for (const id of plan.incidentIds) stack.fakes.pagerduty.addIncident({ id, title: TITLE });
    const temporalCalls = countTemporalCalls(stack);
    const started = performance.now();
    const run = await sender.run({
      port: stack.apiPort,
      path: '/webhooks/pagerduty',
      concurrency: deliveries.senders,
      bodies: plan.bodies,
      headers: plan.headers,
    });
    const calls = temporalCalls();
    await eventually(
      'every incident with its ticket, room, note and every distinct event',
      async () => {
        const counts = await countsOf(stack, plan);
        const done = (values: number[], wanted = 1) => values.every((value) => value >= wanted);
        return done(counts.tickets) && done(counts.rooms) && done(counts.notes) && done(counts.applied, deliveries.events);
      },
      { timeoutMs: deliveries.settleMs, intervalMs: 1000 },
    ).catch((err: Error) => console.log(`door ${door}: ${err.message}`));
    const completeMs = performance.now() - started;
    // Visibility lists runs a moment late; the runs of every incident should be there by now.
    await eventually('every run listed', async () => (await countsOf(stack, plan)).runs.every((n) => n > 0), { timeoutMs: 10_000 }).catch(
      () => undefined,
    );
    return { door, run, temporalCalls: calls, completeMs, counts: await countsOf(stack, plan) };
  } finally {
    await sender.close();
    await stack.stop();
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const answered2xx = (run: RunResult) => (run.statuses['202'] ?? 0) + (run.statuses['200'] ?? 0);

/** `n/total exactly once` with what is missing or doubled. */
function exactly(values: readonly number[], wanted = 1): string {
  const exact = values.filter((value) => value === wanted).length;
  const missing = values.filter((value) => value < wanted).length;
  const extra = values.reduce((sum, value) => sum + Math.max(0, value - wanted), 0);
  return `${exact}/${values.length}${missing ? `, ${missing} short` : ''}${extra ? `, ${extra} extra` : ''}`;
}

function doorRows(results: readonly DoorResult[]): string[][] {
  const latencies = (result: DoorResult) => [...result.run.latenciesMs].sort((a, b) => a - b);
  const total = (result: DoorResult) => result.run.latenciesMs.length;
  return [
    ['', ...results.map((result) => `door ${result.door}`)],
    ['drained (all answered)', ...results.map((result) => seconds(result.run.elapsedMs))],
    ['deliveries/s', ...results.map((result) => (total(result) / (result.run.elapsedMs / 1000)).toFixed(0))],
    ['ack p50', ...results.map((result) => `${percentile(latencies(result), 0.5).toFixed(0)} ms`)],
    ['ack p99', ...results.map((result) => `${percentile(latencies(result), 0.99).toFixed(0)} ms`)],
    ['refused (not 2xx)', ...results.map((result) => String(total(result) - answered2xx(result.run)))],
    [
      'answers',
      ...results.map((result) =>
        [
          ...['started', 'signaled', 'repeat'].map((outcome) => `${outcome} ${result.run.outcomes[outcome] ?? 0}`),
          ...Object.entries(result.run.statuses)
            .filter(([status]) => status !== '202')
            .map(([status, n]) => `${status} ${n}`),
        ].join(', '),
      ),
    ],
    ['Temporal starts + signals', ...results.map((result) => String(result.temporalCalls))],
    ['war rooms complete', ...results.map((result) => seconds(result.completeMs))],
    ['one run per incident', ...results.map((result) => exactly(result.counts.runs))],
    ['one ticket', ...results.map((result) => exactly(result.counts.tickets))],
    ['one room', ...results.map((result) => exactly(result.counts.rooms))],
    ['one note', ...results.map((result) => exactly(result.counts.notes))],
    [`${deliveries.events} events applied once`, ...results.map((result) => exactly(result.counts.applied, deliveries.events))],
  ];
}

/** The deliveries storm, door off and on: figures and the issue's bar. */
export async function deliveriesStorm(workflowBundle: WorkflowBundleOption): Promise<void> {
  const { incidents, events, copies, senders, seed } = deliveries;
  console.log(
    `\n## deliveries storm: ${incidents} incidents × ${events} distinct PagerDuty v3 events × ${copies} copies = ` +
      `${incidents * events * copies} signed deliveries, ${senders} senders (closed loop, own thread), seeded order (seed ${seed}); ` +
      `fakes: Jira, Slack, PagerDuty; one worker; a fresh dev server per door`,
  );
  const plan = planStorm();
  const results: DoorResult[] = [];
  for (const door of deliveries.doors) results.push(await stormThroughDoor(door, plan, workflowBundle));
  printTable(doorRows(results));
  for (const result of results) {
    const refused = result.run.latenciesMs.length - answered2xx(result.run);
    const once = (['runs', 'tickets', 'rooms', 'notes'] as const).every((name) => result.counts[name].every((n) => n === 1));
    const allApplied = result.counts.applied.every((n) => n === events);
    const met = result.run.elapsedMs <= BAR.drainedMs && refused <= BAR.refused && once && allApplied;
    console.log(
      `bar, door ${result.door}: drained ${seconds(result.run.elapsedMs)} (≤ ${seconds(BAR.drainedMs)}), ${refused} refused (${BAR.refused}), ` +
        `exactly once ${once && allApplied ? 'yes' : 'no'}: ${met ? 'met' : 'not met'}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario: the rooms storm.

const API_TOKEN = 'bench-storm-api-token';
/** conversations.create: a minute's burst, then this many a minute (Slack Tier 2). */
const CREATE_PER_MINUTE = SLACK_TIER_LIMITS['conversations.create']!;

const rooms = {
  warnings: intFromEnv('ROOM_STORM_WARNINGS', 80, 0),
  criticals: intFromEnv('ROOM_STORM_CRITICALS', 20, 0),
  arrivalMs: intFromEnv('ROOM_STORM_ARRIVAL_S', 10) * 1000,
  settings: (process.env.STORM_ROOMS?.trim() || 'before,after').split(',').map((name) => name.trim()),
  settleMs: 1_200_000,
};

/** The mechanisms each setting switches on. */
const ROOM_SETTINGS: Record<string, { what: string; env: Record<string, string> }> = {
  before: { what: 'no budgets, no hold', env: { VENDOR_BUDGETS: 'false', SLACK_ROOM_HOLD_WARNING: '0' } },
  budgets: {
    what: 'budgets and priority, no hold',
    env: { VENDOR_BUDGETS: 'true', VENDOR_BUDGETS_PER_MINUTE: '', SLACK_ROOM_HOLD_WARNING: '0' },
  },
  strict: {
    what: 'budgets at Tier 2 exactly (20 a minute), priority, hold',
    env: {
      VENDOR_BUDGETS: 'true',
      VENDOR_BUDGETS_PER_MINUTE: 'slack-create=20,slack-topic=20,slack-pin=20,slack-archive=20',
      SLACK_ROOM_HOLD_WARNING: '15s',
    },
  },
  after: {
    what: 'budgets, priority and the warning hold (defaults)',
    env: { VENDOR_BUDGETS: 'true', VENDOR_BUDGETS_PER_MINUTE: '', SLACK_ROOM_HOLD_WARNING: '15s' },
  },
};

/** The issue's bar for the rooms storm. */
const ROOM_BAR = { lastRoomOverBound: 1.2, rate429: 0.1 };

interface RoomResult {
  setting: string;
  /** Room opened (conversations.create answered), ms after the first declaration, by incident; undefined: none. */
  opened: { severity: 'critical' | 'warning'; at: number | undefined }[];
  channelsPerIncident: number[];
  slackCalls: number;
  refused429: number;
  failureAlerts: number;
  completeMs: number;
  /** Incidents whose room is complete (topic, summary, pin, announcement). */
  furnished: number;
}

/** The least time the vendor's limit allows for `count` rooms: a minute's burst, then the rate. */
function roomBoundMs(count: number): number {
  return Math.max(0, Math.ceil((count - CREATE_PER_MINUTE) / CREATE_PER_MINUTE)) * 60_000;
}

async function roomsUnder(setting: string, workflowBundle: WorkflowBundleOption): Promise<RoomResult> {
  const chosen = ROOM_SETTINGS[setting];
  if (!chosen) throw new Error(`STORM_ROOMS: unknown setting "${setting}"; known: ${Object.keys(ROOM_SETTINGS).join(', ')}`);
  const stack = await startStack({
    name: `bench-storm-rooms-${setting}`,
    temporal: { headless: true },
    fakes: { slack: { seed: 7 }, configure: ['jira', 'slack', 'pagerduty', 'pagerdutyEvents'], announceChannel: ANNOUNCE_CHANNEL },
    worker: { workflowBundle },
    env: { WARROOM_API_TOKEN: API_TOKEN, SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com', ...chosen.env },
  });
  try {
    const { slack } = stack.fakes;
    slack.faults.tierLimits(SLACK_TIER_LIMITS);
    const severities = [...Array<'warning'>(rooms.warnings).fill('warning'), ...Array<'critical'>(rooms.criticals).fill('critical')];
    const ids = severities.map((severity, index) => `STORM${setting.toUpperCase()}${index}${severity[0]}`);
    const total = severities.length;
    const spacing = total > 1 ? rooms.arrivalMs / total : 0;
    const started = Date.now();
    const slackFrom = slack.requests.length;
    // Declared on a schedule: warnings first, then criticals, all within the arrival window.
    await Promise.all(
      ids.map(async (id, index) => {
        await new Promise((resolve) => setTimeout(resolve, index * spacing));
        const delivery = genericIncident(
          { id, title: `storm ${index}: ${TITLE}`, service: 'checkout-api', severity: severities[index]! },
          { apiToken: API_TOKEN },
        );
        const answer = await deliver(stack.apiUrl, delivery);
        if (answer.status !== 202) console.log(`rooms ${setting}: declaration ${index} answered ${answer.status}`);
      }),
    );
    const states = async () => Promise.all(ids.map((id) => stack.state(incidentKey('api', id)).catch(() => undefined)));
    const furnished = (state: IncidentState | undefined) =>
      (['slackChannel', 'slackInvite', 'slackTopic', 'slackSummary', 'slackPin', 'slackAnnounce'] as const).every(
        (step) => state?.steps[step]?.status === 'done',
      );
    await eventually('every room opened and furnished', async () => (await states()).every(furnished), {
      timeoutMs: rooms.settleMs,
      intervalMs: 2000,
    }).catch((err: Error) => console.log(`rooms ${setting}: ${err.message}`));
    const completeMs = Date.now() - started;
    const calls = slack.requests.slice(slackFrom);
    const creates = calls.filter((call) => call.method === 'conversations.create' && call.status === 200);
    const final = await states();
    // An incident's channels: the one its run recorded, and any made under its name with a suffix (a double).
    const channelsOf = (state: IncidentState | undefined) => {
      const name = state?.steps.slackChannel?.name;
      return name ? slack.state.channels.filter((channel) => channel.name === name || channel.name.startsWith(`${name}-`)) : [];
    };
    const opened = final.map((state, index) => {
      const made = creates.find((call) => call.args.name === state?.steps.slackChannel?.name);
      return { severity: severities[index]!, at: made ? made.receivedAt - started : undefined };
    });
    const alerts = stack.fakes.pagerdutyEvents.alerts;
    return {
      setting,
      opened,
      channelsPerIncident: final.map((state) => channelsOf(state).length),
      slackCalls: calls.length,
      refused429: calls.filter((call) => call.status === 429).length,
      failureAlerts: alerts.size,
      completeMs,
      furnished: final.filter(furnished).length,
    };
  } finally {
    await stack.stop();
  }
}

function roomRows(results: readonly RoomResult[]): string[][] {
  const times = (result: RoomResult, severity?: 'critical' | 'warning') =>
    result.opened.filter((room) => !severity || room.severity === severity).flatMap((room) => (room.at === undefined ? [] : [room.at]));
  const at = (values: number[], pick: (values: number[]) => number) => (values.length ? seconds(pick(values)) : '-');
  const bound = roomBoundMs(rooms.warnings + rooms.criticals);
  return [
    ['', ...results.map((result) => `${result.setting} (${ROOM_SETTINGS[result.setting]?.what})`)],
    ['rooms opened', ...results.map((result) => `${times(result).length}/${result.opened.length}`)],
    ['last room', ...results.map((result) => at(times(result), (v) => Math.max(...v)))],
    ['last room / bound', ...results.map((result) => (times(result).length ? (Math.max(...times(result)) / bound).toFixed(2) : '-'))],
    ['first critical room', ...results.map((result) => at(times(result, 'critical'), (v) => Math.min(...v)))],
    ['last critical room', ...results.map((result) => at(times(result, 'critical'), (v) => Math.max(...v)))],
    ['first warning room', ...results.map((result) => at(times(result, 'warning'), (v) => Math.min(...v)))],
    ['every critical before the first warning', ...results.map((result) => (criticalsFirst(result) ? 'yes' : 'no'))],
    ['Slack calls', ...results.map((result) => String(result.slackCalls))],
    ['429 answers', ...results.map((result) => `${result.refused429} (${((100 * result.refused429) / result.slackCalls).toFixed(1)} %)`)],
    ['one channel per incident', ...results.map((result) => exactly(result.channelsPerIncident))],
    ['rooms furnished', ...results.map((result) => `${result.furnished}/${result.opened.length} at ${seconds(result.completeMs)}`)],
    ['failure alerts', ...results.map((result) => String(result.failureAlerts))],
  ];
}

function criticalsFirst(result: RoomResult): boolean {
  const critical = result.opened.filter((room) => room.severity === 'critical').map((room) => room.at ?? Infinity);
  const warning = result.opened.filter((room) => room.severity === 'warning').map((room) => room.at ?? Infinity);
  return Math.max(...critical) < Math.min(...warning);
}

/** The rooms storm, without and with the budgets: figures and the issue's bar. */
export async function roomsStorm(workflowBundle: WorkflowBundleOption): Promise<void> {
  const total = rooms.warnings + rooms.criticals;
  console.log(
    `\n## rooms storm: ${total} incidents declared within ${rooms.arrivalMs / 1000} s (${rooms.warnings} warning, then ` +
      `${rooms.criticals} critical) against Slack's per-method limits (conversations.create ${CREATE_PER_MINUTE} a minute after a ` +
      `minute's burst: bound ${seconds(roomBoundMs(total))} for the last room); fakes: Jira, Slack, PagerDuty; one worker`,
  );
  const results: RoomResult[] = [];
  for (const setting of rooms.settings) results.push(await roomsUnder(setting, workflowBundle));
  printTable(roomRows(results));
  const bound = roomBoundMs(total);
  for (const result of results) {
    const opened = result.opened.flatMap((room) => (room.at === undefined ? [] : [room.at]));
    const last = opened.length === total ? Math.max(...opened) : Infinity;
    const rate = result.refused429 / Math.max(1, result.slackCalls);
    const once = result.channelsPerIncident.every((n) => n === 1);
    const met = last <= ROOM_BAR.lastRoomOverBound * bound && criticalsFirst(result) && rate <= ROOM_BAR.rate429 && once;
    console.log(
      `bar, ${result.setting}: last room ${(last / bound).toFixed(2)} × bound (≤ ${ROOM_BAR.lastRoomOverBound}), criticals first ` +
        `${criticalsFirst(result) ? 'yes' : 'no'}, 429 ${(100 * rate).toFixed(1)} % (≤ ${100 * ROOM_BAR.rate429} %), one channel each ` +
        `${once ? 'yes' : 'no'}, failure alerts ${result.failureAlerts} (0): ${met && result.failureAlerts === 0 ? 'met' : 'not met'}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The run: the shared header, then each scenario asked for (all by default).

function printTable(rows: readonly string[][]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows)
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('   ')
        .trimEnd(),
    );
}

/** Every scenario by name, in the order they run. */
const SCENARIOS: Record<string, (workflowBundle: WorkflowBundleOption) => Promise<void>> = {
  deliveries: deliveriesStorm,
  rooms: roomsStorm,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = asked.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const names = asked.length > 0 ? asked : Object.keys(SCENARIOS);
  console.log(`machine: ${machineLine()}`);
  // The worker's lifecycle chatter at INFO would drown the figures; warnings still show.
  // Expected here by the hundred: vendor budgets' activity-only workers poll no workflows, and 429s fail attempts (counted below).
  const expected = ['No workflows registered', 'Activity failed'];
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!expected.some((start) => entry.message.startsWith(start))) console.error(`[${entry.level}] ${entry.message}`, entry.meta ?? '');
    }),
  });
  const disarm = watchdog(intFromEnv('BENCH_TIMEOUT_S', 900) * 1000);
  const workflowBundle = await bundleWorkflows();
  for (const name of names) await (SCENARIOS[name] as (typeof SCENARIOS)[string])(workflowBundle);
  disarm();
}

await main();
