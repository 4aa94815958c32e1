// Escalation and reminders: durable timers on the suite's real Temporal server, with short settings.
// An unacknowledged incident escalates once (the room told, one PagerDuty page); an acknowledgement
// from any way in cancels the wait; a worker restart loses nothing; reminders stop on resolve.
import type { WorkflowBundleOption } from '@temporalio/worker';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalationDedupKey } from '../src/activities/pagerduty.js';
import { SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { acknowledgeSignal } from '../src/shared/messages.js';
import { connectWorker } from '../src/temporal/connection.js';
import { bundleWorkflows, createWorker, type IncidentWorker } from '../src/worker.js';
import { deliver, genericIncident } from './deliveries.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';

const API_TOKEN = 'watches-test-api-token';
const ESCALATE_AFTER_MS = 3000;
const RESPONDER = { email: 'sam.sre@example.com', slackId: 'U0SAMSRE01' };

let h: Harness;
let bundle: WorkflowBundleOption;
let worker: { worker: IncidentWorker; running: Promise<void> } | undefined;

async function startWorker(): Promise<void> {
  const connection = await connectWorker({ ...h.config.temporal, address: inject('temporalAddress') });
  const started = await createWorker({ connection, config: h.config, workflowBundle: bundle });
  worker = { worker: started, running: started.run().finally(() => connection.close()) };
}

async function stopWorker(): Promise<void> {
  worker?.worker.shutdown();
  await worker?.running.catch(() => undefined);
  worker = undefined;
}

beforeAll(async () => {
  bundle = await bundleWorkflows();
  h = await startHarness({
    workflowBundle: bundle,
    worker: false,
    fakes: { configure: ['slack', 'pagerdutyEvents'] },
    env: {
      WARROOM_API_TOKEN: API_TOKEN,
      ESCALATE_AFTER_CRITICAL: `${ESCALATE_AFTER_MS}ms`,
      ESCALATE_AFTER_ERROR: 'off',
      REMIND_EVERY_CRITICAL: 'off',
      REMIND_EVERY_ERROR: '2s',
      SLACK_ARCHIVE_DELAY: '0',
    },
  });
  await startWorker();
}, 120_000);

afterAll(async () => {
  await stopWorker();
  await h?.stop();
});

async function declare(severity: 'critical' | 'error'): Promise<string> {
  const id = uniqueId('WATCH');
  const delivery = genericIncident(
    { id, title: 'checkout-api: 5xx rate above 5%', service: 'checkout-api', severity, responders: [RESPONDER.email] },
    { apiToken: API_TOKEN },
  );
  expect((await deliver(h.baseUrl, delivery)).status).toBe(202);
  return incidentKey('api', id);
}

async function act(key: string, action: 'acknowledge' | 'resolve'): Promise<void> {
  const answer = await h.post(`/incidents/${key}/${action}`, JSON.stringify({ by: 'Dana' }), {
    'content-type': 'application/json',
    authorization: `Bearer ${API_TOKEN}`,
  });
  expect(answer.status).toBe(200);
}

/** The incident room's messages of one of warroom's kinds (metadata event type). */
async function roomMessages(key: string, eventType: string) {
  const channel = await eventually(`${key}'s room`, async () => {
    const step = (await h.state(key)).steps.slackChannel;
    return step?.status === 'done' && step.ref;
  });
  return (h.fakes.slack.state.messages.get(channel) ?? []).filter((message) => message.metadata?.event_type === eventType);
}

/** Timers of the incident's run, as its history records them. */
async function timers(key: string) {
  const history = await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
  const events = history.events ?? [];
  return {
    started: events.filter((event) => event.timerStartedEventAttributes).length,
    fired: events.filter((event) => event.timerFiredEventAttributes).length,
    canceled: events.filter((event) => event.timerCanceledEventAttributes).length,
  };
}

const escalationPage = (key: string, number = 1) => h.fakes.pagerdutyEvents.alerts.get(escalationDedupKey(key, number));

describe('escalation when nobody acknowledges', () => {
  it('escalates an unacknowledged incident once: the room is told with the responders mentioned, and one page is raised', async () => {
    const key = await declare('critical');
    const notices = await eventually('the escalation notice', async () => {
      const found = await roomMessages(key, SLACK_EVENT_TYPES.escalation);
      return found.length > 0 && found;
    });
    expect(notices[0]!.text).toContain(`<@${RESPONDER.slackId}>`);
    expect(notices[0]!.text).toContain('Escalated through PagerDuty');
    const page = escalationPage(key);
    expect(page).toMatchObject({ keyName: 'escalationRoutingKey', status: 'triggered', triggers: 1 });

    // Once: the run waits for nothing more (no timer left running but the reminders, which are off here).
    const state = await h.state(key);
    expect(state.timeline.filter((entry) => entry.what === 'escalate')).toHaveLength(1);
    expect(state.escalation).toMatchObject({ count: 1, escalated: true });
    expect((await timers(key)).fired).toBe(1);

    // Someone acknowledges: the page is resolved, once.
    await act(key, 'acknowledge');
    await eventually('the page resolved', async () => escalationPage(key)?.status === 'resolved');
    await act(key, 'resolve');
    await eventually('the run closed', async () => (await h.state(key)).steps.slackArchive?.status === 'done');
    expect(escalationPage(key)).toMatchObject({ triggers: 1, resolves: 1 });
    expect(await roomMessages(key, SLACK_EVENT_TYPES.escalation)).toHaveLength(1);
  }, 60_000);

  it.each([
    ['an API acknowledge', (key: string) => act(key, 'acknowledge')],
    [
      'a Temporal signal from another service',
      (key: string) => h.client.workflow.getHandle(workflowIdFor(key)).signal(acknowledgeSignal, { by: 'pager-bot' }),
    ],
  ])(
    'cancels the wait on %s: the timer is cancelled and nobody is paged',
    async (_way, acknowledge) => {
      const key = await declare('critical');
      await eventually('the escalation timer', async () => (await timers(key)).started >= 1);
      await acknowledge(key);
      await eventually('the timer cancelled', async () => (await timers(key)).canceled >= 1);
      const state = await h.state(key);
      expect(state.status).toBe('acknowledged');
      expect(state.timeline.some((entry) => entry.what === 'escalate')).toBe(false);
      expect(escalationPage(key)).toBeUndefined();
      expect((await timers(key)).fired).toBe(0);
    },
    60_000,
  );

  it('keeps its deadline through a worker restart: escalates once when a worker is back', async () => {
    const key = await declare('critical');
    await eventually('the escalation timer', async () => (await timers(key)).started >= 1);
    const dueAt = Date.parse((await h.state(key)).escalation!.dueAt!);
    await stopWorker();
    await eventually('the deadline passed with no worker', async () => Date.now() > dueAt + 500);
    expect(escalationPage(key)).toBeUndefined();
    await startWorker();
    await eventually('the page', async () => escalationPage(key)?.triggers === 1);
    await eventually('the room told', async () => (await roomMessages(key, SLACK_EVENT_TYPES.escalation)).length === 1);
    expect((await h.state(key)).escalation).toMatchObject({ count: 1, escalated: true });
  }, 60_000);
});

describe('update reminders', () => {
  it('asks the room for an update at each interval while open, and stops on resolve', async () => {
    const key = await declare('error');
    await eventually('two reminders', async () => (await roomMessages(key, SLACK_EVENT_TYPES.reminder)).length >= 2, { timeoutMs: 20_000 });
    await act(key, 'resolve');
    await eventually('the run closed', async () => (await h.state(key)).steps.slackArchive?.status === 'done');
    const handle = h.client.workflow.getHandle(workflowIdFor(key));
    await handle.result();
    // Every reminder the run asked for is in the room, and none came after it ended.
    const asked = (await handle.fetchHistory()).events?.filter(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'postReminder',
    ).length;
    expect(await roomMessages(key, SLACK_EVENT_TYPES.reminder)).toHaveLength(asked!);
    expect((await h.state(key)).timeline.filter((entry) => entry.what === 'ask the room for a status update').length).toBe(asked);
  }, 60_000);
});
