import { LogLevel, WebClient, type Logger } from '@slack/web-api';
import { asyncLocalStorage, type Context } from '@temporalio/activity';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SPECS_PRESENT } from './fakes/openapi.js';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../src/activities/errors.js';
import { ACKNOWLEDGE_ACTION, MAX_TOPIC, RESOLVE_ACTION } from '../src/activities/slack-blocks.js';
import { channelName, createSlackActivities, createSlackClient, SLACK_EVENT_TYPES, type SlackSettings } from '../src/activities/slack.js';
import type { StepInput, StepOutcome } from '../src/activities/step.js';
import { startSlackFake, WARROOM_BOT_SCOPES, type FakeChannel, type SlackFake } from './fakes/slack.js';
import { failureOf } from './activity-failures.js';
import { uniqueId } from './harness.js';
import { fixtureJson } from './samples.js';

/** WebClient logs refusals' response_metadata; the negative tests make plenty on purpose. */
const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const TEMPLATE = 'team-relay-production-incident-{id}';

let fake: SlackFake;
let specProblemsExpected: boolean;

beforeAll(async () => {
  fake = await startSlackFake();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  specProblemsExpected = false;
});
afterEach(() => {
  // Happy paths must only send what the Slack spec allows, and the fake must only answer what it documents.
  if (!specProblemsExpected) expect(fake.problems()).toEqual([]);
});

function settingsFor(overrides: Partial<SlackSettings> = {}): SlackSettings {
  return {
    botToken: fake.token,
    apiUrl: fake.url,
    channelTemplate: TEMPLATE,
    privateChannels: false,
    defaultResponders: [],
    archiveDelayMs: 1000,
    roomHoldMs: { error: 0, warning: 0, info: 0 },
    ...overrides,
  };
}

function slackFor(overrides: Partial<SlackSettings> = {}) {
  const settings = settingsFor(overrides);
  return createSlackActivities({ slack: createSlackClient(settings), settings });
}

function incident(overrides: Partial<StepInput> = {}): StepInput {
  const externalId = overrides.externalId ?? uniqueId('Q');
  return {
    key: `pagerduty-${externalId.toLowerCase()}`,
    workflowId: `incident-pagerduty-${externalId.toLowerCase()}`,
    source: 'pagerduty',
    externalId,
    title: 'orders-db replication lag > 300s',
    severity: 'critical',
    service: 'orders-db',
    status: 'triggered',
    links: [{ label: 'PagerDuty incident', url: `https://example.pagerduty.com/incidents/${externalId}` }],
    responders: [],
    assignees: [],
    refs: {},
    triggeredAt: new Date().toISOString(),
    ...overrides,
  };
}

type SlackActivities = ReturnType<typeof createSlackActivities>;

/** Opens the channel and returns the input the workflow would pass to the next steps. */
async function inRoom(slack: SlackActivities, input: StepInput): Promise<StepInput> {
  const outcome = await slack.openChannel(input);
  expect(outcome.status).toBe('done');
  const done = outcome as Extract<StepOutcome, { status: 'done' }>;
  return { ...input, channel: { id: done.ref as string, name: done.name, url: done.url } };
}

function done(outcome: StepOutcome): Extract<StepOutcome, { status: 'done' }> {
  expect(outcome.status, JSON.stringify(outcome)).toBe('done');
  return outcome as Extract<StepOutcome, { status: 'done' }>;
}

async function platformErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { data?: { error?: string } }).data?.error ?? (err as Error).message;
  }
  throw new Error('expected Slack to refuse');
}

function channelOf(input: StepInput): FakeChannel {
  const channel = fake.state.channels.find((candidate) => candidate.id === input.channel?.id);
  if (!channel) throw new Error('channel not in the fake');
  return channel;
}

const ownMessages = (channelId: string, eventType: string) =>
  fake.messages(channelId).filter((message) => message.metadata?.event_type === eventType);

describe('channelName', () => {
  it('makes valid, distinct names from awkward incident ids', () => {
    const ids = [
      'Q1INC0001',
      'INC.2231',
      'INC 2231',
      'inc-2231',
      'inc_2231',
      'a--b',
      'a-b',
      'Ünïcødé ⚠ incident',
      '...',
      'x'.repeat(120),
      `${'x'.repeat(119)}y`,
      `${'x'.repeat(120)}.`,
    ];
    const names = ids.map((id) => channelName(TEMPLATE, id));
    for (const name of names) {
      expect(name).toMatch(VALID_NAME);
      expect(name.length).toBeLessThanOrEqual(80);
    }
    expect(new Set(names).size).toBe(ids.length);
    expect(channelName(TEMPLATE, 'Q1INC0001')).toBe('team-relay-production-incident-q1inc0001');
    expect(channelName(TEMPLATE, '2231')).toBe('team-relay-production-incident-2231');
    expect(channelName(TEMPLATE, 'INC 2231')).toMatch(/^team-relay-production-incident-inc-2231-[0-9a-f]{8}$/);
    expect(channelName(undefined, '2231')).toBe('team-relay-production-incident-2231');
  });

  it('keeps any id valid, within 80 characters and distinct, with any suffix', () => {
    const templates = [TEMPLATE, 'INC {id} Room', `${'w'.repeat(78)}-{id}`, '{id}'];
    fc.assert(
      fc.property(
        fc.constantFrom(...templates),
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (template, a, b, attempt) => {
          const nameA = channelName(template, a, attempt);
          expect(nameA).toMatch(VALID_NAME);
          expect(nameA.length).toBeLessThanOrEqual(80);
          if (a.trim().toLowerCase() !== b.trim().toLowerCase()) expect(channelName(template, b, attempt)).not.toBe(nameA);
          if (attempt > 1) expect(nameA).not.toBe(channelName(template, a, 1));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the Slack fake', () => {
  const raw = (token: string = fake.token, url = fake.url) =>
    new WebClient(token, { slackApiUrl: url, retryConfig: { retries: 0 }, logger: quiet });

  it.skipIf(!SPECS_PRESENT)('checks requests against the shared Slack spec and answers like the samples', async () => {
    expect(fake.specSource).toBe('spec');
    const client = raw();
    const created = await client.conversations.create({ name: 'inc-2231-orders-db-lag' });
    const sample = fixtureJson('slack-conversations-create-response.json');
    expect(Object.keys(created.channel ?? {})).toEqual(expect.arrayContaining(Object.keys(sample.channel)));

    const user = await client.users.lookupByEmail({ email: 'dana.oncall@example.com' });
    const sampleUser = fixtureJson('slack-users-lookupByEmail-response.json').user;
    expect(user.user?.id).toBe(sampleUser.id);
    expect(Object.keys(user.user ?? {})).toEqual(expect.arrayContaining(Object.keys(sampleUser)));

    const posted = await client.chat.postMessage({ channel: created.channel?.id as string, text: 'hello' });
    const samplePost = fixtureJson('slack-chat-postMessage-response.json');
    expect(Object.keys(posted)).toEqual(expect.arrayContaining(Object.keys(samplePost)));
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);

    const pinned = await client.pins.add({ channel: created.channel?.id as string, timestamp: posted.ts as string });
    expect(pinned.ok).toBe(fixtureJson('slack-pins-add-response.json').ok);
    expect(await platformErrorOf(client.conversations.create({ name: 'inc-2231-orders-db-lag' }))).toBe(
      fixtureJson('slack-conversations-create-name-taken.json').error,
    );
    expect(await platformErrorOf(client.users.lookupByEmail({ email: 'nobody@example.com' }))).toBe(
      fixtureJson('slack-users-lookupByEmail-not-found.json').error,
    );
    const topic = await client.conversations.setTopic({ channel: created.channel?.id as string, topic: 'SEV1 | Jira OPS-812' });
    expect(Object.keys(topic.channel ?? {})).toEqual(
      expect.arrayContaining(Object.keys(fixtureJson('slack-conversations-setTopic-response.json').channel)),
    );
    // Every body above was also validated against the spec's response schema (afterEach).
  });

  it('refuses bad names, tokens, unknown methods and arguments the way Slack does', async () => {
    specProblemsExpected = true;
    const client = raw();
    expect(await platformErrorOf(client.conversations.create({ name: 'Has Caps' }))).toBe(
      fixtureJson('slack-conversations-create-invalid-name.json').error,
    );
    expect(await platformErrorOf(client.conversations.create({ name: 'x'.repeat(81) }))).toBe('invalid_name_maxlength');
    expect(await platformErrorOf(client.conversations.create({ name: '' }))).toBe('invalid_name_required');
    expect(await platformErrorOf(raw('xoxb-not-a-real-token').auth.test())).toBe('invalid_auth');
    expect(await platformErrorOf(raw('').auth.test())).toBe('not_authed');
    expect(await platformErrorOf(client.apiCall('conversations.info', {}))).toBe('invalid_arguments');
    expect(await platformErrorOf(client.apiCall('chat.postMessage', { channel: 'C0W0000001', text: 'x', colour: 'red' }))).toBe(
      'invalid_arg_name',
    );
    expect(await platformErrorOf(client.apiCall('conversations.list', { limit: 'many' }))).toBe('invalid_arguments');
    const unknown = await client.apiCall('conversations.nonsense').catch((err: unknown) => err);
    expect(unknown).toMatchObject({ statusCode: 404, body: { ok: false, error: 'unknown_method', req_method: 'conversations.nonsense' } });
    expect(fake.problems()).toEqual(
      expect.arrayContaining([
        'conversations.info: [ERROR] missing required field: channel',
        'chat.postMessage: [ERROR] unknown argument: colour',
        'conversations.list: [ERROR] invalid integer for field: limit',
        'conversations.nonsense: unknown method conversations.nonsense',
      ]),
    );
  });

  it("answers a rate-limited call with 429, Retry-After and Slack's body", async () => {
    fake.faults.rateLimit('auth.test', 1, 3);
    const response = await fetch(`${fake.url}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${fake.token}` } });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual(fixtureJson('slack-ratelimited-429-response.json'));
    expect((await raw().auth.test()).ok).toBe(true);
  });

  // Without the specs the process's first fake already printed the notice this test looks for.
  it.skipIf(!SPECS_PRESENT)(
    'says once that it cannot check requests when the shared spec is absent, and still refuses unknown arguments',
    async () => {
      specProblemsExpected = true;
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const first = await startSlackFake({ specPath: '/nonexistent/slack-web-api.openapi-v2.json' });
      const second = await startSlackFake({ specPath: '/nonexistent/slack-web-api.openapi-v2.json' });
      try {
        const notices = stderr.mock.calls.filter(([text]) => String(text).includes('NOT checked against the Slack Web API spec'));
        expect(notices).toHaveLength(1);
        expect(first.specSource).toBe('built-in');
        const client = raw(first.token, first.url);
        expect(await platformErrorOf(client.apiCall('pins.add', { channel: 'C0W0000001', timestamp: '1.1', colour: 'red' }))).toBe(
          'invalid_arg_name',
        );
      } finally {
        stderr.mockRestore();
        await Promise.all([first.stop(), second.stop()]);
      }
    },
  );

  it('ends a hung request when it stops', async () => {
    const hanging = await startSlackFake();
    hanging.faults.hang('auth.test');
    const client = raw(hanging.token, hanging.url);
    const pending = client.auth.test().catch((err: Error) => err);
    await vi.waitUntil(() => hanging.calls('auth.test').length === 1, { timeout: 10_000, interval: 10 });
    await hanging.stop();
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('Slack activities', () => {
  it('builds its own client from the settings when none is injected', async () => {
    const slack = createSlackActivities({ settings: settingsFor() });
    done(await slack.openChannel(incident()));
    expect(fake.calls('conversations.create')[0]?.bearer).toBe(true);
  });

  it('answers "not configured" for every step without settings', async () => {
    const slack = createSlackActivities({ slack: new WebClient(fake.token, { slackApiUrl: fake.url }) });
    const input = incident();
    for (const step of [
      slack.openChannel,
      slack.inviteResponders,
      slack.setChannelTopic,
      slack.postSummary,
      slack.pinSummary,
      slack.announceChannel,
      slack.updateSummary,
      slack.postStatusMessage,
      slack.archiveChannel,
    ]) {
      expect(await step(input)).toEqual({ status: 'skipped', detail: 'not configured (Slack)' });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('opens one channel when openChannel runs twice', async () => {
    const slack = slackFor();
    const input = incident({ externalId: 'Q1INC0001', key: 'pagerduty-q1inc0001' });
    const first = done(await slack.openChannel(input));
    const second = done(await slack.openChannel(input));
    expect(first.name).toBe('team-relay-production-incident-q1inc0001');
    expect(second.ref).toBe(first.ref);
    expect(first.url).toBe(`https://slack.com/app_redirect?channel=${first.ref}`);
    expect(second.detail).toContain('reused');
    expect(fake.state.channels.filter((channel) => channel.name.startsWith(first.name as string))).toHaveLength(1);
    expect(fake.calls('conversations.create')).toHaveLength(2);
  });

  it('creates private channels when SLACK_PRIVATE_CHANNELS is set, and reuses them too', async () => {
    const slack = slackFor({ privateChannels: true });
    const input = incident();
    const first = done(await slack.openChannel(input));
    expect(fake.state.channels.find((channel) => channel.id === first.ref)?.isPrivate).toBe(true);
    expect(done(await slack.openChannel(input)).ref).toBe(first.ref);
  });

  it('opens <name>-2 when an archived channel holds the name, and -3 past a foreign one', async () => {
    const slack = slackFor();
    const archived = incident();
    const base = channelName(TEMPLATE, archived.externalId);
    fake.addChannel({ name: base, creator: fake.bot.userId, members: [fake.bot.userId], isArchived: true });
    expect(done(await slack.openChannel(archived)).name).toBe(`${base}-2`);

    const foreign = incident();
    const taken = channelName(TEMPLATE, foreign.externalId);
    // Someone else's channel the bot was invited to is still not ours.
    fake.addChannel({ name: taken, members: [fake.bot.userId] });
    fake.addChannel({ name: `${taken}-2`, isPrivate: true });
    const opened = done(await slack.openChannel(foreign));
    expect(opened.name).toBe(`${taken}-3`);
    // A retry finds the -3 it made, past the two it does not own.
    expect(done(await slack.openChannel(foreign)).ref).toBe(opened.ref);
  });

  it('opens exactly one channel when Slack creates it but answers 500', async () => {
    const slack = slackFor();
    const input = incident({ externalId: 'INC.2231 Orders' });
    fake.faults.applyThenFail('conversations.create');
    const failure = await failureOf(slack.openChannel(input));
    expect(failure.type).toBe(UNAVAILABLE);
    expect(failure.nonRetryable).toBe(false);
    const retried = done(await slack.openChannel(input));
    expect(retried.name).toBe(channelName(TEMPLATE, input.externalId));
    expect(fake.state.channels).toHaveLength(1);
  });

  it('records unknown e-mails and people already in the channel without failing', async () => {
    const slack = slackFor({ defaultResponders: ['dana.oncall@example.com'] });
    const input = await inRoom(slack, incident({ responders: ['nobody@example.com', 'Sam.SRE@example.com'] }));
    channelOf(input).members.add('U0SAMSRE01');
    const outcome = done(await slack.inviteResponders({ ...input, inviteEmails: ['lee.dev@example.com', 'dana.oncall@example.com'] }));
    expect(outcome.detail).toContain('invited dana.oncall@example.com, lee.dev@example.com');
    expect(outcome.detail).toContain('already in the channel: sam.sre@example.com');
    expect(outcome.detail).toContain('no Slack user for nobody@example.com');
    expect([...channelOf(input).members]).toEqual(expect.arrayContaining(['U0DANA001', 'U0SAMSRE01', 'U0LEEDEV01']));

    const again = done(await slack.inviteResponders({ ...input, inviteEmails: ['lee.dev@example.com'] }));
    expect(again.detail).not.toContain('invited');
    expect(again.detail).toContain('already in the channel');
    expect(fake.calls('users.lookupByEmail').every((request) => request.status === 200)).toBe(true);
  });

  it('invites people known by their Slack id (who declared the incident) without a look-up, along with the e-mails', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident({ responders: ['lee.dev@example.com'], slackResponders: ['U0DANA001', 'U0GONE0001'] }));
    const lookups = fake.calls('users.lookupByEmail').length;
    const outcome = done(await slack.inviteResponders(input));
    expect(fake.calls('users.lookupByEmail')).toHaveLength(lookups + 1);
    expect(outcome.detail).toContain('invited U0DANA001, lee.dev@example.com');
    expect(outcome.detail).toContain('no longer a Slack user: U0GONE0001');
    expect([...channelOf(input).members]).toEqual(expect.arrayContaining(['U0DANA001', 'U0LEEDEV01']));
  });

  it('keeps the topic within 250 characters with severity and the Jira link, or says the ticket is pending', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident({ title: `Everything is on fire ${'and more '.repeat(40)}` }));
    const pending = done(await slack.setChannelTopic(input));
    expect(pending.detail).toContain('ticket pending');
    const ticket = { key: 'RLY-812', url: 'https://example.atlassian.net/browse/RLY-812' };
    done(await slack.setChannelTopic({ ...input, ticket }));
    const topic = channelOf(input).topic.value;
    expect(topic.length).toBeLessThanOrEqual(MAX_TOPIC);
    expect(topic).toContain('critical');
    expect(topic).toContain(`RLY-812 ${ticket.url}`);
    expect(topic).toContain('Everything is on fire');

    // A retry finds the topic set and does not set it (and announce it in the channel) again.
    expect(done(await slack.setChannelTopic({ ...input, ticket })).detail).toContain('already set');
    expect(fake.calls('conversations.setTopic')).toHaveLength(2);

    // A link too long for the topic gives way; the key stays.
    done(await slack.setChannelTopic({ ...input, ticket: { key: 'RLY-812', url: `${ticket.url}?${'x'.repeat(300)}` } }));
    expect(channelOf(input).topic.value).toMatch(/^Severity: critical \| Jira RLY-812 \| Everything is on fire/);
    expect(channelOf(input).topic.value.length).toBeLessThanOrEqual(MAX_TOPIC);
  });

  it('posts a summary with Acknowledge and Resolve buttons carrying the incident key, under the configured name, and pins it', async () => {
    const slack = slackFor({ username: 'Incident Bot', iconEmoji: ':rotating_light:' });
    const input = await inRoom(slack, incident());
    const posted = done(await slack.postSummary(input));
    const [message, ...others] = ownMessages(input.channel?.id as string, SLACK_EVENT_TYPES.summary);
    expect(others).toHaveLength(0);
    expect(message?.ts).toBe(posted.ref);
    expect(message?.username).toBe('Incident Bot');
    expect(message?.icons).toEqual({ emoji: ':rotating_light:' });
    expect(message?.metadata?.event_payload).toEqual({ incident_key: input.key });
    const actions = message?.blocks?.find((block) => (block as { type: string }).type === 'actions') as {
      elements: Array<{ action_id: string; value: string }>;
    };
    expect(actions.elements.map((button) => [button.action_id, button.value])).toEqual([
      [ACKNOWLEDGE_ACTION, input.key],
      [RESOLVE_ACTION, input.key],
    ]);
    const blocksText = JSON.stringify(message?.blocks);
    expect(blocksText).toContain('orders-db replication lag &gt; 300s'.replace('&gt;', '>'));
    expect(blocksText).toContain(`<https://example.pagerduty.com/incidents/${input.externalId}|PagerDuty ${input.externalId}>`);
    expect(blocksText).toContain('_ticket pending_');

    const summary = { channel: input.channel?.id as string, ts: posted.ref as string };
    done(await slack.pinSummary({ ...input, summary }));
    expect(done(await slack.pinSummary({ ...input, summary })).detail).toContain('already pinned');
    expect([...channelOf(input).pins]).toEqual([summary.ts]);
  });

  it('posts exactly one summary when Slack posts it but answers 500', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    fake.faults.applyThenFail('chat.postMessage');
    expect((await failureOf(slack.postSummary(input))).type).toBe(UNAVAILABLE);
    const retried = done(await slack.postSummary(input));
    const summaries = ownMessages(input.channel?.id as string, SLACK_EVENT_TYPES.summary);
    expect(summaries.map((message) => message.ts)).toEqual([retried.ref]);
    expect(retried.detail).toContain('earlier attempt');
  });

  it('updates the summary with the ticket and who acknowledged, and drops the buttons once resolved', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    const summary = { channel: input.channel?.id as string, ts: done(await slack.postSummary(input)).ref as string };
    const ticket = { key: 'RLY-9', url: 'https://example.atlassian.net/browse/RLY-9' };
    done(await slack.updateSummary({ ...input, summary, ticket, status: 'acknowledged', actor: 'dana' }));
    let message = fake.messages(summary.channel).find((candidate) => candidate.ts === summary.ts);
    expect(JSON.stringify(message?.blocks)).toContain('Acknowledged by dana');
    expect(JSON.stringify(message?.blocks)).toContain(`<${ticket.url}|RLY-9>`);
    expect(JSON.stringify(message?.blocks)).not.toContain(ACKNOWLEDGE_ACTION);
    expect(JSON.stringify(message?.blocks)).toContain(RESOLVE_ACTION);

    done(await slack.updateSummary({ ...input, summary, ticket, status: 'resolved', actor: 'sam' }));
    message = fake.messages(summary.channel).find((candidate) => candidate.ts === summary.ts);
    expect(JSON.stringify(message?.blocks)).toContain('Resolved by sam');
    expect(message?.blocks?.some((block) => (block as { type: string }).type === 'actions')).toBe(false);
    expect(message?.edited).toBeDefined();
  });

  it('tells the channel once per change of state, even when the post is retried', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    const acknowledged = { ...input, status: 'acknowledged' as const, actor: 'dana', note: 'looking at the replica' };
    fake.faults.applyThenFail('chat.postMessage');
    await failureOf(slack.postStatusMessage(acknowledged));
    done(await slack.postStatusMessage(acknowledged));
    done(await slack.postStatusMessage({ ...input, status: 'resolved', actor: 'sam', note: 'failed over' }));
    const told = ownMessages(input.channel?.id as string, SLACK_EVENT_TYPES.status).map((message) => message.text);
    expect(told).toEqual([':eyes: *Acknowledged by dana*: looking at the replica', ':white_check_mark: *Resolved by sam*: failed over']);
  });

  it('inside a workflow, tells the channel again when a later step repeats the same words', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    const acknowledged = { ...input, status: 'acknowledged' as const, actor: 'dana' };
    const asActivity = (activityId: string) =>
      asyncLocalStorage.run(
        { info: { activityId, workflowExecution: { workflowId: input.workflowId, runId: 'run-1' } } } as unknown as Context,
        () => slack.postStatusMessage(acknowledged),
      );
    const first = done(await asActivity('12'));
    expect(done(await asActivity('12')).ref).toBe(first.ref);
    expect(done(await asActivity('31')).ref).not.toBe(first.ref);
    expect(ownMessages(input.channel?.id as string, SLACK_EVENT_TYPES.status)).toHaveLength(2);
  });

  it('announces the room once in the announcement channel, found by name', async () => {
    const announcements = fake.addChannel({ name: 'incidents', members: [fake.bot.userId] });
    const slack = slackFor({ announceChannel: '#incidents' });
    const input = await inRoom(slack, incident());
    fake.faults.applyThenFail('chat.postMessage');
    await failureOf(slack.announceChannel(input));
    const announced = done(await slack.announceChannel(input));
    const posted = ownMessages(announcements.id, SLACK_EVENT_TYPES.announcement);
    expect(posted.map((message) => message.ts)).toEqual([announced.ref]);
    expect(posted[0]?.text).toContain(`<#${input.channel?.id}>`);
    expect(fake.calls('conversations.list')).toHaveLength(1);

    expect(await slackFor().announceChannel(input)).toEqual({
      status: 'skipped',
      detail: 'no announcement channel set (SLACK_ANNOUNCE_CHANNEL)',
    });
  });

  it('announces in a public channel the bot is not in, and says it could not check for an earlier announcement', async () => {
    const announcements = fake.addChannel({ name: 'ops-announce' });
    const slack = slackFor({ announceChannel: announcements.id });
    const input = await inRoom(slack, incident());
    const announced = done(await slack.announceChannel(input));
    expect(announced.detail).toContain('could not check');
    expect(ownMessages(announcements.id, SLACK_EVENT_TYPES.announcement)).toHaveLength(1);
  });

  it('turns a 429 into a rate-limited failure that waits Retry-After', async () => {
    const slack = slackFor();
    const input = incident();
    fake.faults.rateLimit('conversations.create', 1, 7);
    const failure = await failureOf(slack.openChannel(input));
    expect(failure.type).toBe(RATE_LIMITED);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7000);
    done(await slack.openChannel(input));
    expect(fake.state.channels).toHaveLength(1);
  });

  it('fails without retrying on a bad token, and never shows the token', async () => {
    const badToken = 'xoxb-111111111111-2222222222222-notTheRightOne';
    const slack = slackFor({ botToken: badToken });
    const failure = await failureOf(slack.openChannel(incident()));
    expect(failure.type).toBe(NON_RETRYABLE);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('Slack: conversations.create refused: invalid_auth (check SLACK_BOT_TOKEN)');
    expect(JSON.stringify({ message: failure.message, details: failure.details, stack: failure.stack })).not.toContain(badToken);
    expect(JSON.stringify(fake.requests)).not.toContain(badToken);
  });

  it('fails without retrying when the app lacks a scope, and names the scope', async () => {
    fake.addToken('xoxb-limited-scopes', {
      userId: fake.bot.userId,
      botId: fake.bot.botId,
      scopes: WARROOM_BOT_SCOPES.filter((scope) => scope !== 'pins:write'),
    });
    const slack = slackFor({ botToken: 'xoxb-limited-scopes' });
    const input = await inRoom(slack, incident());
    const summary = { channel: input.channel?.id as string, ts: done(await slack.postSummary(input)).ref as string };
    const failure = await failureOf(slack.pinSummary({ ...input, summary }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('missing_scope (the Slack app needs the pins:write scope)');
  });

  it('retries when Slack answers 500, and when it does not answer in time', async () => {
    const slack = slackFor({ defaultResponders: ['dana.oncall@example.com'] });
    const input = await inRoom(slack, incident());
    fake.faults.errorRate('users.lookupByEmail', 1);
    const failure = await failureOf(slack.inviteResponders(input));
    expect(failure.type).toBe(UNAVAILABLE);
    expect(failure.message).toBe('Slack: users.lookupByEmail: HTTP 500');
    expect(channelOf(input).members.has('U0DANA001')).toBe(false);

    fake.faults.hang('chat.postMessage');
    const settings = settingsFor();
    const impatient = createSlackActivities({
      slack: new WebClient(settings.botToken, {
        slackApiUrl: settings.apiUrl,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        // Long enough for the answered lookup before it on a loaded machine; the hung call still times out.
        timeout: 2000,
        logger: quiet,
      }),
      settings,
    });
    const timedOut = await failureOf(impatient.postSummary(input));
    expect(timedOut.type).toBe(UNAVAILABLE);
    expect(timedOut.message).toBe('Slack: chat.postMessage: timed out');
  });

  it('refuses for good when the channel is gone or archived', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    channelOf(input).isArchived = true;
    const archived = await failureOf(slack.postStatusMessage({ ...input, status: 'acknowledged', actor: 'dana' }));
    expect(archived.nonRetryable).toBe(true);
    expect(archived.message).toContain('is_archived');
    const gone = await failureOf(slack.setChannelTopic({ ...input, channel: { id: 'C0W9999999' } }));
    expect(gone.message).toBe('Slack: conversations.info refused: channel_not_found (no such channel, or the bot cannot see it)');
  });

  it('archives the channel once and treats an archived channel as done', async () => {
    const slack = slackFor();
    const input = await inRoom(slack, incident());
    expect(done(await slack.archiveChannel(input)).detail).toBe('channel archived');
    expect(channelOf(input).isArchived).toBe(true);
    expect(done(await slack.archiveChannel(input)).detail).toBe('channel already archived');
  });

  it('runs a whole war room against the fake with every request inside the spec', async () => {
    const slack = slackFor({ defaultResponders: ['dana.oncall@example.com'], announceChannel: '#incidents', username: 'warroom' });
    fake.addChannel({ name: 'incidents', members: [fake.bot.userId] });
    const input = await inRoom(slack, incident({ externalId: `PD ${'Long.Id '.repeat(15)}` }));
    expect(input.channel?.name).toMatch(VALID_NAME);
    done(await slack.inviteResponders({ ...input, inviteEmails: ['lee.dev@example.com'] }));
    done(await slack.setChannelTopic(input));
    const summary = { channel: input.channel?.id as string, ts: done(await slack.postSummary(input)).ref as string };
    done(await slack.pinSummary({ ...input, summary }));
    done(await slack.announceChannel(input));
    const ticket = { key: 'RLY-1', url: 'https://example.atlassian.net/browse/RLY-1' };
    done(await slack.setChannelTopic({ ...input, ticket }));
    done(await slack.updateSummary({ ...input, summary, ticket, status: 'resolved', actor: 'dana', note: 'fixed' }));
    done(await slack.postStatusMessage({ ...input, summary, ticket, status: 'resolved', actor: 'dana', note: 'fixed' }));
    done(await slack.archiveChannel(input));
    expect(fake.requests.length).toBeGreaterThan(10);
    expect(fake.requests.every((request) => request.status === 200)).toBe(true);
  });
});
