import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { channelName, SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import type { JiraFake } from './fakes/jira.js';
import type { PagerDutyFake } from './fakes/pagerduty.js';
import type { SlackFake } from './fakes/slack.js';
import type { VictorOpsFake } from './fakes/victorops.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixture, fixtureJson } from './samples.js';

const TEMPLATE = 'team-relay-production-incident-{id}';
const ANNOUNCE = 'incidents';

let h: Harness;
let jira: JiraFake;
let slack: SlackFake;
let pd: PagerDutyFake;
let vo: VictorOpsFake;

beforeAll(async () => {
  h = await startHarness({
    fakes: { slack: { seed: 7 }, configure: ['jira', 'slack', 'pagerduty', 'victorops'], announceChannel: ANNOUNCE },
    env: {
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com,nobody@example.com',
      SLACK_ARCHIVE_DELAY: '2s',
      TEMPORAL_UI_URL: 'http://localhost:8233',
    },
  });
  ({ jira, slack, pagerduty: pd, victorops: vo } = h.fakes);
});

afterEach(() => {
  h.fakes.heal();
  jira.searchLagMs = 0;
});

afterAll(async () => {
  await h?.stop();
});

/** A PagerDuty v3 body from the samples, for an incident the PagerDuty fake knows. */
function pagerDutyBody(file: string, incidentId: string, eventId = uniqueId('EV')): string {
  const body = fixtureJson(file);
  body.event.id = eventId;
  body.event.data.id = incidentId;
  return JSON.stringify(body);
}

async function openPagerDutyIncident(): Promise<{ id: string; key: string }> {
  const incident = pd.addIncident({ title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
  return { id: incident.id, key: incidentKey('pagerduty', incident.id) };
}

/** Waits until the war room is complete: ticket, channel, summary pinned, timeline post. */
async function warRoomReady(key: string, timeoutMs = 60_000): Promise<IncidentState> {
  return eventually(
    `${key}'s war room complete`,
    async () => {
      const state = await h.state(key);
      const settled = (['jiraTicket', 'slackChannel', 'slackPin', 'slackTopic', 'slackAnnounce', 'timelinePost'] as const).every(
        (step) => state.steps[step]?.status === 'done',
      );
      return settled && state;
    },
    { timeoutMs },
  );
}

function label(key: string) {
  return `warroom-${key}`;
}

function adfText(node: unknown): string {
  if (!node || typeof node !== 'object') return '';
  const { text, content, marks } = node as { text?: string; content?: unknown[]; marks?: { attrs?: { href?: string } }[] };
  const href = marks?.map((mark) => mark.attrs?.href ?? '').join(' ') ?? '';
  return `${text ?? ''} ${href} ${(content ?? []).map(adfText).join(' ')}`;
}

describe('the war room', () => {
  it('opens one ticket, one channel with responders, topic and pinned summary, and posts the links on the PagerDuty incident', async () => {
    const { id, key } = await openPagerDutyIncident();
    expect(await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', id))).toMatchObject({ status: 202 });
    const state = await warRoomReady(key);

    const issues = jira.issuesWithLabel(label(key));
    expect(issues).toHaveLength(1);
    const issue = issues[0]!;
    expect(issue.key).toMatch(/^RLY-\d+$/);
    expect(issue.fields.summary).toBe('checkout-api: 5xx rate above 5% for 10 minutes');
    expect(issue.fields.description.type).toBe('doc');
    expect(adfText(issue.fields.description)).toContain('https://example-co.pagerduty.com/incidents/Q1INC0001');
    expect(adfText(issue.fields.description)).toContain(`http://localhost:8233/namespaces/default/workflows/${workflowIdFor(key)}`);

    const channel = slack.channelByName(channelName(TEMPLATE, id));
    expect(channel).toBeDefined();
    expect(channel!.name).toBe(`team-relay-production-incident-${id.toLowerCase()}`);
    expect([...channel!.members]).toEqual(expect.arrayContaining(['U0DANA001', 'U0SAMSRE01', slack.bot.userId]));
    expect(state.steps.slackInvite?.detail).toContain('nobody@example.com');
    expect(channel!.topic.value).toContain(issue.key);
    expect(channel!.topic.value.length).toBeLessThanOrEqual(250);

    const summaries = slack.messages(channel!.id).filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary);
    expect(summaries).toHaveLength(1);
    expect(channel!.pins.has(summaries[0]!.ts)).toBe(true);
    const actions = JSON.stringify(summaries[0]!.blocks);
    expect(actions).toContain('warroom_acknowledge');
    expect(actions).toContain('warroom_resolve');
    expect(actions).toContain(issue.key);
    const announced = slack
      .messages(slack.channelByName(ANNOUNCE)!.id)
      .filter((m) => m.metadata?.event_type === SLACK_EVENT_TYPES.announcement);
    expect(announced.filter((m) => JSON.stringify(m.metadata).includes(key))).toHaveLength(1);

    const notes = pd.state.incidents.get(id)!.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]!.content).toContain(issue.key);
    expect(notes[0]!.content).toContain(channel!.id);

    expect(jira.refusals()).toEqual([]);
    expect(jira.v2Requests()).toEqual([]);
    expect(slack.problems()).toEqual([]);
    expect(pd.requests.filter((request) => request.refused)).toEqual([]);
  });

  it('closes out on resolve: comment and done transition, summary and channel told, channel archived after the delay', async () => {
    const { id, key } = await openPagerDutyIncident();
    await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', id));
    await warRoomReady(key);
    await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-acknowledged.json', id));
    await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-resolved.json', id));
    const result = (await h.client.workflow.getHandle(workflowIdFor(key)).result()) as IncidentState;

    const issue = jira.issuesWithLabel(label(key))[0]!;
    expect(issue.fields.status.statusCategory.key).toBe('done');
    // The resolve comment, then the postmortem timeline (issue 12).
    expect(issue.comments).toHaveLength(2);
    expect(adfText(issue.comments[0]!.body)).toContain('Resolved by');
    expect(adfText(issue.comments[1]!.body)).toContain('Postmortem timeline');
    expect(result.steps.postmortem?.status).toBe('done');

    const channel = slack.channelByName(channelName(TEMPLATE, id))!;
    expect(channel.isArchived).toBe(true);
    const messages = slack.messages(channel.id);
    const statusMessages = messages.filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.status);
    expect(statusMessages.map((message) => message.text).join('\n')).toMatch(/acknowledged/i);
    expect(statusMessages.map((message) => message.text).join('\n')).toMatch(/resolved/i);
    const summary = messages.find((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary)!;
    expect(JSON.stringify(summary.blocks)).not.toContain('warroom_resolve');
    expect(result.steps.slackArchive?.status).toBe('done');
    expect(result.steps.jiraTransition?.status).toBe('done');
    expect(slack.problems()).toEqual([]);
  });

  it('posts an INFO note on the VictorOps incident timeline, never a state change', async () => {
    const number = String(Math.floor(Math.random() * 1e9));
    const key = incidentKey('victorops', number);
    const raw = fixture('victorops-escalation.form-urlencoded.txt').toString().replace('incident=2231', `incident=${number}`);
    expect(await h.post('/webhooks/victorops', raw, { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({
      status: 202,
    });
    await warRoomReady(key);
    const posts = vo.timeline('orders-db/replication-lag').filter((alert) => JSON.stringify(alert.fields).includes(workflowIdFor(key)));
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ messageType: 'INFO', fields: { monitoring_tool: 'warroom' } });
    const issue = jira.issuesWithLabel(label(key))[0]!;
    expect(JSON.stringify(posts[0]!.fields)).toContain(issue.key);
    expect(vo.state.alerts.filter((alert) => alert.messageType !== 'INFO')).toEqual([]);
  });

  it('makes a valid channel name from an awkward id', async () => {
    const awkward = `Checkout.API Prod ${'X'.repeat(120)}`;
    const key = incidentKey('api', awkward);
    await h.post('/incidents', JSON.stringify({ id: awkward, title: 'awkward' }));
    const state = await eventually(`${key}'s summary pinned`, async () => {
      const current = await h.state(key);
      return current.steps.slackPin?.status === 'done' && current;
    });
    const name = state.steps.slackChannel!.name!;
    expect(name).toMatch(/^[a-z0-9_-]{1,80}$/);
    expect(slack.channelByName(name)).toBeDefined();
  });

  it('opens the room at once when Jira is down, says the ticket is pending, and catches up when Jira returns', async () => {
    const { id, key } = await openPagerDutyIncident();
    jira.faults.set('*', { errorRate: 1 });
    await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', id));
    const pending = await eventually(
      `${key}'s summary and topic with the ticket pending`,
      async () => {
        const current = await h.state(key);
        return current.steps.slackSummary?.status === 'done' && current.steps.slackTopic?.status === 'done' && current;
      },
      { timeoutMs: 30_000 },
    );
    expect(pending.steps.jiraTicket?.status).toBe('pending');
    const channel = slack.channelByName(channelName(TEMPLATE, id))!;
    expect(channel.topic.value).toMatch(/pending/i);
    expect(pd.state.incidents.get(id)!.notes).toHaveLength(0);

    jira.faults.clear();
    await warRoomReady(key);
    const issue = jira.issuesWithLabel(label(key))[0]!;
    await eventually(`the topic of #${channel.name} to show ${issue.key}`, async () =>
      slack.channelByName(channel.name)!.topic.value.includes(issue.key),
    );
    const summary = slack.messages(channel.id).find((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary)!;
    await eventually(`the summary in #${channel.name} to show ${issue.key}`, async () =>
      JSON.stringify(slack.messages(channel.id).find((m) => m.ts === summary.ts)!.blocks).includes(issue.key),
    );
    expect(pd.state.incidents.get(id)!.notes).toHaveLength(1);
  });

  it('keeps exactly one ticket, channel and timeline post per incident under faults and duplicate deliveries, honouring Retry-After', async () => {
    jira.searchLagMs = 1000;
    jira.faults.set('createIssue', { applyThenFail: true });
    jira.faults.set('searchAndReconsileIssuesUsingJql', { rateLimit: { count: 2, retryAfterSeconds: 2 } });
    slack.faults.applyThenFail('conversations.create', 10);
    slack.faults.applyThenFail('chat.postMessage', 10);
    slack.faults.rateLimit('conversations.invite', 2, 2);
    slack.faults.errorRate('conversations.setTopic', 0.3);
    pd.faults.set('createIncidentNote', { applyThenFail: true });
    pd.faults.set('listIncidentNotes', { errorRate: 0.3 });

    const incidents = await Promise.all(Array.from({ length: 3 }, () => openPagerDutyIncident()));
    const deliveries = incidents.flatMap(({ id }) => {
      const body = pagerDutyBody('pagerduty-v3-incident-triggered.json', id, uniqueId('EV'));
      return Array.from({ length: 5 }, () => body);
    });
    const answers = await Promise.all(deliveries.sort(() => Math.random() - 0.5).map((body) => h.post('/webhooks/pagerduty', body)));
    expect(answers.every((answer) => answer.status === 202)).toBe(true);

    for (const { id, key } of incidents) {
      await warRoomReady(key, 90_000);
      expect(jira.issuesWithLabel(label(key))).toHaveLength(1);
      expect(slack.state.channels.filter((channel) => channel.name.startsWith(channelName(TEMPLATE, id)))).toHaveLength(1);
      const channel = slack.channelByName(channelName(TEMPLATE, id))!;
      expect(slack.messages(channel.id).filter((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary)).toHaveLength(1);
      expect(pd.state.incidents.get(id)!.notes).toHaveLength(1);
      // Visibility is eventually consistent: wait for the run to be listed, then there is exactly one.
      expect(await h.listedRuns(key)).toBe(1);
    }

    // After a 429 with Retry-After, that incident's next call to the method came no sooner than asked.
    const honoured = (calls: { receivedAt: number; status: number }[], afterMs: number) => {
      calls.forEach((call, index) => {
        const next = calls[index + 1];
        if (call.status === 429 && next) expect(next.receivedAt - call.receivedAt).toBeGreaterThanOrEqual(afterMs - 50);
      });
    };
    let limited = 0;
    for (const { id, key } of incidents) {
      const channel = slack.channelByName(channelName(TEMPLATE, id))!;
      const invites = slack.calls('conversations.invite').filter((call) => call.args.channel === channel.id);
      const searches = jira.requests.filter(
        (request) => request.operation === 'searchAndReconsileIssuesUsingJql' && (request.query.get('jql') ?? '').includes(label(key)),
      );
      honoured(invites, 2000);
      honoured(searches, 2000);
      limited += [...invites, ...searches].filter((call) => call.status === 429).length;
    }
    expect(limited).toBeGreaterThan(0);
  }, 150_000);

  it('keeps every token out of workflow histories and logs', async () => {
    const { id, key } = await openPagerDutyIncident();
    await h.post('/webhooks/pagerduty', pagerDutyBody('pagerduty-v3-incident-triggered.json', id));
    await warRoomReady(key);
    const history = JSON.stringify(await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory());
    const logs = h.logs.join('');
    for (const secret of [jira.apiToken, slack.token, pd.apiToken, vo.apiKey, vo.url]) {
      expect(history).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
