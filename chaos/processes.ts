/**
 * Process-level chaos (issue 5, scenarios 3–5): warroom's API and worker as separate processes
 * on a Temporal dev server with a SQLite file, the vendor fakes in this process.
 *
 *   worker-kill       kill -9 the worker while incidents are mid-activity; a new worker finishes them
 *   temporal-restart  stop Temporal with incidents open; the API answers 503, senders retry; restart
 *                     on the same file; nothing lost, everything resolvable
 *   api-restart       restart the API (SIGTERM, then SIGKILL) while webhooks stream in; every 2xx is
 *                     in a run, every other answer is a 5xx or a refused connection (or a reset, for
 *                     requests in flight when the process is killed); retried, all land once
 *
 *   npx tsx chaos/processes.ts [--scenario=worker-kill|temporal-restart|api-restart] [--incidents=N]
 *                              [--deliveries=N] [--latency=MS] [--outage=S] [--rate=PER_S] [--keep]
 *
 * CHAOS_WARROOM_ROOT=<dir> runs warroom's processes from another checkout (a patched copy).
 *
 * Prints one line per figure and exits 1 when an expectation fails (2 when the run itself broke).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { ticketLabel } from '../src/activities/jira.js';
import { channelName, SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import {
  countKinds,
  genericAction,
  genericTrigger,
  pagerDutyEvent,
  pagerDutyNote,
  pool,
  post,
  sendWithRetries,
  type Attempt,
  type Delivery,
  type Sent,
} from './deliveries.js';
import { eventually } from '../test/eventually.js';
import { API_TOKEN, keepScratchDirs, startProcessStack, stopAllStacks, tail, type ProcessStack as Stack } from './stack.js';

// ---------------------------------------------------------------------------------------------
// Arguments and reporting.

const SCENARIOS = ['worker-kill', 'temporal-restart', 'api-restart'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

function argument(name: string): string | undefined {
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function positive(name: string, fallback: number): number {
  const raw = argument(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** One scenario's figures and failed expectations. */
class Report {
  readonly failures: string[] = [];
  constructor(readonly scenario: ScenarioName) {}

  figure(name: string, value: string | number): void {
    console.log(`${this.scenario.padEnd(17)} ${name.padEnd(38)} ${value}`);
  }

  expect(ok: boolean, failure: string): void {
    if (!ok) this.failures.push(failure);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Incidents and what "complete" means.

interface PlannedIncident {
  key: string;
  source: 'pagerduty' | 'api';
  externalId: string;
  trigger: Delivery;
}

/** `count` incidents, three PagerDuty to two generic (or all PagerDuty); the PagerDuty fake knows each PagerDuty one. */
function planIncidents(stack: Stack, count: number, tag: string, mix: 'mixed' | 'pagerduty' = 'mixed'): PlannedIncident[] {
  const run = Date.now().toString(36).toUpperCase();
  return Array.from({ length: count }, (_, index) => {
    const title = `chaos ${tag} #${index}: checkout-api 5xx above 5%`;
    if (mix === 'pagerduty' || index % 5 < 3) {
      const incident = stack.fakes.pagerduty.addIncident({ id: `Q${tag.toUpperCase()}${run}${index}`.replace(/[^A-Z0-9]/g, ''), title });
      return {
        key: incidentKey('pagerduty', incident.id),
        source: 'pagerduty',
        externalId: incident.id,
        trigger: pagerDutyEvent('trigger', incident.id, title),
      };
    }
    const id = `chaos-${tag}-${run.toLowerCase()}-${index}`;
    return { key: incidentKey('api', id), source: 'api', externalId: id, trigger: genericTrigger(id, title) };
  });
}

/** As test/warroom.test.ts's warRoomReady: ticket, channel, topic, pinned summary and timeline post (generic incidents have no timeline to post to). */
function warRoomComplete(incident: PlannedIncident, state: IncidentState): boolean {
  const done = (['jiraTicket', 'slackChannel', 'slackPin', 'slackTopic'] as const).every((step) => state.steps[step]?.status === 'done');
  const post = state.steps.timelinePost?.status;
  return done && (incident.source === 'pagerduty' ? post === 'done' : post === 'skipped');
}

/** Waits until every incident's war room is complete; answers when each was first seen complete (those complete within `timeoutMs`). */
async function waitComplete(stack: Stack, incidents: readonly PlannedIncident[], timeoutMs: number): Promise<Map<string, number>> {
  const completedAt = new Map<string, number>();
  await eventually(
    `${incidents.length} war rooms complete`,
    async () => {
      const open = incidents.filter((incident) => !completedAt.has(incident.key));
      await pool(open, 8, async (incident) => {
        try {
          if (warRoomComplete(incident, await stack.state(incident.key))) completedAt.set(incident.key, Date.now());
        } catch {
          // not started yet, or Temporal or the worker busy: asked again next round
        }
      });
      return completedAt.size === incidents.length;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(() => undefined); // the caller reports the ones missing
  return completedAt;
}

/** What the fakes hold per incident: anything above one is a duplicate. */
interface Duplicates {
  tickets: number;
  channels: number;
  notes: number;
  summaries: number;
  announcements: number;
  /** PagerDuty change events sent more than once for one incident and action (at-least-once by design). */
  repeatedChangeEvents: number;
  /** Incidents with at least one ticket / channel / note (notes: PagerDuty incidents), so zero duplicates means something. */
  found: { tickets: number; channels: number; notes: number; pagerDuty: number };
  detail: string[];
}

function countDuplicates(stack: Stack, incidents: readonly PlannedIncident[]): Duplicates {
  const { jira, slack, pagerduty, pagerdutyEvents } = stack.fakes;
  const result: Duplicates = {
    tickets: 0,
    channels: 0,
    notes: 0,
    summaries: 0,
    announcements: 0,
    repeatedChangeEvents: 0,
    found: { tickets: 0, channels: 0, notes: 0, pagerDuty: 0 },
    detail: [],
  };
  const announceChannel = slack.channelByName('incidents');
  const announcements = announceChannel
    ? slack.messages(announceChannel.id).filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.announcement)
    : [];
  const changeCounts = new Map<string, number>();
  for (const event of pagerdutyEvents.changeEvents) {
    const custom = (event.payload as { custom_details?: Record<string, string> }).custom_details ?? {};
    const id = `${custom.incident_key} ${custom.action}`;
    changeCounts.set(id, (changeCounts.get(id) ?? 0) + 1);
  }
  for (const incident of incidents) {
    const extra = (what: 'tickets' | 'channels' | 'notes' | 'summaries' | 'announcements', count: number) => {
      if (count > 0 && (what === 'tickets' || what === 'channels' || what === 'notes')) result.found[what] += 1;
      if (count > 1) {
        result[what] += count - 1;
        result.detail.push(`${incident.key}: ${count} ${what}`);
      }
    };
    extra('tickets', jira.issuesWithLabel(ticketLabel(incident.key)).length);
    const names = new Set(Array.from({ length: 20 }, (_, index) => channelName(undefined, incident.externalId, index + 1)));
    const channels = slack.state.channels.filter((channel) => names.has(channel.name));
    extra('channels', channels.length);
    for (const channel of channels) {
      extra('summaries', slack.messages(channel.id).filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary).length);
    }
    extra('announcements', announcements.filter((message) => JSON.stringify(message.metadata).includes(`"${incident.key}"`)).length);
    if (incident.source === 'pagerduty') {
      result.found.pagerDuty += 1;
      const marker = `warroom ref: incident-${incident.key}`;
      extra('notes', pagerduty.state.incidents.get(incident.externalId)?.notes.filter((note) => note.content.includes(marker)).length ?? 0);
    }
  }
  for (const count of changeCounts.values()) result.repeatedChangeEvents += Math.max(0, count - 1);
  return result;
}

function reportDuplicates(report: Report, duplicates: Duplicates, incidents: number): void {
  const { found } = duplicates;
  report.figure(
    'found (tickets/channels/notes)',
    `${found.tickets}/${incidents}, ${found.channels}/${incidents}, ${found.notes}/${found.pagerDuty}`,
  );
  report.expect(
    found.tickets === incidents && found.channels === incidents && found.notes === found.pagerDuty,
    'a ticket, channel or note is missing at the fakes',
  );
  report.figure('duplicates (tickets/channels/notes)', `${duplicates.tickets}/${duplicates.channels}/${duplicates.notes}`);
  report.figure('duplicates (summaries/announcements)', `${duplicates.summaries}/${duplicates.announcements}`);
  report.figure('change events sent twice', duplicates.repeatedChangeEvents);
  report.expect(
    duplicates.tickets + duplicates.channels + duplicates.notes + duplicates.summaries + duplicates.announcements === 0,
    `duplicates: ${duplicates.detail.slice(0, 5).join('; ')}`,
  );
}

function allAccepted(report: Report, sent: readonly Sent[], what: string): void {
  const refused = sent.filter((one) => one.final.kind !== '2xx');
  report.expect(
    refused.length === 0,
    `${refused.length} ${what} never got a 2xx (first: ${refused[0]?.delivery.key} ${refused[0]?.final.kind} ${refused[0]?.final.status ?? ''} ${refused[0]?.final.detail ?? ''})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: the worker is killed mid-activity.

const { EventType } = proto.temporal.api.enums.v1;

/** How the runs got over the kill, from their histories: workflow tasks that timed out, activity attempts that did. */
async function recoveryInHistories(stack: Stack, incidents: readonly PlannedIncident[]) {
  let workflowTaskTimeouts = 0;
  let retried = 0;
  let afterTimeout = 0;
  const byType = new Map<string, number>();
  await pool(incidents, 8, async (incident) => {
    const history = await stack.client.workflow.getHandle(workflowIdFor(incident.key)).fetchHistory();
    const typeOf = new Map<string, string>();
    for (const event of history.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) workflowTaskTimeouts += 1;
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        typeOf.set(String(event.eventId), event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
      }
      const started = event.activityTaskStartedEventAttributes;
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && started && (started.attempt ?? 1) > 1) {
        retried += 1;
        if (started.lastFailure?.timeoutFailureInfo) afterTimeout += 1;
        const type = typeOf.get(String(started.scheduledEventId)) ?? '?';
        byType.set(type, (byType.get(type) ?? 0) + 1);
      }
    }
  });
  const types = [...byType.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  return { workflowTaskTimeouts, retried, afterTimeout, types };
}

/** Creates that reach the fakes: Jira issues, Slack channels, PagerDuty notes. */
function createCalls(stack: Stack) {
  const { jira, slack, pagerduty } = stack.fakes;
  const tickets = jira.requests.filter((request) => request.operation === 'createIssue');
  const channels = slack.requests.filter((request) => request.method === 'conversations.create');
  const notes = pagerduty.requests.filter((request) => request.method === 'POST' && /\/notes$/.test(request.path));
  const inFlight = [...tickets, ...channels, ...notes].filter((request) => request.status === 0).length;
  const unanswered = [...jira.requests, ...slack.requests, ...pagerduty.requests].filter((request) => request.status === 0).length;
  return { tickets: tickets.length, channels: channels.length, notes: notes.length, inFlight, unanswered };
}

async function workerKill(count: number, latencyMs: number): Promise<Report> {
  const report = new Report('worker-kill');
  const stack = await startProcessStack({ name: 'worker-kill', latencyMs });
  try {
    const incidents = planIncidents(stack, count, 'wk');
    const pagerDutyCount = incidents.filter((incident) => incident.source === 'pagerduty').length;
    report.figure('incidents (pagerduty + generic)', `${count} (${pagerDutyCount} + ${count - pagerDutyCount})`);
    report.figure('fake latency per vendor call', `${latencyMs} ms`);
    const sending = pool(incidents, 20, (incident) => sendWithRetries(stack.apiUrl, incident.trigger, { deadlineMs: 120_000 }));

    // Mid-flight: a quarter or more of the tickets asked for but not all, and creates unanswered
    // at the fakes (three or more preferred; past 60% of the tickets, one will do).
    const atKill = await eventually(
      'incidents mid-flight',
      async () => {
        const calls = createCalls(stack);
        const wanted = calls.tickets < count * 0.6 ? 3 : 1;
        return calls.tickets >= Math.ceil(count * 0.25) && calls.tickets < count && calls.inFlight >= wanted && calls;
      },
      { timeoutMs: 120_000, intervalMs: 5 },
    );
    const victim = stack.worker;
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    report.figure('kills (kill -9 of the worker)', `1 (pid ${victim.pid})`);
    report.figure(
      'creates received at the kill',
      `tickets ${atKill.tickets}/${count}, channels ${atKill.channels}/${count}, notes ${atKill.notes}/${pagerDutyCount}`,
    );
    report.figure('calls unanswered at the kill', `${atKill.inFlight} creates, ${atKill.unanswered} calls in all`);

    stack.worker = stack.startWorker();
    await stack.worker.ready;
    report.figure('new worker running after', seconds(Date.now() - killedAt));

    const sent = await sending;
    const attempts = sent.flatMap((one) => one.attempts);
    const kinds = countKinds(attempts);
    report.figure('webhooks 2xx / 503 / refused', `${kinds['2xx']} / ${kinds['5xx']} / ${kinds.refused}`);
    report.figure('sender retries', attempts.length - sent.length);
    allAccepted(report, sent, 'incidents');

    const completedAt = await waitComplete(stack, incidents, 240_000);
    const last = Math.max(killedAt, ...completedAt.values());
    report.figure('completed', `${completedAt.size}/${count}`);
    report.figure('time to recover (kill → last done)', seconds(last - killedAt));
    report.expect(
      completedAt.size === count,
      `${count - completedAt.size} incidents never completed: ${incidents
        .filter((i) => !completedAt.has(i.key))
        .slice(0, 5)
        .map((i) => i.key)
        .join(', ')}`,
    );
    report.expect(atKill.inFlight > 0, 'no create was in flight at the kill');

    const recovery = await recoveryInHistories(stack, incidents);
    report.figure('workflow tasks timed out', recovery.workflowTaskTimeouts);
    report.figure(
      'activities retried (after a timeout)',
      `${recovery.retried} (${recovery.afterTimeout})${recovery.types ? `: ${recovery.types}` : ''}`,
    );

    // Every call at the fakes answered (the dead worker's included) before counting.
    await eventually('the fakes to answer every call', async () => createCalls(stack).unanswered === 0, { timeoutMs: 30_000 });
    reportDuplicates(report, countDuplicates(stack, incidents), incidents.length);
    report.expect(stack.worker.alive(), 'the new worker died');
  } catch (err) {
    report.failures.push((err as Error).message);
    process.stderr.write(`worker log:\n${tail(stack.worker.logFile)}\n`);
  } finally {
    await stack.stop();
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: Temporal restarted with incidents open.

/** Once Temporal is back, the API must take webhooks again within this long. */
const RECOVERY_LIMIT_MS = 10_000;

async function temporalRestart(count: number, latencyMs: number, outageMs: number): Promise<Report> {
  const report = new Report('temporal-restart');
  const stack = await startProcessStack({ name: 'temporal-restart', latencyMs });
  try {
    const incidents = planIncidents(stack, count, 'tr');
    report.figure('open incidents', count);
    allAccepted(
      report,
      await pool(incidents, 20, (incident) => sendWithRetries(stack.apiUrl, incident.trigger, { deadlineMs: 60_000 })),
      'triggers',
    );
    const ready = await waitComplete(stack, incidents, 180_000);
    report.expect(ready.size === count, `${count - ready.size} war rooms not complete before the restart`);

    // While Temporal is down: every open incident is acknowledged and new ones fire; all retry.
    const fresh = planIncidents(stack, Math.max(5, Math.round(count / 10)), 'trnew');
    const duringOutage: Delivery[] = [
      ...incidents.map((incident) =>
        incident.source === 'pagerduty'
          ? pagerDutyEvent('acknowledge', incident.externalId)
          : genericAction(incident.key, 'acknowledge', 'sam.sre@example.com'),
      ),
      ...fresh.map((incident) => incident.trigger),
    ];
    const stoppedAt = Date.now();
    await stack.stopTemporal();
    report.figure('temporal restarts', 1);
    const readyz = await fetch(`${stack.apiUrl}/readyz`);
    report.figure('readyz while down', readyz.status);
    report.expect(readyz.status === 503, `/readyz answered ${readyz.status} while Temporal was down`);

    // Stay down for the outage, and until every sender has been answered 503 at least once.
    const refusedOnce = new Set<Delivery>();
    const sending = pool(duringOutage, duringOutage.length, (delivery) =>
      sendWithRetries(stack.apiUrl, delivery, {
        deadlineMs: outageMs + 180_000,
        maxBackoffMs: 2000,
        onAttempt: (attempt) => void (attempt.kind !== '2xx' && refusedOnce.add(delivery)),
      }),
    );
    await sleep(outageMs);
    await eventually('every sender refused once', async () => refusedOnce.size === duringOutage.length, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const get = await fetch(`${stack.apiUrl}/incidents/${incidents[0]?.key}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    report.figure('GET /incidents/:key while down', get.status);
    report.expect(get.status === 503, `GET /incidents/:key answered ${get.status} while Temporal was down`);
    const restartAt = Date.now();
    await stack.restartTemporal();
    const upAt = Date.now();
    report.figure('temporal down for', seconds(upAt - stoppedAt));

    const sent = await sending;
    const attempts = sent.flatMap((one) => one.attempts);
    const kinds = countKinds(attempts);
    const successes = attempts.filter((attempt) => attempt.kind === '2xx').map((attempt) => attempt.answeredAt);
    const lastSuccess = successes.length > 0 ? Math.max(...successes) : Number.NaN;
    const firstSuccess = successes.length > 0 ? Math.min(...successes) : Number.NaN;
    report.figure('deliveries during the outage', sent.length);
    report.figure(
      '503 answers',
      `${kinds['5xx']} (${attempts.filter((attempt) => attempt.kind === '5xx' && attempt.sentAt >= upAt).length} to deliveries sent after Temporal was back)`,
    );
    report.figure('refused connections', kinds.refused);
    report.figure('sender retries', attempts.length - sent.length);
    // "Up" is when this process saw the server answer; a sender may get through a moment before.
    report.figure('time to recover (up → first 2xx)', seconds(Math.max(0, firstSuccess - upAt)));
    report.figure('time to recover (up → last 2xx)', seconds(Math.max(0, lastSuccess - upAt)));
    report.figure('restart took', seconds(upAt - restartAt));
    allAccepted(report, sent, 'outage deliveries');
    report.expect(kinds['5xx'] > 0, 'no 503 while Temporal was down');
    report.expect(
      firstSuccess - upAt <= RECOVERY_LIMIT_MS,
      `the API still answered 503 ${seconds(firstSuccess - upAt)} after Temporal was back (limit ${seconds(RECOVERY_LIMIT_MS)})`,
    );
    report.expect(stack.worker.alive(), `the worker died while Temporal was down: ${tail(stack.worker.logFile, 3)}`);
    report.expect(stack.api.alive(), 'the API died while Temporal was down');

    // The worker is back too: every acknowledge sent during the outage is applied.
    const acknowledged = new Set<string>();
    await eventually(
      'acknowledges applied',
      async () => {
        await pool(
          incidents.filter((incident) => !acknowledged.has(incident.key)),
          8,
          async (incident) => {
            if ((await stack.state(incident.key).catch(() => undefined))?.status === 'acknowledged') acknowledged.add(incident.key);
          },
        );
        return acknowledged.size === incidents.length;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    ).catch(() => undefined);
    report.figure(
      'acknowledged (sent while down)',
      `${acknowledged.size}/${incidents.length}, all applied ${seconds(Date.now() - upAt)} after up`,
    );
    report.expect(acknowledged.size === incidents.length, 'an acknowledge sent while Temporal was down did not land');

    // Nothing lost: every incident (old and new) queryable through the API and open.
    const everyone = [...incidents, ...fresh];
    // A busy worker may answer a query late (503); a reader asks again, as here, for up to a minute.
    const lost: string[] = [];
    let busy = 0;
    await pool(everyone, 8, async (incident) => {
      let last = '';
      const answered = await eventually(
        `GET ${incident.key}`,
        async () => {
          const answer = await fetch(`${stack.apiUrl}/incidents/${incident.key}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
          const body = (await answer.json()) as Partial<IncidentState>;
          last = `${answer.status} ${body.status ?? ''}`;
          if (answer.status === 503) busy += 1;
          return answer.status === 503 ? undefined : { status: answer.status, body };
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      ).catch(() => undefined);
      if (!answered || answered.status !== 200 || answered.body.status === 'resolved') lost.push(`${incident.key}: ${last}`);
    });
    report.figure('open incidents queryable after', `${everyone.length - lost.length}/${everyone.length} (${busy} answers 503 on the way)`);
    report.expect(lost.length === 0, `incidents lost or closed: ${lost.slice(0, 5).join('; ')}`);
    const freshReady = await waitComplete(stack, fresh, 120_000);
    report.figure('incidents fired while down, complete', `${freshReady.size}/${fresh.length}`);
    report.expect(freshReady.size === fresh.length, 'an incident fired while Temporal was down never got its war room');

    // All resolvable: each resolves and its run closes out and completes.
    const resolveSent = await pool(everyone, 20, (incident) =>
      sendWithRetries(
        stack.apiUrl,
        incident.source === 'pagerduty'
          ? pagerDutyEvent('resolve', incident.externalId)
          : genericAction(incident.key, 'resolve', 'sam.sre@example.com'),
        { deadlineMs: 60_000 },
      ),
    );
    allAccepted(report, resolveSent, 'resolves');
    const closed: string[] = [];
    const notClosed: string[] = [];
    await pool(everyone, 8, async (incident) => {
      try {
        const result = await eventually(
          `${incident.key} completes`,
          async () => {
            return (await stack.status(incident.key)) === 'COMPLETED' ? stack.state(incident.key) : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        const ok =
          result.status === 'resolved' && result.steps.jiraTransition?.status === 'done' && result.steps.slackArchive?.status === 'done';
        (ok ? closed : notClosed).push(incident.key);
      } catch (err) {
        notClosed.push(`${incident.key}: ${(err as Error).message}`);
      }
    });
    report.figure('resolved and closed out', `${closed.length}/${everyone.length}`);
    report.expect(notClosed.length === 0, `not closed out: ${notClosed.slice(0, 5).join('; ')}`);
    reportDuplicates(report, countDuplicates(stack, everyone), everyone.length);
  } catch (err) {
    report.failures.push((err as Error).message);
  } finally {
    await stack.stop();
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: the API restarted while webhooks stream in.

async function apiRestart(deliveries: number, ratePerSecond: number): Promise<Report> {
  const report = new Report('api-restart');
  const stack = await startProcessStack({ name: 'api-restart', latencyMs: 0 });
  try {
    // A third are new incidents (signal-with-start), two thirds notes on open PagerDuty incidents (signal).
    const hosts = planIncidents(stack, 20, 'ar', 'pagerduty');
    allAccepted(
      report,
      await pool(hosts, 10, (incident) => sendWithRetries(stack.apiUrl, incident.trigger, { deadlineMs: 60_000 })),
      'host incidents',
    );
    const fresh = planIncidents(stack, Math.ceil(deliveries / 3), 'arnew');
    const stream: Delivery[] = [];
    let notes = 0;
    for (let index = 0; stream.length < deliveries; index++) {
      const incident = fresh[Math.floor(index / 3)];
      if (index % 3 === 0 && incident) stream.push(incident.trigger);
      else {
        const host = hosts[notes % hosts.length] as PlannedIncident;
        stream.push(pagerDutyNote(host.externalId, `chaos api-restart delivery ${index} (${Date.now().toString(36)})`));
        notes += 1;
      }
    }
    report.figure('deliveries', `${stream.length} at ${ratePerSecond}/s (${stream.length - notes} new incidents, ${notes} notes)`);

    // Steady rate: one delivery every interval, whatever the answers. Meanwhile the API is
    // restarted twice: gracefully (SIGTERM) a quarter of the way in, then crashed (SIGKILL) two
    // thirds in, or a second after the first restart is done if that is later.
    const interval = 1000 / ratePerSecond;
    const started = performance.now();
    const results: Promise<Attempt>[] = [];
    const restarts: { signal: NodeJS.Signals; at: number; goneAt?: number; downMs?: number }[] = [];
    let sentSoFar = 0;
    const restart = async (signal: NodeJS.Signals, afterDeliveries: number) => {
      await eventually('the stream to reach the restart', async () => sentSoFar >= afterDeliveries, { timeoutMs: 600_000, intervalMs: 5 });
      const entry: (typeof restarts)[number] = { signal, at: Date.now() };
      restarts.push(entry);
      await stack.api.stop(signal);
      entry.goneAt = Date.now();
      stack.api = stack.startApi();
      await stack.api.ready;
      entry.downMs = Date.now() - entry.at;
    };
    const restarting = (async () => {
      await restart('SIGTERM', Math.floor(stream.length / 4));
      await sleep(1000);
      await restart('SIGKILL', Math.floor((2 * stream.length) / 3));
    })();
    restarting.catch(() => undefined);
    for (const [index, delivery] of stream.entries()) {
      const wait = started + index * interval - performance.now();
      if (wait > 0) await sleep(wait);
      results.push(post(stack.apiUrl, delivery));
      sentSoFar = index + 1;
    }
    const streamed = performance.now() - started;
    const attempts = await Promise.all(results);
    await restarting;
    const kinds = countKinds(attempts);
    report.figure(
      'restarts (SIGTERM, then SIGKILL)',
      restarts
        .map((one) => `${one.signal}: gone after ${seconds((one.goneAt ?? one.at) - one.at)}, back after ${seconds(one.downMs ?? 0)}`)
        .join('; '),
    );
    report.figure('stream lasted', seconds(streamed));
    report.figure('2xx', kinds['2xx']);
    report.figure('5xx', kinds['5xx']);
    report.figure('refused connections', kinds.refused);
    report.figure('reset connections', kinds.reset);
    report.figure('other (4xx, timeout, error)', kinds['4xx'] + kinds.timeout + kinds.error);
    const brief = (counts: ReturnType<typeof countKinds>) =>
      (['2xx', '5xx', 'refused', 'reset'] as const).map((kind) => `${kind} ${counts[kind]}`).join(', ');
    for (const one of restarts) {
      const window = attempts.filter((attempt) => attempt.answeredAt >= one.at && attempt.sentAt <= one.at + (one.downMs ?? 0));
      report.figure(`answers around the ${one.signal}`, brief(countKinds(window)));
    }
    report.expect(
      kinds['4xx'] + kinds.timeout + kinds.error === 0,
      `answers neither 2xx, 5xx nor refused: ${attempts
        .filter((a) => ['4xx', 'timeout', 'error'].includes(a.kind))
        .slice(0, 3)
        .map((a) => `${a.kind} ${a.status ?? ''} ${a.detail ?? ''}`)
        .join('; ')}`,
    );
    // A reset is what a crash does to a request in flight (or still queued while the process
    // dies); only the SIGKILL may cause one.
    const kill = restarts.find((one) => one.signal === 'SIGKILL');
    const strayResets = attempts.filter(
      (attempt) => attempt.kind === 'reset' && !(kill && attempt.sentAt <= (kill.goneAt ?? kill.at) && attempt.answeredAt >= kill.at),
    );
    const term = restarts.find((one) => one.signal === 'SIGTERM');
    const relative = (attempt: Attempt) =>
      `sent ${((attempt.sentAt - (term?.at ?? 0)) / 1000).toFixed(2)} s, reset ${((attempt.answeredAt - (term?.at ?? 0)) / 1000).toFixed(2)} s after the SIGTERM`;
    report.expect(
      strayResets.length === 0,
      `${strayResets.length} connections reset outside the crash (${strayResets.slice(0, 4).map(relative).join('; ')})`,
    );
    report.expect(kinds.refused + kinds['5xx'] + kinds.reset > 0, 'the restarts refused nothing: the stream did not overlap them');

    // Every 2xx is in a run: the workflow exists and its timeline shows that delivery.
    const missing = await missingFromRuns(
      stack,
      stream.filter((_, index) => attempts[index]?.kind === '2xx'),
    );
    report.figure('2xx deliveries in a run', `${kinds['2xx'] - missing.length}/${kinds['2xx']}`);
    report.expect(missing.length === 0, `accepted but not in a run: ${missing.slice(0, 5).join('; ')}`);

    // The others are retried, as PagerDuty does; then every delivery is in a run, once.
    const retried = await pool(
      stream.filter((_, index) => attempts[index]?.kind !== '2xx'),
      20,
      (delivery) => sendWithRetries(stack.apiUrl, delivery, { deadlineMs: 60_000 }),
    );
    allAccepted(report, retried, 'retried deliveries');
    report.figure(
      'sender retries',
      retried.reduce((sum, one) => sum + one.attempts.length, 0),
    );
    const stillMissing = await missingFromRuns(stack, stream);
    report.figure('deliveries in a run after retries', `${stream.length - stillMissing.length}/${stream.length}`);
    report.expect(stillMissing.length === 0, `lost after retries: ${stillMissing.slice(0, 5).join('; ')}`);
    const twice = await notesTwice(
      stack,
      hosts.map((host) => host.key),
    );
    report.figure('notes on a timeline twice', twice);
    report.expect(twice === 0, `${twice} notes recorded twice`);
  } catch (err) {
    report.failures.push((err as Error).message);
    process.stderr.write(`api log:\n${tail(stack.api.logFile)}\n`);
  } finally {
    await stack.stop();
  }
  return report;
}

/** Deliveries whose run does not exist or whose timeline lacks them (a timeline shows each trigger once, then counts repeats). */
async function missingFromRuns(stack: Stack, deliveries: readonly Delivery[]): Promise<string[]> {
  const byKey = new Map<string, Delivery[]>();
  for (const delivery of deliveries) byKey.set(delivery.key, [...(byKey.get(delivery.key) ?? []), delivery]);
  const missing: string[] = [];
  await pool([...byKey.entries()], 8, async ([key, expected]) => {
    const shows = (state: IncidentState | undefined) => state !== undefined && expected.every((delivery) => onTimeline(state, delivery));
    const settled = await eventually(`${key} shows its deliveries`, async () => shows(await stack.state(key).catch(() => undefined)), {
      timeoutMs: 30_000,
      intervalMs: 500,
    }).catch(() => false);
    if (settled) return;
    const state = await stack.state(key).catch(() => undefined);
    if (!state) return void missing.push(`${key}: no run`);
    for (const delivery of expected)
      if (!onTimeline(state, delivery)) missing.push(`${key}: ${delivery.expect.what} ${delivery.expect.detail ?? ''}`.trim());
  });
  return missing;
}

function onTimeline(state: IncidentState, delivery: Delivery): boolean {
  return state.timeline.some(
    (entry) => entry.what === delivery.expect.what && (delivery.expect.detail === undefined || entry.detail === delivery.expect.detail),
  );
}

async function notesTwice(stack: Stack, keys: readonly string[]): Promise<number> {
  let twice = 0;
  for (const key of keys) {
    const state = await stack.state(key);
    const notes = state.timeline.filter((entry) => entry.what === 'annotate from pagerduty').map((entry) => entry.detail);
    twice += notes.length - new Set(notes).size;
  }
  return twice;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const chosen = argument('scenario');
  if (chosen !== undefined && !SCENARIOS.includes(chosen as ScenarioName))
    throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const incidents = positive('incidents', 100);
  const deliveries = positive('deliveries', 300);
  const latencyMs = positive('latency', 200);
  const outageMs = positive('outage', 15) * 1000;
  const rate = positive('rate', 10);
  keepScratchDirs(process.argv.includes('--keep'));
  // This process's own Temporal client must not chatter; warroom's processes log to their files.
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const run: Record<ScenarioName, () => Promise<Report>> = {
    'worker-kill': () => workerKill(incidents, latencyMs),
    'temporal-restart': () => temporalRestart(incidents, 20, outageMs),
    'api-restart': () => apiRestart(deliveries, rate),
  };
  const started = Date.now();
  const reports: Report[] = [];
  for (const name of chosen ? [chosen as ScenarioName] : SCENARIOS) {
    const scenarioStarted = Date.now();
    const report = await run[name]();
    report.figure('runtime', seconds(Date.now() - scenarioStarted));
    report.figure('result', report.failures.length === 0 ? 'PASS' : `FAIL (${report.failures.length})`);
    for (const failure of report.failures) console.log(`${name.padEnd(17)}   ✗ ${failure}`);
    reports.push(report);
  }
  console.log(`total runtime ${seconds(Date.now() - started)}`);
  return reports.every((report) => report.failures.length === 0) ? 0 : 1;
}

let leaving = false;

/** Any way out stops every child first and waits for it, so nothing is left behind. */
async function leave(code: number): Promise<never> {
  if (!leaving) {
    leaving = true;
    await stopAllStacks();
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping every child`);
    void leave(130);
  });
}
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (err: unknown) => {
    // Checks still polling when Ctrl-C closes their connection fail; that is expected then.
    if (leaving) return;
    console.error(`chaos: ${event}: ${(err as Error)?.stack ?? String(err)}`);
    void leave(2);
  });
}

main().then(
  (code) => leave(code),
  (err: Error) => {
    console.error(`chaos: ${err.stack ?? err.message}`);
    return leave(2);
  },
);
