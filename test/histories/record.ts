/**
 * Records one history per workflow path into test/histories/, for the replay test.
 * Run after a deliberate, versioned workflow change: `npm run histories:record`. Histories are
 * append-only: a file that exists is never overwritten (it stands for runs recorded by an older
 * version, which must keep replaying), so only new scenarios are recorded. Never delete one to
 * make a failing replay pass: that failure is an open incident breaking.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { Dispatcher } from '../../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../../src/shared/ids.js';
import type { IncidentEvent } from '../../src/shared/incident.js';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  incidentQuery,
  noteSignal,
  noteUpdate,
  resolveSignal,
  resolveUpdate,
  retrySignal,
  retryUpdate,
  statusPageWorkflowId,
} from '../../src/shared/messages.js';
import { findTemporalCli } from '../../src/temporal/cli.js';
import { eventually } from '../eventually.js';
import { startStack } from '../stack.js';

// Every integration configured against the fakes, so the histories hold the whole war-room path.
const stack = await startStack({
  name: 'record',
  fakes: {},
  monitors: [
    'monitors:',
    '  - name: checkout-api',
    '  - name: search-api',
    '    waitTime: 2s',
    '  - name: orders-api',
    '    combineAlerts: true',
    '',
  ].join('\n'),
  // A warning's room holds back 1 s (vendor budgets, issue 10); every scenario before them is critical.
  env: { SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com', SLACK_ARCHIVE_DELAY: '1s', SLACK_ROOM_HOLD_WARNING: '1s' },
  api: false,
});
const { jira, pagerduty: pd } = stack.fakes;
/** The PagerDuty incidents of the scenarios recorded with the second version of the workflow (issue 9). */
const V2_INCIDENTS = [
  'PBUDHOLD01',
  'PBUDQUIET01',
  'PV2FULL01',
  'PV2ACK01',
  'PV2FAST01',
  'PV2OPEN01',
  'PV2REOPEN01',
  'PV2JIRADOWN01',
  'PV2LOOP01',
  'PV2OPENWAIT01',
];
/** The PagerDuty incidents of the scenarios recorded with the postmortem step (issue 12). */
const POSTMORTEM_INCIDENTS = ['PPMTWICE01'];
for (const id of [
  'PFULL01',
  'PACK01',
  'PFAST01',
  'POPEN01',
  'PREOPEN01',
  'PJIRADOWN01',
  'PLOOP01',
  'PLOOPOPEN01',
  ...V2_INCIDENTS,
  ...POSTMORTEM_INCIDENTS,
]) {
  pd.addIncident({ id, title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
}
const { client } = stack;
const dispatcher = new Dispatcher(client, stack.taskQueue);

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
  await eventually(`${key} settled`, async () => check(await query(key)), { timeoutMs });
}

function query(key: string) {
  return client.workflow.getHandle(workflowIdFor(key)).query(incidentQuery);
}

const historyFile = (name: string) => new URL(`./${name}.json`, import.meta.url);

/** The CLI's JSON export: the proto3 JSON form `Worker.runReplayHistories` reads. */
async function save(name: string, key: string, workflowId = workflowIdFor(key)) {
  const cli = findTemporalCli() as string;
  const shown = spawnSync(cli, ['workflow', 'show', '--address', stack.temporal.address, '--workflow-id', workflowId, '--output', 'json'], {
    encoding: 'utf8',
  });
  if (shown.status !== 0) throw new Error(shown.stderr);
  const history = JSON.parse(shown.stdout) as { events: unknown[] };
  await writeFile(historyFile(name), `${JSON.stringify(history, null, 1)}\n`);
  process.stdout.write(`recorded ${name} (${history.events.length} events)\n`);
}

/** Paths both versions record the same way (the second under its own names and incident ids). */
const paths = {
  /** Resolved while the war room was still opening. */
  async resolvedDuringOpen(id: string, name: string) {
    const key = incidentKey('pagerduty', id);
    await dispatcher.dispatch(event(id, 'trigger'));
    await dispatcher.dispatch(event(id, 'resolve'));
    await client.workflow.getHandle(workflowIdFor(key)).result();
    await save(name, key);
  },
  /** Still open: a running incident must keep replaying after a deploy. */
  async openIncident(id: string, name: string) {
    const key = incidentKey('pagerduty', id);
    await dispatcher.dispatch(event(id, 'trigger'));
    await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
    await save(name, key);
  },
  /** Resolved, then alerting again while the channel waits to be archived: reopened in the same room. */
  async reopenedBeforeArchive(id: string, name: string) {
    const key = incidentKey('pagerduty', id);
    await dispatcher.dispatch(event(id, 'trigger'));
    await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
    await dispatcher.dispatch(event(id, 'resolve'));
    await settled(key, (state) => state.steps.jiraTransition !== undefined && state.steps.slackStatusMessage?.status === 'done');
    await dispatcher.dispatch(event(id, 'trigger'));
    await settled(key, (state) => state.status === 'triggered');
    await dispatcher.dispatch(event(id, 'resolve'));
    await client.workflow.getHandle(workflowIdFor(key)).result();
    await save(name, key);
  },
  /** Jira failing past the grace period: the room opens with "ticket pending" and catches up. */
  async jiraDownThenBack(id: string, name: string) {
    const key = incidentKey('pagerduty', id);
    jira.faults.set('*', { errors: 5 });
    await dispatcher.dispatch(event(id, 'trigger'));
    await settled(key, (state) => state.steps.jiraTicket?.status === 'done' && state.steps.timelinePost?.status === 'done', 60_000);
    jira.faults.clear();
    await dispatcher.dispatch(event(id, 'resolve'));
    await client.workflow.getHandle(workflowIdFor(key)).result();
    await save(name, key);
  },
  /** Resolved within the monitor's wait time (by another service's signal): nothing reaches the status page. */
  async resolvedWithinWaitTime(id: string, name: string) {
    const key = incidentKey('api', id);
    await dispatcher.dispatch({ ...event(id, 'trigger'), source: 'api', key, service: 'search-api', assignees: [] });
    await settled(key, (state) => state.steps.statusPage?.status === 'pending' && state.steps.slackPin?.status === 'done');
    await client.workflow.getHandle(workflowIdFor(key)).signal(resolveSignal, { by: 'ana@example.com', via: 'api' });
    await client.workflow.getHandle(workflowIdFor(key)).result();
    await save(name, key);
  },
  /** Still open, inside the wait time: a running incident mid-timer must keep replaying after a deploy. */
  async openWaitingForStatusPage(id: string, name: string) {
    const key = incidentKey('pagerduty', id);
    await dispatcher.dispatch({ ...event(id, 'trigger'), service: 'search-api' });
    await settled(key, (state) => state.steps.statusPage?.status === 'pending' && state.steps.timelinePost?.status === 'done');
    await save(name, key);
  },
  /**
   * Close the loop (PagerDuty incident): status page posted, acknowledged and resolved from Slack
   * (`click` says how the click reaches the run: 0.1's signals, or the updates), PagerDuty synced,
   * the echoes ignored.
   */
  async slackAcknowledgeAndResolve(
    id: string,
    name: string,
    click: (handle: WorkflowHandle, kind: 'acknowledge' | 'resolve') => Promise<unknown>,
  ) {
    const key = incidentKey('pagerduty', id);
    const handle = client.workflow.getHandle(workflowIdFor(key));
    await dispatcher.dispatch(event(id, 'trigger'));
    await settled(
      key,
      (state) =>
        state.steps.slackPin?.status === 'done' && state.steps.statusPage?.status === 'done' && state.steps.changeRoom?.status === 'done',
    );
    await click(handle, 'acknowledge');
    await settled(key, (state) => state.steps.pagerdutySync?.status === 'done');
    await dispatcher.dispatch(event(id, 'acknowledge', { actor: 'Dana Oncall' }));
    await click(handle, 'resolve');
    await settled(key, (state) => state.steps.statusPageClose?.status === 'done' && state.steps.changeResolved?.status === 'done');
    await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall' }));
    await handle.result();
    await save(name, key);
  },
};

/** One scenario per workflow path; each records the histories it names. */
const scenarios: Array<{ name: string; record(): Promise<void> }> = [
  {
    name: 'pagerduty-full-lifecycle',
    /* 1. Full lifecycle from one source: trigger, duplicate, repeat, acknowledge, note, update, resolve. */
    async record() {
      const full = 'PFULL01';
      await dispatcher.dispatch(event(full, 'trigger', { eventId: 'dup' }));
      await dispatcher.dispatch(event(full, 'trigger', { eventId: 'dup' }));
      await dispatcher.dispatch(event(full, 'trigger'));
      await settled(
        incidentKey('pagerduty', full),
        (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done',
      );
      await dispatcher.dispatch(event(full, 'acknowledge', { actor: 'Dana Oncall' }));
      await dispatcher.dispatch(event(full, 'annotate', { title: undefined, note: 'rolled back' }));
      await dispatcher.dispatch(event(full, 'update', { severity: 'warning' }));
      await dispatcher.dispatch(event(full, 'reopen'));
      await dispatcher.dispatch(event(full, 'resolve', { actor: 'Dana Oncall' }));
      await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', full))).result();
      await save('pagerduty-full-lifecycle', incidentKey('pagerduty', full));
    },
  },
  {
    name: 'opened-by-acknowledge-resolved-by-signal',
    /* 2. Opened by an acknowledge (warroom saw no trigger), resolved by another service's signal. */
    async record() {
      const acked = 'PACK01';
      await dispatcher.dispatch(event(acked, 'acknowledge', { actor: 'Dana Oncall' }));
      await settled(
        incidentKey('pagerduty', acked),
        (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done',
      );
      await client.workflow
        .getHandle(workflowIdFor(incidentKey('pagerduty', acked)))
        .signal(resolveSignal, { by: 'deploy-bot', note: 'auto' });
      await client.workflow.getHandle(workflowIdFor(incidentKey('pagerduty', acked))).result();
      await save('opened-by-acknowledge-resolved-by-signal', incidentKey('pagerduty', acked));
    },
  },
  { name: 'resolved-during-open', record: () => paths.resolvedDuringOpen('PFAST01', 'resolved-during-open') },
  { name: 'open-incident', record: () => paths.openIncident('POPEN01', 'open-incident') },
  { name: 'reopened-before-archive', record: () => paths.reopenedBeforeArchive('PREOPEN01', 'reopened-before-archive') },
  { name: 'jira-down-then-back', record: () => paths.jiraDownThenBack('PJIRADOWN01', 'jira-down-then-back') },

  {
    name: 'close-loop-slack-acknowledge-and-resolve',
    record: () =>
      paths.slackAcknowledgeAndResolve('PLOOP01', 'close-loop-slack-acknowledge-and-resolve', (handle, kind) =>
        handle.signal(kind === 'acknowledge' ? acknowledgeSignal : resolveSignal, { by: 'dana.oncall', via: 'slack' }),
      ),
  },
  {
    name: 'close-loop-resolved-within-wait-time',
    record: () => paths.resolvedWithinWaitTime('api-wait-01', 'close-loop-resolved-within-wait-time'),
  },
  {
    name: 'close-loop-open-waiting-for-status-page',
    record: () => paths.openWaitingForStatusPage('PLOOPOPEN01', 'close-loop-open-waiting-for-status-page'),
  },
  {
    name: 'status-page-combined',
    /* 10. Combined alerts: two incidents share their monitor's StatusCast incident (both runs recorded). */
    async record() {
      const keys = ['api-orders-01', 'api-orders-02'].map((id) => incidentKey('api', id));
      for (const [index, id] of ['api-orders-01', 'api-orders-02'].entries()) {
        await dispatcher.dispatch({
          ...event(id, 'trigger'),
          source: 'api',
          key: keys[index] as string,
          service: 'orders-api',
          assignees: [],
        });
      }
      for (const key of keys) await settled(key, (state) => state.steps.statusPage?.status === 'done');
      for (const key of keys) {
        await client.workflow.getHandle(workflowIdFor(key)).signal(resolveSignal, { by: 'ana@example.com', via: 'api' });
        await client.workflow.getHandle(workflowIdFor(key)).result();
      }
      await client.workflow.getHandle(statusPageWorkflowId('orders-api')).result();
      await save('status-page-combined-incident', keys[1] as string);
      await save('status-page-combined', '', statusPageWorkflowId('orders-api'));
    },
  },
  {
    name: 'close-loop-failure-alert-and-retry',
    /* 11. A step failing for good pages someone; a retry succeeds and resolves the alert. */
    async record() {
      const id = 'api-retry-01';
      const key = incidentKey('api', id);
      jira.requiredFields = { customfield_10050: 'Customer impact' };
      await dispatcher.dispatch({ ...event(id, 'trigger'), source: 'api', key, service: undefined, assignees: [] });
      await settled(key, (state) => state.failures?.jiraTicket?.alert === 'open' && state.steps.timelinePost !== undefined);
      jira.requiredFields = {};
      await client.workflow.getHandle(workflowIdFor(key)).signal(retrySignal, { by: 'ops@example.com', via: 'api' });
      await settled(key, (state) => state.steps.jiraTicket?.status === 'done' && state.failures?.jiraTicket === undefined);
      await client.workflow.getHandle(workflowIdFor(key)).signal(resolveSignal, { by: 'ops@example.com', via: 'api' });
      await client.workflow.getHandle(workflowIdFor(key)).result();
      await save('close-loop-failure-alert-and-retry', key);
    },
  },
  // Recorded with the second version of the workflow (the core-v2 patch, issue 9): the same paths,
  // with acknowledge, resolve and retry as updates, and malformed messages ignored.
  {
    name: 'core-v2-pagerduty-full-lifecycle',
    /* v2-1. Trigger, duplicate, repeat, acknowledge, note, update, reopen, resolve; a malformed signal on the way. */
    async record() {
      const id = 'PV2FULL01';
      const key = incidentKey('pagerduty', id);
      await dispatcher.dispatch(event(id, 'trigger', { eventId: 'dup' }));
      await dispatcher.dispatch(event(id, 'trigger', { eventId: 'dup' }));
      await dispatcher.dispatch(event(id, 'trigger'));
      await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
      await client.workflow.getHandle(workflowIdFor(key)).signal('resolve', 'garbage');
      await dispatcher.dispatch(event(id, 'acknowledge', { actor: 'Dana Oncall' }));
      await dispatcher.dispatch(event(id, 'annotate', { title: undefined, note: 'rolled back' }));
      await dispatcher.dispatch(event(id, 'update', { severity: 'warning' }));
      await dispatcher.dispatch(event(id, 'reopen'));
      await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall' }));
      await client.workflow.getHandle(workflowIdFor(key)).result();
      await save('core-v2-pagerduty-full-lifecycle', key);
    },
  },
  {
    name: 'core-v2-opened-by-acknowledge-resolved-by-update',
    /* v2-2. Opened by an acknowledge; a refused acknowledge update; resolved by an update from another service. */
    async record() {
      const id = 'PV2ACK01';
      const key = incidentKey('pagerduty', id);
      const handle = client.workflow.getHandle(workflowIdFor(key));
      await dispatcher.dispatch(event(id, 'acknowledge', { actor: 'Dana Oncall' }));
      await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'sam', via: 'api' }] }).catch(() => undefined);
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'deploy-bot', note: 'auto', via: 'deployer' }] });
      await handle.result();
      await save('core-v2-opened-by-acknowledge-resolved-by-update', key);
    },
  },
  { name: 'core-v2-resolved-during-open', record: () => paths.resolvedDuringOpen('PV2FAST01', 'core-v2-resolved-during-open') },
  { name: 'core-v2-open-incident', record: () => paths.openIncident('PV2OPEN01', 'core-v2-open-incident') },
  { name: 'core-v2-reopened-before-archive', record: () => paths.reopenedBeforeArchive('PV2REOPEN01', 'core-v2-reopened-before-archive') },
  { name: 'core-v2-jira-down-then-back', record: () => paths.jiraDownThenBack('PV2JIRADOWN01', 'core-v2-jira-down-then-back') },
  {
    name: 'core-v2-slack-acknowledge-and-resolve',
    record: () =>
      paths.slackAcknowledgeAndResolve('PV2LOOP01', 'core-v2-slack-acknowledge-and-resolve', (handle, kind) =>
        handle.executeUpdate(kind === 'acknowledge' ? acknowledgeUpdate : resolveUpdate, { args: [{ by: 'dana.oncall', via: 'slack' }] }),
      ),
  },
  {
    name: 'core-v2-resolved-within-wait-time',
    record: () => paths.resolvedWithinWaitTime('api-v2-wait-01', 'core-v2-resolved-within-wait-time'),
  },
  {
    name: 'core-v2-open-waiting-for-status-page',
    record: () => paths.openWaitingForStatusPage('PV2OPENWAIT01', 'core-v2-open-waiting-for-status-page'),
  },
  {
    name: 'core-v2-status-page-combined-incident',
    /* v2-10. Combined alerts: two incidents share their monitor's StatusCast incident. */
    async record() {
      const ids = ['api-v2-orders-01', 'api-v2-orders-02'];
      const keys = ids.map((id) => incidentKey('api', id));
      for (const [index, id] of ids.entries()) {
        await dispatcher.dispatch({
          ...event(id, 'trigger'),
          source: 'api',
          key: keys[index] as string,
          service: 'orders-api',
          assignees: [],
        });
      }
      for (const key of keys) await settled(key, (state) => state.steps.statusPage?.status === 'done');
      for (const key of keys) {
        await client.workflow.getHandle(workflowIdFor(key)).executeUpdate(resolveUpdate, { args: [{ by: 'ana@example.com', via: 'api' }] });
        await client.workflow.getHandle(workflowIdFor(key)).result();
      }
      await save('core-v2-status-page-combined-incident', keys[1] as string);
    },
  },
  {
    name: 'core-v2-failure-alert-and-retry',
    /* v2-11. A step failing for good pages someone; a retry (signal, then update) succeeds and resolves the alert. */
    async record() {
      const id = 'api-v2-retry-01';
      const key = incidentKey('api', id);
      const handle = client.workflow.getHandle(workflowIdFor(key));
      jira.requiredFields = { customfield_10050: 'Customer impact' };
      await dispatcher.dispatch({ ...event(id, 'trigger'), source: 'api', key, service: undefined, assignees: [] });
      await settled(key, (state) => state.failures?.jiraTicket?.alert === 'open' && state.steps.timelinePost !== undefined);
      await handle.signal(retrySignal, { by: 'ops@example.com', via: 'api' });
      await settled(
        key,
        (state) => state.steps.jiraTicket?.status === 'failed' && state.timeline.some((entry) => entry.what === 'retry failed steps'),
      );
      jira.requiredFields = {};
      await settled(key, (state) => state.steps.jiraTicket?.status !== 'pending');
      await handle.executeUpdate(retryUpdate, { args: [{ by: 'ops@example.com', via: 'api' }] });
      await settled(
        key,
        (state) =>
          state.steps.jiraTicket?.status === 'done' &&
          state.failures?.jiraTicket === undefined &&
          state.steps.slackTopic?.status === 'done',
      );
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'ops@example.com', via: 'api' }] });
      await handle.result();
      await save('core-v2-failure-alert-and-retry', key);
    },
  },
  // Recorded with vendor budgets (issue 10): each step's activity in its budget's task queue, with
  // the incident's priority; a warning's room holds back before it asks for a channel.
  {
    name: 'budgets-warning-room-held',
    async record() {
      const id = 'PBUDHOLD01';
      const key = incidentKey('pagerduty', id);
      await dispatcher.dispatch(event(id, 'trigger', { severity: 'warning' }));
      await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
      await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall' }));
      await client.workflow.getHandle(workflowIdFor(key)).result();
      await save('budgets-warning-room-held', key);
    },
  },
  {
    name: 'budgets-warning-resolved-within-hold',
    async record() {
      const id = 'PBUDQUIET01';
      const key = incidentKey('pagerduty', id);
      await dispatcher.dispatch(event(id, 'trigger', { severity: 'warning' }));
      await settled(key, (state) => state.steps.slackChannel?.status === 'pending');
      await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall' }));
      await client.workflow.getHandle(workflowIdFor(key)).result();
      await save('budgets-warning-resolved-within-hold', key);
    },
  },
  // Recorded with issue 12's slash command: an incident declared in Slack, its room indexed by
  // channel (the `indexed-steps` patch), status updates as signals and updates, acknowledged and
  // resolved from Slack.
  {
    name: 'slash-declared-noted-resolved',
    async record() {
      const id = 'checkout-is-down-for-eu-1a2b3c4d';
      const key = incidentKey('slack', id);
      const handle = client.workflow.getHandle(workflowIdFor(key));
      await dispatcher.dispatch({
        ...event(id, 'trigger', { eventId: 'slack-declare-1a2b3c4d' }),
        source: 'slack',
        key,
        title: 'Checkout is down for EU customers',
        links: [{ label: 'Declared in #general', url: 'https://slack.com/app_redirect?team=T0EXAMPLE&channel=C0GENERAL' }],
        assignees: [],
        actor: 'dana.oncall',
        slackResponders: ['U0DANA001'],
      });
      await settled(key, (state) => state.steps.slackPin?.status === 'done' && state.steps.slackInvite?.status === 'done');
      await handle.signal(noteSignal, { by: 'sam.sre', note: 'looking at the load balancer', via: 'slack', id: 'note-1' });
      await handle.signal(noteSignal, { by: 'sam.sre', note: 'looking at the load balancer', via: 'slack', id: 'note-1' });
      await handle.signal('note', { by: 'sam.sre' });
      await handle
        .executeUpdate(noteUpdate, { args: [{ by: 'sam.sre', note: 'again', via: 'slack', id: 'note-1' }] })
        .catch(() => undefined);
      await handle.executeUpdate(noteUpdate, {
        args: [{ by: 'dana.oncall', note: 'rolled back the deploy', via: 'slack', id: 'note-2' }],
        updateId: 'slack-note-2',
      });
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'dana.oncall', note: 'on it', via: 'slack' }] });
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'dana.oncall', note: 'errors back to normal', via: 'slack' }] });
      await handle.result();
      await save('slash-declared-noted-resolved', key);
    },
  },
  // Recorded with the postmortem step (issue 12, the postmortem-v1 patch): after each close-out the
  // record goes on the Jira ticket, once per resolve.
  {
    name: 'postmortem-resolved-reopened-resolved',
    /* Resolved (close-out, then the postmortem), alerting again during the close-out (held, then reopened in the same room), resolved again. */
    async record() {
      const id = 'PPMTWICE01';
      const key = incidentKey('pagerduty', id);
      await dispatcher.dispatch(event(id, 'trigger'));
      await settled(key, (state) => state.steps.timelinePost?.status === 'done' && state.steps.slackPin?.status === 'done');
      await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall', note: 'rolled back 4.2.1' }));
      // The close-out has begun: the new alert waits for it (postmortem included), then reopens the incident before the archive.
      await settled(key, (state) => state.status === 'resolved' && state.steps.jiraComment !== undefined);
      await dispatcher.dispatch(event(id, 'trigger'));
      await settled(key, (state) => state.status === 'triggered' && state.steps.postmortem?.status === 'done');
      await dispatcher.dispatch(event(id, 'resolve', { actor: 'Dana Oncall', note: 'for good this time' }));
      const result = (await client.workflow.getHandle(workflowIdFor(key)).result()) as { timeline: Array<{ what: string }> };
      const written = result.timeline.filter((entry) => entry.what === 'write the postmortem timeline on the Jira ticket').length;
      if (written !== 2) throw new Error(`expected two postmortems, the run wrote ${written}`);
      await save('postmortem-resolved-reopened-resolved', key);
    },
  },
];

const wanted = scenarios.filter((scenario) => !existsSync(historyFile(scenario.name)));
process.stdout.write(
  `recording ${wanted.length} new scenario(s); ${scenarios.length - wanted.length} already recorded, kept as they are\n`,
);
for (const scenario of wanted) await scenario.record();

await stack.stop();
