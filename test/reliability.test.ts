/**
 * Issue 5, scenarios 1 and 2: a duplicate storm and a vendor outage, end to end on the suite's
 * Temporal server with every vendor fake. `npm test` runs reduced counts; the full ones come from
 * the environment:
 *
 *   STORM_INCIDENTS=200 OUTAGE_INCIDENTS=200 vitest run test/reliability.test.ts
 *
 * Every figure a document may quote is printed as one `[reliability] …` line. Settings and their
 * npm-test defaults: STORM_INCIDENTS (40), STORM_DELIVERIES (5), STORM_IN_FLIGHT (20 incidents
 * sending at once), OUTAGE_INCIDENTS (20), OUTAGE_DELIVERIES (5), OUTAGE_IN_FLIGHT (20),
 * RELIABILITY_SEED (5: the order of deliveries and every fake's dice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { statusPageQuery, statusPageWorkflowId } from '../src/shared/messages.js';
import {
  DELIVERY_KINDS,
  deliverWithRetries,
  incidentDelivery,
  shuffled,
  type IncidentDelivery,
  type SenderSecrets,
  type Sent,
} from './deliveries.js';
import {
  closedOutTallies,
  closeOutMissing,
  contractProblems,
  duplicatesIn,
  roomMissing,
  tally,
  tallyProblems,
  total,
  vendorEffects,
  type Tally,
  type VendorEffects,
} from './exactly-once.js';
import type { AllFakes } from './fakes/env.js';
import { seededRandom } from './fakes/http.js';
import { eventually } from './eventually.js';
import { startHarness, type Harness } from './harness.js';
import { intFromEnv } from './settings.js';
import {
  checkRetryAfter,
  faultCounts,
  FAULT_KINDS,
  hangRetries,
  markRequests,
  unattributed,
  vendorCalls,
  VENDORS,
  type RequestMark,
  type Vendor,
  type VendorCall,
} from './vendor-calls.js';

const STORM_INCIDENTS = intFromEnv('STORM_INCIDENTS', 40);
const STORM_DELIVERIES = intFromEnv('STORM_DELIVERIES', 5);
const STORM_IN_FLIGHT = intFromEnv('STORM_IN_FLIGHT', 20);
const OUTAGE_INCIDENTS = intFromEnv('OUTAGE_INCIDENTS', 20);
const OUTAGE_DELIVERIES = intFromEnv('OUTAGE_DELIVERIES', 5);
const OUTAGE_IN_FLIGHT = intFromEnv('OUTAGE_IN_FLIGHT', 20);
const SEED = intFromEnv('RELIABILITY_SEED', 5);

const ANNOUNCE = 'incidents';
const SECRETS: SenderSecrets = {
  pagerDutySecret: 'reliability-pagerduty-webhook-secret',
  victorOpsKey: 'reliability-victorops-webhook-key',
  victorOpsUrl: 'https://warroom.example.com/webhooks/victorops',
  victorOpsToken: 'reliability-victorops-outgoing-token',
  apiToken: 'reliability-api-token',
};
/** Every vendor client's per-request timeout (src/activities: 10 s): a hung call must outlast it. */
const CLIENT_TIMEOUT_MS = 10_000;
/** Services of generic incidents: one with its own status page, one whose incidents share one. */
const OWN_PAGE = 'payments-api';
const SHARED_PAGE = { storm: 'orders-storm-reliability', outage: 'orders-outage-reliability' };

let fakes: AllFakes;
let h: Harness;
let effects: VendorEffects;

beforeAll(async () => {
  const ownPages = ['checkout-api', 'prometheus-prod', 'database', OWN_PAGE].map((name) => `  - name: ${name}\n`).join('');
  const sharedPages = Object.values(SHARED_PAGE)
    .map((name) => `  - name: ${name}\n    combineAlerts: true\n`)
    .join('');
  h = await startHarness({
    fakes: {
      jira: { random: seededRandom(SEED + 1) },
      slack: { seed: SEED + 2 },
      pagerduty: { random: seededRandom(SEED + 3) },
      // PagerDuty's own limit (about 120 events a minute per key) is not what these scenarios test: a
      // 200-incident storm would spend minutes throttled on change events; the outage injects its own 429s.
      pagerdutyEvents: { random: seededRandom(SEED + 4), eventsPerMinute: 1_000_000 },
      victorops: { random: seededRandom(SEED + 5) },
      statuscast: { random: seededRandom(SEED + 6) },
      announceChannel: ANNOUNCE,
    },
    monitors: `monitors:\n${ownPages}${sharedPages}`,
    env: {
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
      SLACK_ARCHIVE_DELAY: '1s',
      PAGERDUTY_WEBHOOK_SECRET: SECRETS.pagerDutySecret,
      VICTOROPS_WEBHOOK_KEY: SECRETS.victorOpsKey,
      VICTOROPS_WEBHOOK_URL: SECRETS.victorOpsUrl,
      VICTOROPS_WEBHOOK_TOKEN: SECRETS.victorOpsToken,
      WARROOM_API_TOKEN: SECRETS.apiToken,
      TEMPORAL_UI_URL: 'http://localhost:8233',
    },
  });
  fakes = h.fakes;
  effects = vendorEffects(fakes, ANNOUNCE);
}, 180_000);

afterAll(async () => {
  await h?.stop();
});

// ---------------------------------------------------------------------------------------------
// Incidents, deliveries and waiting

/** `count` incidents of one scenario, every kind of delivery in turn; PagerDuty ones registered with the fake. */
function planIncidents(tag: 'storm' | 'outage', count: number, numberBase: number): IncidentDelivery[] {
  return Array.from({ length: count }, (_, index) =>
    incidentDelivery(index, {
      tag,
      numberBase,
      secrets: SECRETS,
      // Generic incidents alternate between a status page of their own and one shared by the monitor.
      apiService: (i) => (Math.floor(i / DELIVERY_KINDS.length) % 2 === 0 ? OWN_PAGE : SHARED_PAGE[tag]),
      registerPagerDuty: (title) =>
        fakes.pagerduty.addIncident({ id: `P${tag.toUpperCase()}${String(index + 1).padStart(4, '0')}`, title }).id,
    }),
  );
}

/**
 * Sends every incident's webhook `copies` times at once (the copies of one incident always in
 * flight together), incidents in seeded random order, `inFlight` incidents at a time. Each copy
 * is sent as the alerting tools send: a 503 (Temporal slower than the API's accept deadline) is
 * sent again, and each copy's attempts are kept.
 */
async function storm(
  incidents: readonly IncidentDelivery[],
  copies: number,
  inFlight: number,
  random: () => number,
): Promise<Map<string, Sent[]>> {
  const answers = new Map<string, Sent[]>();
  const order = shuffled(incidents, random);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < order.length; index = next++) {
      const incident = order[index] as IncidentDelivery;
      answers.set(incident.key, await Promise.all(Array.from({ length: copies }, () => deliverWithRetries(h.baseUrl, incident.delivery))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, order.length) }, lane));
  return answers;
}

const sharesPage = (incident: IncidentDelivery) => Object.values(SHARED_PAGE).includes(incident.service);

/** Polls each incident until `ready` answers a value (pending ones only, 16 at a time); fails at the deadline naming what is missing. */
async function untilEach<T>(
  keys: readonly string[],
  ready: (key: string) => Promise<{ value?: T; missing?: string }>,
  timeoutMs: number,
  what: string,
): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  const missing = new Map<string, string>();
  return eventually(
    `${keys.length} incidents ${what}`,
    async () => {
      const pending = keys.filter((key) => !found.has(key));
      for (let start = 0; start < pending.length; start += 16) {
        await Promise.all(
          pending.slice(start, start + 16).map(async (key) => {
            try {
              const answer = await ready(key);
              if (answer.value !== undefined) {
                found.set(key, answer.value);
                missing.delete(key);
              } else missing.set(key, answer.missing ?? 'not yet');
            } catch (err) {
              missing.set(key, String(err));
            }
          }),
        );
      }
      if (found.size === keys.length) return found;
      // Thrown, so that the deadline's error names what is missing.
      const examples = [...missing].slice(0, 5).map(([key, why]) => `${key}: ${why}`);
      throw new Error(`${keys.length - found.size} of ${keys.length} not ${what} yet:\n  ${examples.join('\n  ')}`);
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Each incident's state once its war room is complete. */
function roomsComplete(incidents: readonly IncidentDelivery[], timeoutMs: number): Promise<Map<string, IncidentState>> {
  return untilEach(
    incidents.map((incident) => incident.key),
    async (key) => {
      const state = await h.state(key);
      const missing = roomMissing(state);
      return missing ? { missing } : { value: state };
    },
    timeoutMs,
    'with a complete war room',
  );
}

/** When the room was complete: the last thing warroom recorded on the timeline by then. */
function completedAt(state: IncidentState): number {
  return Math.max(...state.timeline.filter((entry) => entry.actor === 'warroom').map((entry) => Date.parse(entry.at)));
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const is2xx = (status: number) => status >= 200 && status <= 299;

/** Copies whose last answer was not a 2xx, as `status body`: must be none. */
function unaccepted(answers: Map<string, Sent[]>): string[] {
  return [...answers.values()]
    .flat()
    .filter((sent) => !is2xx(sent.final.status))
    .map((sent) => `${sent.final.status} ${JSON.stringify(sent.final.body)}`);
}

/** When the incident's first copy was first sent. */
const firstSent = (answers: Map<string, Sent[]>, key: string) =>
  Math.min(...(answers.get(key) ?? []).map((sent) => sent.attempts[0]!.sentAt));

/**
 * The deliveries line: copies, how they ended, and what was sent again. (Answer times are left to
 * bench:ingress: here the sender shares one process with the API, the worker and every fake.)
 */
function deliveriesFigure(answers: Map<string, Sent[]>, inFlight: number): string {
  const sent = [...answers.values()].flat();
  const outcome = (name: string) => sent.filter((copy) => (copy.final.body as { outcome?: string }).outcome === name).length;
  const retried = sent.filter((copy) => copy.attempts.length > 1);
  const statuses = [...new Set(retried.flatMap((copy) => copy.attempts.slice(0, -1).map((attempt) => attempt.status)))].join('/');
  return (
    `${sent.length} (${inFlight} incidents in flight at once), ${sent.filter((copy) => is2xx(copy.final.status)).length} answered 2xx in the end ` +
    `(${outcome('started')} started, ${outcome('signaled')} signaled, ${outcome('repeat')} repeats answered at the door); ${retried.length} first answered ${statuses || '5xx'} and were sent again, as alerting tools do`
  );
}

/** One quotable figure per line. */
function figure(scenario: string, name: string, value: string | number): void {
  console.log(`[reliability] ${scenario} | ${name}: ${value}`);
}

/** Runs ever made per incident (Temporal visibility): exactly one each. */
async function runTally(incidents: readonly IncidentDelivery[]): Promise<Tally> {
  const counts = await Promise.all(incidents.map((incident) => h.runCount(incident.key)));
  return { name: 'runs', counts, expected: counts.map(() => 1) };
}

function byKind(incidents: readonly IncidentDelivery[]): string {
  return DELIVERY_KINDS.map((kind) => `${kind} ${incidents.filter((incident) => incident.kind === kind).length}`).join(', ');
}

// ---------------------------------------------------------------------------------------------

describe('scenario 1: duplicate storm', () => {
  it(
    `opens one run, ticket, channel and timeline post per incident when each of ${STORM_INCIDENTS} incidents arrives ${STORM_DELIVERIES} times at once`,
    async () => {
      const incidents = planIncidents('storm', STORM_INCIDENTS, 7_100_000);
      const started = Date.now();
      const answers = await storm(incidents, STORM_DELIVERIES, STORM_IN_FLIGHT, seededRandom(SEED));
      expect(unaccepted(answers)).toEqual([]);

      const rooms = await roomsComplete(incidents, 60_000 + 1_500 * STORM_INCIDENTS);
      const counted = {
        runs: await runTally(incidents),
        tickets: tally('tickets', incidents, (incident) => effects.ticketsOf(incident).length),
        channels: tally('channels', incidents, (incident) => effects.channelsOf(incident).length),
        summaries: tally('summaries', incidents, (incident) => effects.messagesOf(incident, SLACK_EVENT_TYPES.summary).length),
        announcements: tally('announcements', incidents, (incident) => effects.announcementsOf(incident).length),
        posts: tally('timeline posts', incidents, effects.timelinePostsOf, (incident) => (incident.source === 'api' ? 0 : 1)),
        pages: tally(
          'status pages',
          incidents.filter((incident) => !sharesPage(incident)),
          (incident) => effects.statusPagesOf(incident).length,
        ),
      };
      // The shared page is made by the monitor's own run once the first incident joins it.
      const sharing = incidents.filter(sharesPage).map((incident) => incident.key);
      await eventually(
        'the shared status page made, with every sharing incident attached',
        async () => {
          const page = await h.client.workflow.getHandle(statusPageWorkflowId(SHARED_PAGE.storm)).query(statusPageQuery);
          return Boolean(page.statusPageId) && sharing.every((key) => page.attached.includes(key));
        },
        { timeoutMs: 60_000 },
      );
      const shared = effects.sharedStatusPages(SHARED_PAGE.storm);
      const latencies = incidents.map((incident) => completedAt(rooms.get(incident.key)!) - firstSent(answers, incident.key));

      const scenario = `storm ${STORM_INCIDENTS}x${STORM_DELIVERIES}`;
      figure(scenario, 'incidents', `${incidents.length} (${byKind(incidents)})`);
      figure(scenario, 'deliveries', deliveriesFigure(answers, STORM_IN_FLIGHT));
      figure(scenario, 'runs', total(counted.runs));
      figure(scenario, 'tickets', total(counted.tickets));
      figure(scenario, 'channels', total(counted.channels));
      figure(
        scenario,
        'posts',
        `${total(counted.posts)} (PagerDuty notes and VictorOps INFO alerts; ${incidents.filter((i) => i.source === 'api').length} generic incidents have no alerting-tool timeline)`,
      );
      figure(scenario, 'status pages', `${total(counted.pages)} own + ${shared.length} shared by ${sharing.length} incidents`);
      figure(
        scenario,
        'duplicates',
        `${duplicatesIn(counted) + Math.max(0, shared.length - 1)} (runs, tickets, channels, summaries, announcements, timeline posts, status pages)`,
      );
      figure(
        scenario,
        'time to complete',
        `p50 ${seconds(percentile(latencies, 50))}, p99 ${seconds(percentile(latencies, 99))} (first delivery → ticket, channel with topic and pinned summary, announcement, timeline post, status page)`,
      );
      figure(scenario, 'wall time', seconds(Date.now() - started));

      expect(tallyProblems(Object.values(counted))).toEqual([]);
      expect(shared).toHaveLength(1);
      expect(contractProblems(fakes)).toEqual([]);
    },
    120_000 + 3_000 * STORM_INCIDENTS,
  );
});

// ---------------------------------------------------------------------------------------------

/** The Retry-After (seconds) the plan sends on each rate-limited route, by vendor. */
type Bursts = Partial<Record<Vendor, Record<string, number>>>;

/**
 * The outage: 30 % of every vendor's calls answer 500; 429 bursts with Retry-After on the routes
 * each step starts with; one call per vendor hangs past the client timeout; creates apply, then
 * answer 500. Answers what was injected, so the window can wait for all of it to have fired.
 */
function breakVendors(incidents: readonly IncidentDelivery[]) {
  const errorRate = 0.3;
  const quarter = (n: number) => Math.max(1, Math.ceil(n / 4));
  const pagerDutyIncidents = incidents.filter((incident) => incident.source === 'pagerduty').length;
  const ownPages = incidents.filter((incident) => !sharesPage(incident)).length;
  const applyThenFail = {
    jira: { createIssue: quarter(incidents.length) },
    slack: { 'conversations.create': quarter(incidents.length), 'chat.postMessage': quarter(2 * incidents.length) },
    pagerduty: { createIncidentNote: quarter(pagerDutyIncidents) },
    statuscast: { createIncident: quarter(ownPages) },
  };
  const bursts: Bursts = {
    jira: { searchAndReconsileIssuesUsingJql: 2, createIssue: 3 },
    slack: { 'conversations.create': 3, 'conversations.invite': 2, 'conversations.setTopic': 2, 'chat.postMessage': 2, 'pins.add': 2 },
    pagerduty: { listIncidentNotes: 2, createIncidentNote: 3 },
    pagerdutyEvents: { createChangeEvent: 2 },
    victorops: { alert: 2 },
    statuscast: { searchIncidents: 2, createIncident: 3 },
  };
  // 429s in a row on each rate-limited route: more incidents, longer bursts.
  const burstLength = Math.max(2, Math.ceil(incidents.length / 20));
  const burst = (vendor: Vendor, route: string) => ({ count: burstLength, retryAfterSeconds: bursts[vendor]![route]! });
  const { jira, slack, pagerduty, pagerdutyEvents, victorops, statuscast } = fakes;

  jira.searchLagMs = 1000;
  jira.faults.set('*', { errorRate });
  jira.faults.set('searchAndReconsileIssuesUsingJql', { errorRate, hang: 1, rateLimit: burst('jira', 'searchAndReconsileIssuesUsingJql') });
  jira.faults.set('createIssue', { errorRate, rateLimit: burst('jira', 'createIssue'), applyThenFail: applyThenFail.jira.createIssue });

  slack.faults.errorRate('*', errorRate);
  for (const [method, retryAfter] of Object.entries(bursts.slack!)) slack.faults.rateLimit(method, burstLength, retryAfter);
  for (const [method, count] of Object.entries(applyThenFail.slack)) slack.faults.applyThenFail(method, count);
  // Slack's hang is a switch: on until the first call hangs (see untilEveryFaultFired).
  slack.faults.hang('conversations.info');

  pagerduty.faults.set('*', { errorRate });
  pagerduty.faults.set('listIncidentNotes', { errorRate, hang: 1, rateLimit: burst('pagerduty', 'listIncidentNotes') });
  pagerduty.faults.set('createIncidentNote', {
    errorRate,
    rateLimit: burst('pagerduty', 'createIncidentNote'),
    applyThenFail: applyThenFail.pagerduty.createIncidentNote,
  });

  pagerdutyEvents.faults.set('*', { errorRate });
  pagerdutyEvents.faults.set('createChangeEvent', { errorRate, hang: 1, rateLimit: burst('pagerdutyEvents', 'createChangeEvent') });

  // VictorOps is not given "apply then 500": its REST endpoint can be neither read back nor keyed (README).
  victorops.faults.set('alert', { errorRate, hang: 1, rateLimit: burst('victorops', 'alert') });

  statuscast.faults.set('*', { errorRate });
  statuscast.faults.set('searchIncidents', { errorRate, hang: 1, rateLimit: burst('statuscast', 'searchIncidents') });
  statuscast.faults.set('createIncident', {
    errorRate,
    rateLimit: burst('statuscast', 'createIncident'),
    applyThenFail: applyThenFail.statuscast.createIncident,
  });

  return { bursts, burstLength, applyThenFail };
}

type OutagePlan = ReturnType<typeof breakVendors>;

/** Planned faults that have not fired yet since `mark`. */
function unfired(plan: OutagePlan, calls: readonly VendorCall[]): string[] {
  const fired = (vendor: Vendor, route: string, kind: string) =>
    calls.filter((call) => call.vendor === vendor && call.route === route && call.fault === kind).length;
  const waiting: string[] = [];
  for (const [vendor, routes] of Object.entries(plan.bursts) as [Vendor, Record<string, number>][]) {
    for (const route of Object.keys(routes)) if (fired(vendor, route, '429') < plan.burstLength) waiting.push(`${vendor} ${route} 429s`);
  }
  for (const [vendor, routes] of Object.entries(plan.applyThenFail) as [Vendor, Record<string, number>][]) {
    for (const [route, count] of Object.entries(routes))
      if (fired(vendor, route, 'applied-then-500') < count) waiting.push(`${vendor} ${route} apply-then-500`);
  }
  for (const vendor of VENDORS) if (!calls.some((call) => call.vendor === vendor && call.fault === 'hang')) waiting.push(`${vendor} hang`);
  return waiting;
}

/**
 * The outage window: it lasts until the deliveries are answered and every planned fault has fired
 * (bursts used up, a hang per vendor, every apply-then-500). Fails at the deadline with what each
 * vendor saw, since a fault that cannot fire means the work that would meet it is stuck.
 */
async function untilEveryFaultFired(
  plan: OutagePlan,
  mark: RequestMark,
  incidents: readonly IncidentDelivery[],
  delivered: () => boolean,
): Promise<void> {
  const timeoutMs = 120_000;
  const waitingFor = (calls: VendorCall[]) => [...(delivered() ? [] : ['deliveries']), ...unfired(plan, calls)];
  try {
    await eventually(
      'every planned fault to fire',
      async () => {
        const calls = vendorCalls(fakes, mark);
        // Slack's hang is a switch: off once one call hangs, so only that one waits out the client timeout.
        if (calls.some((call) => call.vendor === 'slack' && call.fault === 'hang')) fakes.slack.faults.hang('conversations.info', false);
        return waitingFor(calls).length === 0;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    const calls = vendorCalls(fakes, mark);
    const seen = calls.map((call) => `${call.vendor} ${call.route} ${call.status}${call.fault ? ` (${call.fault})` : ''}`);
    const counted = [...new Set(seen)].map((line) => `${line} x${seen.filter((other) => other === line).length}`);
    const ticketed = incidents.filter((incident) => effects.ticketsOf(incident).length > 0).length;
    throw new Error(
      `the outage window did not see every planned fault in ${timeoutMs / 1000} s: ${waitingFor(calls).join(', ')}\n` +
        `incidents with a Jira ticket so far: ${ticketed} of ${incidents.length}\ncalls so far:\n  ${counted.join('\n  ')}`,
      { cause: err },
    );
  }
}

/** Every fault back to normal. */
function healVendors(): void {
  fakes.heal();
  fakes.jira.searchLagMs = 0;
}

/** The Retry-After a planned 429 carried, in ms. */
function plannedRetryAfter(bursts: Bursts) {
  return (call: VendorCall): number | undefined => {
    const secondsAsked = bursts[call.vendor]?.[call.route];
    return secondsAsked === undefined ? undefined : secondsAsked * 1000;
  };
}

describe('scenario 2: vendor outage', () => {
  it(
    `completes all ${OUTAGE_INCIDENTS} incidents exactly once after 500s, 429 bursts, hangs and apply-then-500 from every vendor, honouring Retry-After`,
    async () => {
      const incidents = planIncidents('outage', OUTAGE_INCIDENTS, 7_200_000);
      const keys = incidents.map((incident) => incident.key);
      const mark = markRequests(fakes);
      const plan = breakVendors(incidents);
      const started = Date.now();

      let delivered = false;
      const sending = storm(incidents, OUTAGE_DELIVERIES, OUTAGE_IN_FLIGHT, seededRandom(SEED + 100)).finally(() => {
        delivered = true;
      });
      await untilEveryFaultFired(plan, mark, incidents, () => delivered);
      healVendors();
      const healedAt = Date.now();
      const answers = await sending;
      expect(unaccepted(answers)).toEqual([]);

      const rooms = await roomsComplete(incidents, 120_000 + 1_000 * OUTAGE_INCIDENTS);
      // Resolved as a caller would: a 503 (Temporal busy past the accept deadline) is sent again.
      const resolves = await Promise.all(
        keys.map((key) =>
          deliverWithRetries(h.baseUrl, {
            path: `/incidents/${key}/resolve`,
            body: JSON.stringify({ by: 'reliability@example.com', note: 'outage over' }),
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.apiToken}` },
          }),
        ),
      );
      expect(resolves.filter(({ final }) => final.status !== 200)).toEqual([]);
      const finals = await untilEach(
        keys,
        async (key) => {
          const handle = h.client.workflow.getHandle(workflowIdFor(key));
          const { status } = await handle.describe();
          return status.name === 'COMPLETED' ? { value: (await handle.result()) as IncidentState } : { missing: status.name };
        },
        60_000 + 1_000 * OUTAGE_INCIDENTS,
        'completed',
      );
      // The last incident to leave the shared page closes it, and the monitor's run ends.
      await h.client.workflow.getHandle(statusPageWorkflowId(SHARED_PAGE.outage)).result();
      const shared = effects.sharedStatusPages(SHARED_PAGE.outage);

      const calls = vendorCalls(fakes, mark);
      const faults = faultCounts(calls);
      const retryAfter = checkRetryAfter(calls, plannedRetryAfter(plan.bursts));
      const hangs = hangRetries(calls);
      const ownPages = incidents.filter((incident) => !sharesPage(incident));
      const counted = {
        runs: await runTally(incidents),
        ...closedOutTallies(effects, incidents, { ownPage: (incident) => !sharesPage(incident) }),
      };
      const latencies = incidents.map((incident) => completedAt(rooms.get(incident.key)!) - firstSent(answers, incident.key));
      const lastRoom = Math.max(...incidents.map((incident) => completedAt(rooms.get(incident.key)!)));
      const duplicates = duplicatesIn(counted) + Math.max(0, shared.length - 1);

      const scenario = `outage ${OUTAGE_INCIDENTS}x${OUTAGE_DELIVERIES}`;
      figure(scenario, 'incidents', `${incidents.length} (${byKind(incidents)})`);
      figure(scenario, 'deliveries', deliveriesFigure(answers, OUTAGE_IN_FLIGHT));
      figure(scenario, 'fault window', `${seconds(healedAt - started)} (until every planned fault fired), then healed`);
      for (const vendor of VENDORS) {
        figure(
          scenario,
          `faults injected: ${vendor}`,
          `${FAULT_KINDS.map((kind) => `${kind} x${faults[vendor][kind]}`).join(', ')} of ${calls.filter((call) => call.vendor === vendor).length} calls`,
        );
      }
      figure(
        scenario,
        'hung calls retried after the client timeout',
        hangs
          .map(
            (hang) =>
              `${hang.call.vendor} ${hang.call.route} ${hang.retriedAfterMs === undefined ? 'never' : seconds(hang.retriedAfterMs)}`,
          )
          .join(', '),
      );
      figure(scenario, 'runs', total(counted.runs));
      figure(scenario, 'tickets', total(counted.tickets));
      figure(scenario, 'channels', total(counted.channels));
      figure(scenario, 'posts', total(counted.posts));
      figure(scenario, 'status pages', `${total(counted.pages)} own + ${shared.length} shared`);
      figure(
        scenario,
        'duplicates',
        `${duplicates} (runs, tickets, channels, summaries, announcements, notes and INFO alerts, status pages, status messages, comments, postmortems, change events, PagerDuty resolves, VictorOps recoveries)`,
      );
      figure(
        scenario,
        'time to complete',
        `p50 ${seconds(percentile(latencies, 50))}, p99 ${seconds(percentile(latencies, 99))} (first delivery → complete war room); the last room ${seconds(lastRoom - healedAt)} after healing`,
      );
      figure(
        scenario,
        'Retry-After violations',
        `${retryAfter.violations.length} (${retryAfter.checked} rate-limited calls retried and checked, ${retryAfter.unplanned.length} unplanned 429s)`,
      );
      figure(scenario, 'wall time', seconds(Date.now() - started));

      // A fault recorded without what it acted on cannot be matched with its retry: the fake must record it.
      expect(unattributed(calls).map((call) => `${call.vendor} ${call.route} ${call.fault}`)).toEqual([]);
      expect(
        retryAfter.violations.map(
          (v) => `${v.call.vendor} ${v.call.route} ${v.call.target}: asked ${v.askedMs} ms, came after ${v.cameAfterMs} ms`,
        ),
      ).toEqual([]);
      expect(retryAfter.unplanned.map((call) => `${call.vendor} ${call.route} ${call.target}`)).toEqual([]);
      expect(retryAfter.checked).toBeGreaterThanOrEqual(
        Object.values(plan.bursts).reduce((sum, routes) => sum + plan.burstLength * Object.keys(routes).length, 0),
      );
      for (const vendor of VENDORS) {
        expect(
          hangs.some((hang) => hang.call.vendor === vendor && (hang.retriedAfterMs ?? 0) >= CLIENT_TIMEOUT_MS),
          `${vendor}: a hung call retried after the client timeout`,
        ).toBe(true);
      }
      expect(tallyProblems(Object.values(counted))).toEqual([]);
      expect(shared).toHaveLength(1);
      expect(shared[0]?.status).toBe('Closed');
      expect(
        ownPages.filter((incident) => effects.statusPagesOf(incident)[0]?.status !== 'Closed').map((incident) => incident.key),
      ).toEqual([]);
      expect(
        incidents.flatMap((incident) => {
          const missing = closeOutMissing(incident, finals.get(incident.key)!);
          return missing ? [`${incident.key}: ${missing}`] : [];
        }),
      ).toEqual([]);
      expect(incidents.filter((incident) => !effects.channelsOf(incident)[0]?.isArchived).map((incident) => incident.key)).toEqual([]);
      expect(
        incidents
          .filter((incident) => effects.ticketsOf(incident)[0]?.fields.status.statusCategory.key !== 'done')
          .map((incident) => incident.key),
      ).toEqual([]);
      expect([...fakes.pagerdutyEvents.alerts.keys()]).toEqual([]);
      expect(contractProblems(fakes)).toEqual([]);
    },
    300_000 + 3_000 * OUTAGE_INCIDENTS,
  );
});
