import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyRefusal } from '../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { CORE_V2 } from '../src/workflows/incident.js';
import { bundleWorkflows, createWorker, type IncidentWorker } from '../src/worker.js';
import { eventually } from './eventually.js';
import { uniqueId } from './harness.js';
import { startStack, type Stack } from './stack.js';
import { incidentState } from './states.js';

// An in-place upgrade with open incidents: runs that a 0.1 worker started finish on the current
// worker (0.1's frozen code behind the core-v2 patch), answer the API truthfully, and move to the
// current code when they continue as new (CHANGELOG.md, "Upgrading open incidents").

const API_TOKEN = 'api-token-for-the-upgrade-test';
const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };
/** Low enough that a run of 150 repeats continues as new, high enough that a quiet one never does. */
const SUGGEST_CONTINUE_AS_NEW = 100;

let stack: Stack;
let current: WorkflowBundleOption;

beforeAll(async () => {
  stack = await startStack({
    name: 'upgrade',
    temporal: { headless: true, dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW } },
    worker: false,
    env: { WARROOM_API_TOKEN: API_TOKEN },
  });
  current = await bundleWorkflows();
});

afterAll(async () => {
  await stack?.stop();
});

async function runWorker(workflowBundle: WorkflowBundleOption): Promise<{ worker: IncidentWorker; stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await createWorker({ connection, config: stack.config, workflowBundle });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.apiUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { ...api, ...headers } });
  return { status: response.status, body: (await response.json()) as any };
}

/** The patch ids a run's history recorded. */
async function patches(handle: WorkflowHandle, runId?: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')).id as string] : [];
  });
}

describe('upgrading from 0.1 with incidents open', () => {
  it(
    'finishes 0.1 runs on the new worker, answers for them truthfully, and moves them to the new code at continue-as-new',
    { timeout: 180_000 },
    async () => {
      const quiet = uniqueId('up-quiet-');
      const busy = uniqueId('up-busy-');
      const quietKey = incidentKey('api', quiet);
      const busyKey = incidentKey('api', busy);
      const quietRun = stack.client.workflow.getHandle(workflowIdFor(quietKey));
      const busyRun = stack.client.workflow.getHandle(workflowIdFor(busyKey));

      // 0.1 opens both war rooms (every integration unconfigured here, so every step is skipped).
      const old = await runWorker(await bundleWorkflows(fileURLToPath(new URL('./upgrade/workflows-0.1.ts', import.meta.url))));
      for (const id of [quiet, busy])
        expect(await post('/incidents', { id, title: `${id} down` })).toMatchObject({ status: 202, body: { outcome: 'started' } });
      for (const handle of [quietRun, busyRun]) {
        await eventually(
          `${handle.workflowId} opened on 0.1`,
          async () => (await handle.query(incidentQuery)).steps.timelinePost?.status === 'skipped',
        );
      }
      const opened = await quietRun.describe();
      expect(await patches(quietRun)).toEqual(['close-the-loop']);
      await old.stop();

      // The upgrade: the same task queue, the current code.
      const upgraded = await runWorker(current);
      try {
        // A 0.1 run has no updates: the API signals it, after checking its state says the signal would act.
        expect(await post(`/incidents/${quietKey}/retry`, { by: 'ops' })).toEqual({ status: 409, body: { error: 'no step has failed' } });
        expect(await post(`/incidents/${quietKey}/acknowledge`, { by: 'ana' })).toEqual({
          status: 202,
          body: { key: quietKey, workflowId: workflowIdFor(quietKey), outcome: 'signaled' },
        });
        await eventually(`${quietKey} acknowledged`, async () => (await quietRun.query(incidentQuery)).acknowledgedBy === 'ana');
        expect(await post(`/incidents/${quietKey}/acknowledge`, { by: 'bo' })).toEqual({
          status: 409,
          body: { error: 'already acknowledged' },
        });
        expect(await post(`/incidents/${quietKey}/resolve`, { by: 'ana', note: 'fixed' })).toMatchObject({
          status: 202,
          body: { outcome: 'signaled' },
        });
        const resolved = (await quietRun.result()) as IncidentState;
        expect(resolved).toMatchObject({ status: 'resolved', acknowledgedBy: 'ana', resolvedBy: 'ana' });
        // Still the run 0.1 started, on 0.1's code to the end.
        expect((await quietRun.describe()).runId).toBe(opened.runId);
        expect(await patches(quietRun)).toEqual(['close-the-loop']);

        // A busy 0.1 run continues as new: the next run is the current code, carrying the incident.
        const firstRun = (await busyRun.describe()).runId;
        for (let i = 0; i < 150; i += 1) {
          const answer = await post('/incidents', { id: busy, title: `${busy} down` }, { 'idempotency-key': `repeat-${i}` });
          expect(answer.status).toBe(202);
        }
        const state = await eventually(`${busyKey} carried all 150 repeats`, async () => {
          const now = await busyRun.query(incidentQuery);
          return now.repeatCount === 150 && now;
        });
        // The continued run records its marker with its first workflow task, a moment after it starts.
        const latestRun = await eventually(`${busyKey} continued as new on the current code`, async () => {
          const { runId } = await busyRun.describe();
          return runId !== firstRun && (await patches(busyRun, runId)).includes(CORE_V2) && runId;
        });
        expect(await patches(busyRun, firstRun)).toEqual(['close-the-loop']);
        expect(state.timeline[0]).toMatchObject({ what: 'trigger from api', outcome: 'ok' });
        // The current code answers updates.
        expect(await post(`/incidents/${busyKey}/acknowledge`, { by: 'ana' })).toMatchObject({
          status: 200,
          body: { outcome: 'acknowledged' },
        });
        expect(await post(`/incidents/${busyKey}/resolve`, { by: 'ana' })).toMatchObject({ status: 200, body: { outcome: 'resolved' } });
        expect(await busyRun.result()).toMatchObject({ status: 'resolved', repeatCount: 150, resolvedBy: 'ana' });

        // Every run of both incidents replays on the current code.
        const histories = [];
        for (const [handle, runId] of [
          [quietRun, opened.runId],
          [busyRun, firstRun],
          [busyRun, latestRun],
        ] as const) {
          histories.push({
            workflowId: handle.workflowId,
            history: await stack.client.workflow.getHandle(handle.workflowId, runId).fetchHistory(),
          });
        }
        const failures: string[] = [];
        for await (const result of Worker.runReplayHistories({ workflowBundle: current }, histories)) {
          if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
        }
        expect(failures).toEqual([]);
      } finally {
        await upgraded.stop();
      }
    },
  );
});

describe('a 0.1 run the API cannot ask with an update', () => {
  const state = (extra: Partial<IncidentState>) =>
    incidentState({ key: 'pagerduty-q1', workflowId: 'incident-pagerduty-q1', source: 'pagerduty', ...extra });

  it('refuses a retry that a run from before retries existed would take and drop (202 before)', () => {
    // Runs started before 0.1's close-the-loop patch accepted the retry signal and never acted on it.
    const before = state({ steps: { jiraTicket: { status: 'failed', detail: 'Jira: 400' } } });
    expect(legacyRefusal(before, 'retry')).toBe('this run started before warroom could retry steps; its failed steps cannot be re-run');
    expect(legacyRefusal(state({}), 'retry')).toBe('no step has failed');
    const after = state({ failures: { jiraTicket: { what: 'open Jira ticket', error: 'Jira: 400', alert: 'open' } } });
    expect(legacyRefusal(after, 'retry')).toBeUndefined();
  });

  it('refuses what the run would ignore, and lets through what it would act on', () => {
    expect(legacyRefusal(state({ status: 'resolved' }), 'acknowledge')).toBe('already resolved');
    expect(legacyRefusal(state({ status: 'resolved' }), 'resolve')).toBe('already resolved');
    expect(legacyRefusal(state({ status: 'acknowledged' }), 'acknowledge')).toBe('already acknowledged');
    expect(legacyRefusal(state({ status: 'acknowledged' }), 'resolve')).toBeUndefined();
    expect(legacyRefusal(state({}), 'acknowledge')).toBeUndefined();
  });
});
