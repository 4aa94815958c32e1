import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { Dispatcher } from '../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentEvent } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { bundleWorkflows, createWorker } from '../src/worker.js';
import { eventually } from './eventually.js';

// A server that suggests continue-as-new after 40 events, so a busy incident rolls over several times.
let server: DevServer;
let connection: Connection;
let workerConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let client: Client;
let dispatcher: Dispatcher;

beforeAll(async () => {
  server = await startDevServer({
    port: await freePort(),
    headless: true,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
  });
  const taskQueue = `can-${randomUUID()}`;
  const config = loadConfig({ TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: taskQueue });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  workerConnection = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({ connection: workerConnection, config, workflowBundle: await bundleWorkflows() });
  running = worker.run();
  dispatcher = new Dispatcher(client, taskQueue);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await workerConnection?.close();
  await connection?.close();
  await server?.stop();
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
