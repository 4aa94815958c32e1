// Vendor budgets: a budget's task queue is paced by the server for every worker together, a more
// severe incident's step overtakes queued ones, a 429 pauses the budget for all workers until its
// Retry-After, and a room below critical holds back. On the suite's real Temporal server.
import type { WorkflowBundleOption } from '@temporalio/worker';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { BUDGETS, budgetOfQueue, budgetQueue, stepPriority } from '../src/shared/budgets.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { BudgetKeeper } from '../src/temporal/budget-keeper.js';
import { connectWorker } from '../src/temporal/connection.js';
import { bundleWorkflows, createWorker, type IncidentWorker } from '../src/worker.js';
import { deliver, genericIncident } from './deliveries.js';
import { eventually } from './eventually.js';
import type { SlackFake } from './fakes/slack.js';
import { startHarness, uniqueId, type Harness } from './harness.js';

const API_TOKEN = 'budgets-test-api-token';
/** slack-create at 20 a minute: one conversations.create every 3 s, whichever worker runs it. */
const INTERVAL_MS = 3000;

let h: Harness;
let slack: SlackFake;
let second: IncidentWorker;
let secondRun: Promise<void>;
let bundle: WorkflowBundleOption;

beforeAll(async () => {
  bundle = await bundleWorkflows();
  h = await startHarness({
    workflowBundle: bundle,
    fakes: { configure: ['slack'] },
    env: { WARROOM_API_TOKEN: API_TOKEN, VENDOR_BUDGETS: 'true', VENDOR_BUDGETS_PER_MINUTE: 'slack-create=20', SLACK_ROOM_HOLD_INFO: '3s' },
  });
  slack = h.fakes.slack;
  // A second worker process's worth: its own connection and pollers on the same queues.
  const connection = await connectWorker({ ...h.config.temporal, address: inject('temporalAddress') });
  second = await createWorker({ connection, config: h.config, workflowBundle: bundle });
  secondRun = second.run();
}, 120_000);

afterAll(async () => {
  second?.shutdown();
  await secondRun?.catch(() => undefined);
  await h?.stop();
});

async function declare(severity: string, title = 'checkout-api: 5xx rate above 5%'): Promise<string> {
  const id = uniqueId('BUD');
  const answer = await deliver(h.baseUrl, genericIncident({ id, title, service: 'checkout-api', severity }, { apiToken: API_TOKEN }));
  expect(answer.status).toBe(202);
  return incidentKey('api', id);
}

async function roomOf(key: string, timeoutMs = 60_000): Promise<string> {
  return eventually(
    `${key}'s room`,
    async () => {
      const step = (await h.state(key)).steps.slackChannel;
      return step?.status === 'done' && step.ref;
    },
    { timeoutMs },
  );
}

/** conversations.create calls that made a channel, in the order Slack answered them. */
function creates(since: number) {
  return slack.calls('conversations.create').filter((call) => call.receivedAt >= since && call.status === 200);
}

describe('vendor budgets', () => {
  it('paces a budget across two workers: one conversations.create per interval, not one per worker', async () => {
    const since = Date.now();
    const keys = await Promise.all([1, 2, 3, 4].map(() => declare('critical')));
    await Promise.all(keys.map((key) => roomOf(key)));
    const times = creates(since).map((call) => call.receivedAt);
    expect(times).toHaveLength(4);
    // Shared, four calls take three intervals (about 9 s); two workers each allowing 20 a minute would take one.
    expect(times[3]! - times[0]!).toBeGreaterThan(INTERVAL_MS * 2);
  }, 90_000);

  it('lets a critical incident overtake warnings already waiting in the budget', async () => {
    // Wait out the previous test's last call, so the first warning takes a fresh slot.
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    const since = Date.now();
    const warnings = [];
    for (let i = 0; i < 3; i += 1) warnings.push(await declare('warning'));
    await eventually('the first warning room', async () => creates(since).length >= 1);
    const critical = await declare('critical');
    const rooms = await Promise.all([...warnings, critical].map((key) => roomOf(key)));
    const order = creates(since).map((call) => call.args.name);
    const criticalName = slack.state.channels.find((channel) => channel.id === rooms[3])?.name;
    // The first warning was made before the critical arrived; the critical goes next, ahead of two that waited longer.
    expect(order.indexOf(criticalName!)).toBe(1);
  }, 90_000);

  it('pauses the budget for every worker until a 429 Retry-After has passed, then lifts the pause', async () => {
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    const retryAfterSec = 8;
    slack.faults.rateLimit('conversations.create', 1, retryAfterSec);
    const since = Date.now();
    const first = await declare('critical');
    const refused = await eventually('the 429', async () => slack.calls('conversations.create').find((call) => call.receivedAt >= since));
    expect(refused.status).toBe(429);
    const pausedUntil = await eventually('the pause on the queue', () => second.budgets.pauseOf('slack-create'));
    expect(pausedUntil).toBeGreaterThan(refused.receivedAt + (retryAfterSec - 1) * 1000);
    // Another incident's room waits for the pause, not just for the budget's interval.
    const other = await declare('critical');
    await Promise.all([roomOf(first), roomOf(other)]);
    const made = creates(since).map((call) => call.receivedAt);
    expect(made).toHaveLength(2);
    expect(Math.min(...made) - refused.receivedAt).toBeGreaterThanOrEqual((retryAfterSec - 1) * 1000);
    await eventually('the pause lifted', async () => (await second.budgets.pauseOf('slack-create')) === undefined, { timeoutMs: 30_000 });
  }, 90_000);

  it('lifts only its own pauses: a rate an operator set stays, an ended pause found at start-up goes', async () => {
    const service = h.client.connection.workflowService;
    const queue = (budget: string) => `${h.config.temporal.taskQueue}.${budget}`;
    const configOf = async (budget: string) =>
      (
        await service.describeTaskQueue({
          namespace: h.config.temporal.namespace,
          taskQueue: { name: queue(budget), kind: 1 },
          taskQueueType: 2,
          reportConfig: true,
        })
      ).config?.queueRateLimit;
    const set = (budget: string, requestsPerSecond: number, reason: string) =>
      service.updateTaskQueueConfig({
        namespace: h.config.temporal.namespace,
        identity: 'test',
        taskQueue: queue(budget),
        taskQueueType: 2,
        updateQueueRateLimit: { rateLimit: { requestsPerSecond }, reason },
      });
    await set('jira', 0.5, 'ops: Jira asked us to slow down');
    // A pause whose end has passed, as a worker that died during it would leave it.
    await set('slack-pin', 0, `warroom: a vendor answered 429; paused until ${new Date(Date.now() - 1000).toISOString()}`);
    const keeper = new BudgetKeeper({
      workflowService: service,
      namespace: h.config.temporal.namespace,
      taskQueue: h.config.temporal.taskQueue,
      budgets: ['jira', 'slack-pin'],
    });
    await keeper.start();
    keeper.stop();
    expect((await configOf('jira'))?.metadata?.reason).toBe('ops: Jira asked us to slow down');
    expect((await configOf('jira'))?.rateLimit?.requestsPerSecond).toBeCloseTo(0.5);
    expect((await configOf('slack-pin'))?.rateLimit).toBeFalsy();
  });

  it('holds a room below critical, and opens none when the incident resolves within the hold', async () => {
    const since = Date.now();
    const held = await declare('info');
    const waiting = await eventually('the hold on the timeline', async () => {
      const state = await h.state(held);
      return state.steps.slackChannel?.status === 'pending' && state.steps.slackChannel;
    });
    expect(waiting.detail).toContain('holding 3 s');
    await roomOf(held);
    const opened = creates(since)[0]!;
    expect(opened.receivedAt - since).toBeGreaterThanOrEqual(2500);

    const quiet = await declare('info');
    const resolved = await h.post(`/incidents/${quiet}/resolve`, JSON.stringify({ by: 'dana' }), {
      'content-type': 'application/json',
      authorization: `Bearer ${API_TOKEN}`,
    });
    expect(resolved.status).toBe(200);
    const step = await eventually('the room skipped', async () => {
      const state = await h.state(quiet);
      return state.steps.slackChannel?.status === 'skipped' && state.steps.slackChannel;
    });
    expect(step.detail).toBe('resolved within the 3 s hold: no room opened');
    expect(creates(since)).toHaveLength(1);
  }, 60_000);
});

/** Each activity the incident's run scheduled, with the task queue it waited in. */
async function scheduledQueues(harness: Harness, key: string): Promise<Record<string, string>> {
  const history = await harness.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
  return Object.fromEntries(
    (history.events ?? []).flatMap((event) => {
      const scheduled = event.activityTaskScheduledEventAttributes;
      return scheduled ? [[scheduled.activityType?.name ?? '', scheduled.taskQueue?.name ?? '']] : [];
    }),
  );
}

describe('routing', () => {
  it('sends each budgeted call to its budget queue, the rest to the workflows queue', async () => {
    const key = await declare('critical');
    await roomOf(key);
    const queues = await scheduledQueues(h, key);
    const main = h.config.temporal.taskQueue;
    expect(queues.openChannel).toBe(`${main}.slack-create`);
    expect(queues.incidentSettings).toBe(main);
  }, 60_000);

  it('with VENDOR_BUDGETS=false, runs every call on the workflows queue (unpaced, eager)', async () => {
    const direct = await startHarness({
      workflowBundle: bundle,
      fakes: { configure: ['slack'] },
      env: { WARROOM_API_TOKEN: API_TOKEN, VENDOR_BUDGETS: 'false' },
    });
    try {
      const id = uniqueId('DIR');
      const answer = await deliver(
        direct.baseUrl,
        genericIncident({ id, title: 'direct', service: 'checkout-api', severity: 'critical' }, { apiToken: API_TOKEN }),
      );
      expect(answer.status).toBe(202);
      const key = incidentKey('api', id);
      await eventually('the room', async () => (await direct.state(key)).steps.slackChannel?.status === 'done');
      const queues = await scheduledQueues(direct, key);
      expect(new Set(Object.values(queues))).toEqual(new Set([direct.config.temporal.taskQueue]));
    } finally {
      await direct.stop();
    }
  }, 60_000);
});

describe('budget table', () => {
  it('orders priorities by severity, a room before furnishing, within the server default of five levels', () => {
    expect(stepPriority('critical', true)).toBe(1);
    expect(stepPriority('critical', false)).toBe(2);
    expect(stepPriority('error', true)).toBe(2);
    expect(stepPriority('warning', true)).toBeLessThan(stepPriority('warning', false));
    expect(stepPriority(undefined, true)).toBe(stepPriority('warning', true));
    expect(stepPriority('info', false)).toBe(5);
  });

  it('names each budget queue after the deployment queue, and reads it back', () => {
    expect(budgetQueue('warroom', 'slack-create')).toBe('warroom.slack-create');
    expect(budgetOfQueue('warroom', 'warroom.slack-create')).toBe('slack-create');
    expect(budgetOfQueue('warroom', 'warroom')).toBeUndefined();
    expect(budgetOfQueue('warroom', 'other.slack-create')).toBeUndefined();
    expect(budgetOfQueue('warroom', 'warroom.toString')).toBeUndefined();
  });

  it('takes overrides in calls a minute and refuses unknown budgets', () => {
    const config = loadConfig({ VENDOR_BUDGETS_PER_MINUTE: 'slack-create=30, jira=120' });
    expect(config.budgets.perMinute['slack-create']).toBe(30);
    expect(config.budgets.perMinute.jira).toBe(120);
    expect(config.budgets.perMinute['slack-topic']).toBe(BUDGETS['slack-topic'].perMinute);
    expect(() => loadConfig({ VENDOR_BUDGETS_PER_MINUTE: 'slack-chat=30' })).toThrow(/VENDOR_BUDGETS_PER_MINUTE.*unknown budget/s);
    expect(() => loadConfig({ VENDOR_BUDGETS_PER_MINUTE: 'jira=0' })).toThrow(/more than 0/);
  });
});
