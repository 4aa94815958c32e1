/**
 * Records one history per workflow path into test/histories/, for the replay test.
 * Run after a deliberate, versioned workflow change: `npm run histories:record`.
 * Never re-record to make a failing replay pass: that failure is an open incident breaking.
 */
import { fakeVendorEnv } from '../fakes/env.js';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';
import { Dispatcher } from '../../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../../src/shared/ids.js';
import type { IncidentEvent } from '../../src/shared/incident.js';
import { incidentQuery, resolveSignal } from '../../src/shared/messages.js';
import { freePort, startDevServer } from '../../src/temporal/dev-server.js';
import { findTemporalCli } from '../../src/temporal/cli.js';
import { startJiraFake } from '../fakes/jira.js';
import { startPagerDutyFake } from '../fakes/pagerduty.js';
import { startSlackFake } from '../fakes/slack.js';
import { startVictorOpsFake } from '../fakes/victorops.js';
import { bundleWorkflows, createWorker } from '../../src/worker.js';

const server = await startDevServer({ port: await freePort(), headless: true });
const taskQueue = `record-${randomUUID()}`;
// Every integration configured against the fakes, so the histories hold the whole war-room path.
const [jira, slack, pd, vo] = await Promise.all([startJiraFake(), startSlackFake(), startPagerDutyFake(), startVictorOpsFake()]);
pd.addUser({ id: 'PUSR001', name: 'Dana Oncall', email: 'dana.oncall@example.com' });
for (const id of ['PFULL01', 'PACK01', 'PFAST01', 'POPEN01', 'PREOPEN01', 'PJIRADOWN01']) pd.addIncident({ id, title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
const config = loadConfig({
  TEMPORAL_ADDRESS: server.address,
  TEMPORAL_TASK_QUEUE: taskQueue,
  ...fakeVendorEnv({ jira, slack, pagerduty: pd, victorops: vo }),
  SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
  SLACK_ARCHIVE_DELAY: '1s',
});
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const workerConnection = await NativeConnection.connect({ address: server.address });
const worker = await createWorker({ connection: workerConnection, config, workflowBundle: await bundleWorkflows() });
const running = worker.run();
const dispatcher = new Dispatcher(client, taskQueue);

function event(externalId: string, kind: IncidentEvent['kind'], extra: Partial<IncidentEvent> = {}): IncidentEvent {
  return {
    source: 'pagerduty',
    externalId,
    key: incidentKey('pagerduty', externalId),
    kind,
    eventId: `${kind}-${randomUUID()}`,
    title: 'checkout-api: 5xx rate above 5% for 10 minutes',
    severity: 'critical',
    service: 'checkout-api',
    links: [{ label: 'PagerDuty incident #4711', url: 'https://example-co.pagerduty.com/incidents/Q1INC0001' }],
    assignees: ['PUSR001'],
    actor: 'PagerDuty (checkout-api)',
    occurredAt: '2026-03-14T09:26:53.114Z',
    ...extra,
  };
}

async function settled(key: string, check: (state: Awaited<ReturnType<typeof query>>) => boolean, timeoutMs = 10_000) {
  for (let i = 0; i < timeoutMs / 50; i += 1) {
    if (check(await query(key))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${key} did not settle`);
}

function query(key: string) {
  return client.workflow.getHandle(workflowIdFor(key)).query(incidentQuery);
}

/** The CLI's JSON export: the proto3 JSON form `Worker.runReplayHistories` reads. */
async function save(name: string, key: string) {
  const cli = findTemporalCli() as string;
  const shown = spawnSync(cli, ['workflow', 'show', '--address', server.address, '--workflow-id', workflowIdFor(key), '--output', 'json'], {
    encoding: 'utf8',
  });
  if (shown.status !== 0) throw new Error(shown.stderr);
  const history = JSON.parse(shown.stdout) as { events: unknown[] };
  await writeFile(new URL(`./${name}.json`, import.meta.url), `${JSON.stringify(history, null, 1)}\n`);
  process.stdout.write(`recorded ${name} (${history.events.length} events)\n`);
}

// 1. Full lifecycle from one source: trigger, duplicate, repeat, acknowledge, note, update, resolve.
const full = 'PFULL01';
await dispatcher.dispatch(event(full, 'trigger', { eventId: 'dup' }));
await dispatcher.dispatch(event(full, 'trigger', { eventId: 'dup' }));
await dispatcher.dispatch(event(full, 'trigger'));
await settled(incidentKey('pagerduty', full), (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
await dispatcher.dispatch(event(full, 'acknowledge', { actor: 'Dana Oncall' }));
await dispatcher.dispatch(event(full, 'annotate', { title: undefined, note: 'rolled back' }));
await dispatcher.dispatch(event(full, 'update', { severity: 'warning' }));
await dispatcher.dispatch(event(full, 'reopen'));
await dispatcher.dispatch(event(full, 'resolve', { actor: 'Dana Oncall' }));
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', full))).result();
await save('pagerduty-full-lifecycle', incidentKey('pagerduty', full));

// 2. Opened by an acknowledge (warroom saw no trigger), resolved by another service's signal.
const acked = 'PACK01';
await dispatcher.dispatch(event(acked, 'acknowledge', { actor: 'Dana Oncall' }));
await settled(incidentKey('pagerduty', acked), (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', acked))).signal(resolveSignal, { by: 'deploy-bot', note: 'auto' });
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', acked))).result();
await save('opened-by-acknowledge-resolved-by-signal', incidentKey('pagerduty', acked));

// 3. Resolved while the war room was still opening.
const fast = 'PFAST01';
await dispatcher.dispatch(event(fast, 'trigger'));
await dispatcher.dispatch(event(fast, 'resolve'));
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', fast))).result();
await save('resolved-during-open', incidentKey('pagerduty', fast));

// 4. Still open: a running incident must keep replaying after a deploy.
const open = 'POPEN01';
await dispatcher.dispatch(event(open, 'trigger'));
await settled(incidentKey('pagerduty', open), (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
await save('open-incident', incidentKey('pagerduty', open));

// 5. Resolved, then alerting again while the channel waits to be archived: reopened in the same room.
const again = 'PREOPEN01';
await dispatcher.dispatch(event(again, 'trigger'));
await settled(incidentKey('pagerduty', again), (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
await dispatcher.dispatch(event(again, 'resolve'));
await settled(incidentKey('pagerduty', again), (state) => state.steps.jiraTransition !== undefined && state.steps.slackStatusMessage?.status === 'done');
await dispatcher.dispatch(event(again, 'trigger'));
await settled(incidentKey('pagerduty', again), (state) => state.status === 'triggered');
await dispatcher.dispatch(event(again, 'resolve'));
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', again))).result();
await save('reopened-before-archive', incidentKey('pagerduty', again));

// 6. Jira failing past the grace period: the room opens with "ticket pending" and catches up.
const down = 'PJIRADOWN01';
jira.faults.set('*', { errors: 5 });
await dispatcher.dispatch(event(down, 'trigger'));
await settled(incidentKey('pagerduty', down), (state) => state.steps.jiraTicket?.status === 'done' && state.steps.timelinePost?.status === 'done', 60_000);
jira.faults.clear();
await dispatcher.dispatch(event(down, 'resolve'));
await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', down))).result();
await save('jira-down-then-back', incidentKey('pagerduty', down));

worker.shutdown();
await running;
await workerConnection.close();
await connection.close();
await server.stop();
await Promise.all([jira.stop(), slack.stop(), pd.stop(), vo.stop()]);
