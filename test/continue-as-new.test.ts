import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentEvent } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { eventually } from './eventually.js';
import { startStack, type Stack } from './stack.js';

// A server that suggests continue-as-new after 40 events, so a busy incident rolls over several times.
let stack: Stack;
let client: Client;
let dispatcher: Dispatcher;

beforeAll(async () => {
  stack = await startStack({
    name: 'can',
    temporal: { headless: true, dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } },
    api: false,
  });
  client = stack.client;
  dispatcher = new Dispatcher(client, stack.taskQueue);
});

afterAll(async () => {
  await stack?.stop();
});

const id = 'PSTORM01';
const key = incidentKey('pagerduty', id);
const event = (kind: IncidentEvent['kind'], eventId: string): IncidentEvent => ({
  source: 'pagerduty',
  externalId: id,
  key,
  kind,
  eventId,
  title: 'storm',
  links: [],
  actor: 'PagerDuty',
  occurredAt: new Date().toISOString(),
});

describe('a long incident', () => {
  it('continues as new and keeps its state, timeline and de-duplication across runs', async () => {
    await dispatcher.dispatch(event('trigger', 'first'));
    for (let i = 0; i < 30; i += 1) {
      await dispatcher.dispatch(event('trigger', `repeat-${i}`));
    }
    const handle = client.workflow.getHandle(workflowIdFor(key));
    const state = await eventually('30 repeats counted and the war room settled', async () => {
      const current = await handle.query(incidentQuery);
      // The war room (every step "not configured" here) settles alongside the repeats; its last
      // step is recorded pending before it is skipped.
      return current.repeatCount === 30 && current.steps.timelinePost?.status === 'skipped' && current;
    });
    // Visibility is eventually consistent: the continued run is listed a moment after it starts.
    const runs = await eventually('a continued run listed', async () => {
      let count = 0;
      for await (const _run of client.workflow.list({ query: `WorkflowId = '${workflowIdFor(key)}'` })) count += 1;
      return count > 1 && count;
    });
    expect(runs).toBeGreaterThan(1);
    expect(state.timeline[0]).toMatchObject({ what: 'trigger from pagerduty', outcome: 'ok' });
    expect(state.steps.jiraTicket?.status).toBe('skipped');

    // A redelivery of an event seen in an earlier run is still recognised.
    await dispatcher.dispatch(event('trigger', 'repeat-3'));
    await dispatcher.dispatch(event('resolve', 'done'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'resolved', repeatCount: 30 });
  });
});
