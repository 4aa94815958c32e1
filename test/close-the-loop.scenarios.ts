/**
 * Issue 4's end-to-end scenarios (status page, state sync, Slack buttons, failure alerts, change
 * events) on a real Temporal server with every vendor fake. Run by close-the-loop.test.ts with the
 * worker's normal cache, and by every-task-replays.test.ts with no workflow cache at all, so
 * every workflow task of every path replays its history (issue 5, scenario 8).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { statusPageQuery, statusPageWorkflowId, type StatusPageState } from '../src/shared/messages.js';
import type { JiraFake } from './fakes/jira.js';
import { SPECS_PRESENT } from './fakes/openapi.js';
import type { PagerDutyEventsFake } from './fakes/pagerduty-events.js';
import type { PagerDutyFake } from './fakes/pagerduty.js';
import type { SlackFake } from './fakes/slack.js';
import type { StatusCastFake } from './fakes/statuscast.js';
import type { VictorOpsFake } from './fakes/victorops.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness, type HarnessOptions } from './harness.js';
import { fixture, fixtureJson } from './samples.js';
import { signSlack } from './signing.js';

const API_TOKEN = 'api-token-for-close-the-loop';
const SIGNING_SECRET = 'slack-signing-secret-for-close-the-loop';
const VO_TOKEN = 'vo-outgoing-token-for-close-the-loop';
const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };

/** Monitor templates; the combined monitor's name is unique per suite, since its run's id is global to the namespace. */
const monitors = (combined: string) => `
monitors:
  - name: checkout-api
    affectedComponents: [20609]
    subject: "Checkout: {title}"
    closingComment: Checkout is operating normally.
  - name: search-api
    waitTime: 3s
    closingComment: Search has recovered.
  - name: flapping-api
    waitTime: 10m
  - name: billing-api
    autoPublish: false
    autoClose: false
  - name: ${combined}
    combineAlerts: true
    subject: "Orders degraded"
    closingComment: Orders are back to normal.
  - name: orders-db
    affectedComponents: [20610]
`;

/** Registers the scenarios; `options` reach the harness (e.g. `maxCachedWorkflows: 0`). */
export function closeTheLoopScenarios(options: Pick<HarnessOptions, 'maxCachedWorkflows'> = {}): void {
  const ORDERS = `orders-api-${uniqueId().toLowerCase()}`;
  let h: Harness;
  let jira: JiraFake;
  let slack: SlackFake;
  let pd: PagerDutyFake;
  let events: PagerDutyEventsFake;
  let vo: VictorOpsFake;
  let statuscast: StatusCastFake;

  beforeAll(async () => {
    h = await startHarness({
      ...options,
      fakes: { slack: { seed: 11 } },
      monitors: monitors(ORDERS),
      env: {
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_ARCHIVE_DELAY: '1s',
        WARROOM_API_TOKEN: API_TOKEN,
        VICTOROPS_WEBHOOK_TOKEN: VO_TOKEN,
        TEMPORAL_UI_URL: 'http://localhost:8233',
      },
    });
    ({ jira, slack, pagerduty: pd, pagerdutyEvents: events, victorops: vo, statuscast } = h.fakes);
  });

  afterEach(() => {
    jira.requiredFields = {};
    h.fakes.heal();
  });

  afterAll(async () => {
    await h?.stop();
  });

  /** Opens an incident through the generic API for a service (a monitor name). */
  async function openApiIncident(service: string, title = `${service} errors`): Promise<string> {
    const id = uniqueId('cl-');
    const answer = await h.post('/incidents', JSON.stringify({ id, title, severity: 'critical', service }), api);
    expect(answer.status).toBe(202);
    return incidentKey('api', id);
  }

  /**
   * Resolves through the API as a careful caller does: a 503 (the run did not answer in time, as
   * happens with no workflow cache on a loaded machine) is sent again, and then "already resolved"
   * means the first one was applied late.
   */
  async function resolveApiIncident(key: string, by = 'ana@example.com'): Promise<void> {
    let answer = await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by }), api);
    for (let retries = 0; answer.status === 503 && retries < 5; retries += 1) {
      answer = await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by }), api);
      if (answer.status === 409) expect(answer.body).toEqual({ error: 'already resolved' });
      if (answer.status === 409) return;
    }
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'resolved', incident: { status: 'resolved', resolvedBy: by } } });
  }

  async function stepDone(key: string, step: keyof IncidentState['steps'], timeoutMs = 30_000): Promise<IncidentState> {
    return eventually(
      `${key}'s ${step} done`,
      async () => {
        const state = await h.state(key);
        return state.steps[step]?.status === 'done' && state;
      },
      { timeoutMs },
    );
  }

  async function finished(key: string): Promise<IncidentState> {
    return (await h.client.workflow.getHandle(workflowIdFor(key)).result()) as IncidentState;
  }

  const statusCastIncident = (externalId: string) =>
    [...statuscast.incidents.values()].filter((incident) => incident.externalId === externalId);

  /** A Slack button click, signed as Slack signs it (v0, HMAC-SHA256 over `v0:ts:body`). */
  function slackClick(
    actionId: 'warroom_acknowledge' | 'warroom_resolve',
    key: string,
    options: { secret?: string; ageSeconds?: number } = {},
  ) {
    const payload = fixtureJson('slack-interactive-block-actions.json');
    payload.actions = [{ type: 'button', block_id: 'incident_actions', action_id: actionId, value: key, action_ts: '1773480555.221190' }];
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0));
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      ...signSlack(body, options.secret ?? SIGNING_SECRET, timestamp),
    };
    return { body, headers, actor: payload.user.name as string };
  }

  /**
   * Clicks a button as a person does: when Slack shows the click failed (a 503: the run did not
   * answer within Slack's three seconds, as with no workflow cache on a loaded machine), click again.
   * A click applied late is then answered "already ..." with a 200, which is what the person sees.
   */
  async function pressSlackButton(click: ReturnType<typeof slackClick>): Promise<void> {
    let answer = await h.post('/slack/interactions', click.body, click.headers);
    for (let again = 0; answer.status === 503 && again < 5; again += 1)
      answer = await h.post('/slack/interactions', click.body, click.headers);
    expect(answer.status).toBe(200);
  }

  /** A PagerDuty v3 webhook body from the samples, for an incident the PagerDuty fake knows. */
  function pagerDutyBody(file: string, incidentId: string): string {
    const body = fixtureJson(file);
    body.event.id = uniqueId('EV');
    body.event.data.id = incidentId;
    return JSON.stringify(body);
  }

  describe('status page (StatusCast)', () => {
    it('posts nothing when the incident resolves within the wait time, and says so on the timeline', async () => {
      // A wait far longer than any test run: however loaded the machine, the resolve lands within it.
      const key = await openApiIncident('flapping-api');
      await eventually(`${key}'s status page waiting`, async () => (await h.state(key)).steps.statusPage?.status === 'pending');
      await resolveApiIncident(key);
      const state = await finished(key);
      expect(state.steps.statusPage).toMatchObject({
        status: 'skipped',
        detail: expect.stringContaining('resolved within the 600 s wait time'),
      });
      expect(state.timeline.map((entry) => entry.detail)).toContain('resolved within the 600 s wait time: nothing posted');
      expect(statusCastIncident(key)).toEqual([]);
      expect(statuscast.requests.filter((request) => request.body && JSON.stringify(request.body).includes(key))).toEqual([]);
    });

    it('posts one incident after the wait time and closes it with the closing comment on resolve', async () => {
      const key = await openApiIncident('search-api', 'Search latency');
      const opened = await stepDone(key, 'statusPage');
      const [incident] = statusCastIncident(key);
      expect(statusCastIncident(key)).toHaveLength(1);
      expect(incident!.status).toBe('InProgress');
      expect(Date.parse(incident!.dateCreated) - Date.parse(opened.triggeredAt)).toBeGreaterThanOrEqual(3000);
      await resolveApiIncident(key);
      const state = await finished(key);
      expect(state.steps.statusPageClose?.status).toBe('done');
      expect(incident!.status).toBe('Closed');
      const closing = incident!.posts.filter((post) => post.postType === 'Closed');
      expect(closing).toHaveLength(1);
      expect(closing[0]!.text).toBe('Search has recovered.');
      expect(statuscast.requests.filter((request) => request.refused)).toEqual([]);
    });

    it('saves a draft when auto-publish is off and leaves it open for a human when auto-close is off', async () => {
      const key = await openApiIncident('billing-api');
      await stepDone(key, 'statusPage');
      const [incident] = statusCastIncident(key);
      expect(incident!.status).toBe('Draft');
      await resolveApiIncident(key);
      const state = await finished(key);
      expect(state.steps.statusPageClose).toMatchObject({ status: 'skipped', detail: expect.stringContaining('auto-close is off') });
      expect(incident!.status).toBe('Draft');
      expect(incident!.posts.some((post) => post.postType === 'Closed')).toBe(false);
    });

    it('combines three incidents of one monitor into one StatusCast incident, closed only when the third resolves', async () => {
      const keys = [await openApiIncident(ORDERS, 'Orders 502s'), await openApiIncident(ORDERS), await openApiIncident(ORDERS)];
      for (const key of keys) await stepDone(key, 'statusPage');
      const monitor = h.client.workflow.getHandle(statusPageWorkflowId(ORDERS));
      const page = await eventually('three incidents attached to the combined status page', async () => {
        const current = await monitor.query(statusPageQuery);
        return current.attached.length === 3 && current.statusPageId !== undefined && current;
      });
      const combined = [...statuscast.incidents.values()].filter((incident) =>
        incident.externalId?.startsWith(statusPageWorkflowId(ORDERS)),
      );
      expect(combined).toHaveLength(1);
      expect(String(combined[0]!.id)).toBe(page.statusPageId);
      expect(combined[0]!.title).toBe('Orders degraded');

      await resolveApiIncident(keys[0]!);
      await resolveApiIncident(keys[1]!);
      await finished(keys[0]!);
      await finished(keys[1]!);
      await eventually(
        'one incident left on the combined status page',
        async () => (await monitor.query(statusPageQuery)).attached.length === 1,
      );
      expect(combined[0]!.status).toBe('InProgress');

      await resolveApiIncident(keys[2]!);
      await finished(keys[2]!);
      const closed = (await monitor.result()) as StatusPageState;
      expect(closed).toMatchObject({ closed: true, attached: [] });
      expect([...closed.incidents].sort()).toEqual([...keys].sort());
      expect(combined[0]!.status).toBe('Closed');
      expect(combined[0]!.posts.filter((post) => post.postType === 'Closed').map((post) => post.text)).toEqual([
        'Orders are back to normal.',
      ]);
      expect(
        [...statuscast.incidents.values()].filter((incident) => incident.externalId?.startsWith(statusPageWorkflowId(ORDERS))),
      ).toHaveLength(1);
    });
  });

  describe('resolve from a Slack button', () => {
    it('resolves the PagerDuty incident once, transitions Jira, closes the status page, and the echo webhook changes nothing', async () => {
      const incident = pd.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
      const key = incidentKey('pagerduty', incident.id);
      expect((await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', incident.id))).status).toBe(202);
      await stepDone(key, 'slackPin');
      await stepDone(key, 'statusPage');

      const click = slackClick('warroom_resolve', key);
      await pressSlackButton(click);
      // PagerDuty sends its incident.resolved webhook as soon as warroom's PUT resolved it: an echo.
      // Posted at once, it reaches the run while it closes out or within the archive delay after.
      await stepDone(key, 'pagerdutySync');
      const putsBefore = pd.requests.filter((request) => request.method === 'PUT').length;
      expect((await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-resolved.json', incident.id))).status).toBe(202);
      const state = await eventually(`${key} closed out after the PagerDuty resolve`, async () => {
        const current = await h.state(key);
        const closed = (['pagerdutySync', 'statusPageClose', 'jiraTransition', 'slackSummaryUpdate'] as const).every(
          (step) => current.steps[step]?.status === 'done',
        );
        return closed && current.timeline.some((entry) => entry.what === 'resolve from pagerduty') && current;
      });
      expect(state).toMatchObject({ status: 'resolved', resolvedBy: click.actor });
      expect(state.timeline.find((entry) => entry.what === 'resolve from pagerduty')).toMatchObject({
        outcome: 'ignored',
        detail: "echo of warroom's own change",
      });
      expect(state.timeline).toEqual(expect.arrayContaining([expect.objectContaining({ what: 'resolve from slack', actor: click.actor })]));

      // PagerDuty: resolved once, by warroom's From user.
      expect(incident.status).toBe('resolved');
      expect(incident.changes.filter((change) => change.status === 'resolved')).toHaveLength(1);
      // Jira: commented and moved to done.
      const [issue] = jira.issuesWithLabel(`warroom-${key}`);
      expect(issue!.fields.status.statusCategory.key).toBe('done');
      // Status page: closed with the monitor's comment.
      const [page] = statusCastIncident(key);
      expect(page!.status).toBe('Closed');
      expect(page!.posts.at(-1)!.text).toBe('Checkout is operating normally.');
      // The summary shows the new state.
      const channelId = state.steps.slackChannel!.ref!;
      const summary = slack.messages(channelId).find((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary);
      expect(JSON.stringify(summary!.blocks)).toMatch(/[Rr]esolved/);

      // The echo changed nothing: no second PUT, no second status message, no reopen.
      const final = await finished(key);
      expect(final.status).toBe('resolved');
      expect(pd.requests.filter((request) => request.method === 'PUT')).toHaveLength(putsBefore);
      expect(incident.changes.filter((change) => change.status === 'resolved')).toHaveLength(1);
      const statusMessages = slack.messages(channelId).filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.status);
      expect(statusMessages).toHaveLength(1);
    });

    it('sends VictorOps one RECOVERY for a VictorOps incident, and the outgoing webhook it sends back changes nothing', async () => {
      const number = String(Math.floor(Math.random() * 1e8));
      const key = incidentKey('victorops', number);
      const raw = fixture('victorops-escalation.form-urlencoded.txt').toString().replace('incident=2231', `incident=${number}`);
      const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-warroom-token': VO_TOKEN };
      expect((await h.post('/webhooks/victorops', raw, headers)).status).toBe(202);
      const opened = await stepDone(key, 'slackPin');
      const entityId = opened.details!.entity_id!;

      const click = slackClick('warroom_resolve', key);
      await pressSlackButton(click);
      await stepDone(key, 'victoropsSync');
      const recoveries = () => vo.timeline(entityId).filter((alert) => alert.messageType === 'RECOVERY');
      expect(recoveries()).toHaveLength(1);
      expect(recoveries()[0]).toMatchObject({ entityId });

      // VictorOps's outgoing webhook for that RECOVERY carries warroom's own monitoring_tool.
      const echo = fixtureJson('victorops-outgoing-resolved.json');
      echo['INCIDENT.INCIDENT_ID'] = number;
      echo['ALERT.monitoring_tool'] = recoveries()[0]!.fields.monitoring_tool;
      echo['ALERT.entity_id'] = entityId;
      const answer = await h.post('/webhooks/victorops', JSON.stringify(echo), {
        'content-type': 'application/json',
        'x-warroom-token': VO_TOKEN,
      });
      expect(answer.status).toBe(200);
      const state = await finished(key);
      expect(state.timeline.filter((entry) => entry.what.startsWith('resolve'))).toHaveLength(1);
      expect(recoveries()).toHaveLength(1);
      expect(vo.count(entityId, 'ACKNOWLEDGEMENT')).toBe(0);
    });

    it('acknowledges from Slack: PagerDuty acknowledged once, the summary shows who, and the ack echo is ignored', async () => {
      const incident = pd.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
      const key = incidentKey('pagerduty', incident.id);
      await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', incident.id));
      await stepDone(key, 'slackPin');
      const click = slackClick('warroom_acknowledge', key);
      await pressSlackButton(click);
      await stepDone(key, 'pagerdutySync');
      expect(incident.status).toBe('acknowledged');
      await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-acknowledged.json', incident.id));
      const state = await eventually(`the acknowledge from PagerDuty on ${key}'s timeline`, async () => {
        const current = await h.state(key);
        return current.timeline.some((entry) => entry.what === 'acknowledge from pagerduty') && current;
      });
      expect(state).toMatchObject({ status: 'acknowledged', acknowledgedBy: click.actor });
      expect(state.timeline.find((entry) => entry.what === 'acknowledge from pagerduty')).toMatchObject({
        outcome: 'ignored',
        detail: "echo of warroom's own change",
      });
      expect(incident.changes.filter((change) => change.status === 'acknowledged')).toHaveLength(1);
      await resolveApiIncident(key);
      await finished(key);
    });

    it.each([
      ['a wrong secret', { secret: 'not-the-secret' }],
      ['a timestamp older than 5 minutes', { ageSeconds: 301 }],
    ])('refuses a click with %s with 401 and changes nothing', async (_case, options) => {
      const key = await openApiIncident('no-monitor');
      await stepDone(key, 'slackChannel');
      const click = slackClick('warroom_resolve', key, options);
      expect((await h.post('/slack/interactions', click.body, click.headers)).status).toBe(401);
      const state = await h.state(key);
      expect(state.status).toBe('triggered');
      expect(state.timeline.some((entry) => entry.what.includes('slack'))).toBe(false);
      await resolveApiIncident(key);
      await finished(key);
    });
  });

  describe('automation failures page someone', () => {
    it('raises one PagerDuty alert for a step that fails for good, and resolves it when a retry succeeds', async () => {
      jira.requiredFields = { customfield_10050: 'Customer impact' };
      const key = await openApiIncident('no-monitor', 'Ledger drift');
      const dedupKey = `warroom-${key}-jiraTicket`;
      const failed = await eventually(`${key}'s ticket failed and a failure alert raised`, async () => {
        const state = await h.state(key);
        return state.steps.jiraTicket?.status === 'failed' && events.alerts.get(dedupKey) && state;
      });
      expect(failed.steps.jiraTicket!.detail).toContain('Customer impact is required');
      const alert = events.alerts.get(dedupKey)!;
      expect(alert).toMatchObject({ status: 'triggered', triggers: 1 });
      expect(String(alert.lastPayload.summary)).toContain(key);
      await eventually(`the failure alert on ${key}'s timeline`, async () =>
        (await h.state(key)).timeline.some((entry) => entry.what.startsWith('page someone')),
      );

      // The Jira admin removes the required field; an operator asks for a retry.
      jira.requiredFields = {};
      expect(await h.post(`/incidents/${key}/retry`, JSON.stringify({ by: 'ops@example.com' }), api)).toMatchObject({
        status: 200,
        body: { outcome: 'retrying', retrying: ['open Jira ticket'] },
      });
      const state = await stepDone(key, 'jiraTicket');
      await eventually(`the failure alert for ${key} resolved`, async () => events.alerts.get(dedupKey)?.status === 'resolved');
      expect(jira.issuesWithLabel(`warroom-${key}`)).toHaveLength(1);
      expect(events.alerts.get(dedupKey)).toMatchObject({ triggers: 1, resolves: 1 });
      expect(state.timeline).toEqual(
        expect.arrayContaining([expect.objectContaining({ what: 'retry failed steps', actor: 'ops@example.com' })]),
      );
      await eventually(`${key}'s ticket failure cleared`, async () => (await h.state(key)).failures?.jiraTicket === undefined);
      await resolveApiIncident(key);
      await finished(key);
    });

    it('finishes a retry that arrives while the run is completing: the archive is retried, its alert resolved, nothing left pending', async () => {
      const key = await openApiIncident('no-monitor', 'Archive refused');
      const opened = await stepDone(key, 'slackPin');
      const room = slack.state.channels.find((channel) => channel.id === opened.steps.slackChannel!.ref)!;
      // The bot is removed from the room, so archiving it is refused for good (not_in_channel);
      // the failure alert is slow, so the run is still completing when the retry arrives. On 0.1's
      // code the retry succeeded before the alert was raised, and the alert stayed open for good.
      room.members.delete(slack.bot.userId);
      events.faults.set('createV2Event', { latencyMs: 4000 });
      await resolveApiIncident(key);
      await eventually(`${key}'s archive refused`, async () => (await h.state(key)).steps.slackArchive?.status === 'failed');
      room.members.add(slack.bot.userId);
      expect(await h.post(`/incidents/${key}/retry`, JSON.stringify({ by: 'ops@example.com' }), api)).toMatchObject({
        status: 200,
        body: { outcome: 'retrying', retrying: ['archive the Slack channel'] },
      });
      const state = await finished(key);
      expect(state.steps.slackArchive).toMatchObject({ status: 'done', detail: 'channel archived' });
      expect(state.failures ?? {}).toEqual({});
      expect(room.isArchived).toBe(true);
      const alert = `warroom-${key}-slackArchive`;
      expect(events.alerts.get(alert)).toMatchObject({ status: 'resolved', triggers: 1, resolves: 1 });
      expect(state.timeline.map((entry) => entry.what)).toEqual(
        expect.arrayContaining([
          'archive the Slack channel',
          'retry failed steps',
          'page someone: "archive the Slack channel" failed',
          'resolve the alert for "archive the Slack channel"',
        ]),
      );
    });
  });

  describe('PagerDuty change events', () => {
    it('sends one change event per action: ticket, room, status page and resolve', async () => {
      const key = await openApiIncident('orders-db', 'Orders DB failover');
      await stepDone(key, 'changeStatusPage');
      await stepDone(key, 'changeRoom');
      await stepDone(key, 'changeTicket');
      await resolveApiIncident(key);
      await finished(key);
      const mine = events.changeEvents.filter((event) => JSON.stringify(event.payload).includes(key));
      const actions = mine.map((event) => (event.payload.custom_details as Record<string, unknown>).action).sort();
      expect(actions).toEqual(['resolved', 'room', 'statusPage', 'ticket']);
      const resolved = mine.find((event) => (event.payload.custom_details as Record<string, unknown>).action === 'resolved')!;
      expect(String(resolved.payload.summary)).toContain('resolved by ana@example.com via');
      expect(mine.every((event) => event.keyName === 'changeRoutingKey')).toBe(true);
      expect(events.responseProblems).toEqual([]);
      // Every event request was checked against the Events API v2 spec (where ../shared/specs is present).
      const verdicts = new Set(
        events.requests.filter((request) => request.operationId === 'createChangeEvent').map((request) => request.spec),
      );
      expect([...verdicts]).toEqual([SPECS_PRESENT ? 'ok' : 'unchecked']);
    });
  });
}
