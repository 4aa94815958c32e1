import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { ACKNOWLEDGE_ACTION, RESOLVE_ACTION } from '../src/activities/slack-blocks.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { parseInteraction, SLACK_ACCEPT_DEADLINE_MS, verifySlackRequest } from '../src/sources/slack-interactions.js';
import { freePort } from '../src/temporal/dev-server.js';
import { bundleWorkflows } from '../src/worker.js';
import { startSlackFake, type SlackFake } from './fakes/slack.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixture, fixtureJson } from './samples.js';
import { signSlack } from './signing.js';

const SLACK_SECRET = 'slack-secret-for-interaction-tests';
const API_TOKEN = 'api-token-for-interaction-tests';
const FORM = 'application/x-www-form-urlencoded';
const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };

interface SlackVector {
  signing_secret: string;
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
}
const vector = fixtureJson<{ slack_request_signing: SlackVector }>('signature-test-vectors.json').slack_request_signing;
const vendorBody = fixture('slack-interactive-block-actions.form-urlencoded.txt');
const vendorTimestamp = Number(vector['X-Slack-Request-Timestamp']);
const vendorHeaders = {
  'x-slack-request-timestamp': vector['X-Slack-Request-Timestamp'],
  'x-slack-signature': vector['X-Slack-Signature'],
};

let bundle: WorkflowBundleOption;
let h: Harness;

beforeAll(async () => {
  bundle = await bundleWorkflows();
  h = await startHarness({ workflowBundle: bundle, env: { SLACK_SIGNING_SECRET: SLACK_SECRET, WARROOM_API_TOKEN: API_TOKEN } });
});

afterAll(async () => {
  await h?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SlackUser {
  id: string;
  username?: string;
  name?: string;
}

/** The vendor's block_actions sample, re-aimed at one button and user, as Slack's form body. */
function click(
  actionId: string,
  value: string | undefined,
  user: SlackUser = { id: 'U0DANA001', username: 'dana.oncall', name: 'dana.oncall' },
) {
  const payload = fixtureJson('slack-interactive-block-actions.json');
  payload.user = user;
  payload.actions = [{ ...payload.actions[0], action_id: actionId, value }];
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Headers Slack would send for `body`, signed with `secret` at `timestamp`. */
function signed(body: string | Buffer, { secret = SLACK_SECRET, timestamp = String(nowSeconds()) } = {}) {
  return { 'content-type': FORM, ...signSlack(body, secret, timestamp) };
}

/** Opens an incident through the API and waits until its run is up. */
async function openIncident(): Promise<string> {
  const id = uniqueId('slack-');
  const key = incidentKey('api', id);
  expect(await h.post('/incidents', JSON.stringify({ id, title: 'Checkout errors' }), api)).toMatchObject({
    status: 202,
    body: { outcome: 'started' },
  });
  await eventually(`${key}'s run up`, async () => (await h.state(key)).status === 'triggered');
  return key;
}

/**
 * Every signal and accepted update the incident's run received, decoded, in order: what the API
 * delivered. A refused update leaves nothing in the history, so it is not listed.
 */
async function signals(key: string): Promise<{ name: string; args: unknown[] }[]> {
  const history = await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
  const decode = (payloads: Array<{ data?: Uint8Array | null }> | null | undefined) =>
    (payloads ?? []).map((payload) => JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')));
  return (history.events ?? []).flatMap((event) => {
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal) return [{ name: signal.signalName ?? '', args: decode(signal.input?.payloads) }];
    const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (update) return [{ name: update.name ?? '', args: decode(update.args?.payloads) }];
    return [];
  });
}

/** Signals other than the incident events that opened the run. */
async function actionSignals(key: string) {
  return (await signals(key)).filter((signal) => signal.name !== 'incidentEvent');
}

/** Waits until the run's action signals are `expected` (a signal that arrives mid workflow task reaches the history a moment later). */
async function expectActionSignals(key: string, expected: unknown[]) {
  const received = await eventually(`${expected.length} action signals in ${key}'s history`, async () => {
    const list = await actionSignals(key);
    return list.length >= expected.length && list;
  });
  expect(received).toEqual(expected);
}

/** Every Temporal call the API gave up on has had its late answer logged, so its connection may close. */
function abandonedCallsSettled(logs: string[]): boolean {
  const count = (text: string) => logs.filter((line) => line.includes(text)).length;
  return count('"name":"AcceptTimeoutError"') === count('temporal answered after the deadline');
}

const BARRIER = { id: 'U0BARRIER', name: 'barrier.user' };

/**
 * Sends one genuine click and waits for it in the run's history. Temporal keeps a run's signals
 * in the order it accepted them, so any signal an earlier request delivered is listed before it.
 */
async function signalsUpToBarrier(key: string) {
  const body = click(ACKNOWLEDGE_ACTION, key, BARRIER);
  expect(await h.post('/slack/interactions', body, signed(body))).toMatchObject({ status: 200 });
  return eventually(`the barrier click in ${key}'s history`, async () => {
    const list = await actionSignals(key);
    return list.some((signal) => (signal.args[0] as { by?: string }).by === BARRIER.name) && list;
  });
}

const barrierSignal = { name: 'acknowledgeIncident', args: [{ by: BARRIER.name, via: 'slack' }] };

describe('verifySlackRequest', () => {
  it('accepts the vendor vector at its own timestamp and up to five minutes either side of it', () => {
    for (const now of [vendorTimestamp, vendorTimestamp + 300, vendorTimestamp - 300]) {
      expect(verifySlackRequest(vendorBody, vendorHeaders, vector.signing_secret, now)).toEqual({ ok: true });
    }
  });

  it('refuses the vendor vector as stale one second past five minutes, late or early', () => {
    for (const now of [vendorTimestamp + 301, vendorTimestamp - 301]) {
      expect(verifySlackRequest(vendorBody, vendorHeaders, vector.signing_secret, now)).toMatchObject({ ok: false, reason: 'stale' });
    }
  });

  it('names why it refuses a tampered body, a wrong secret, a truncated signature and missing or malformed headers', () => {
    const check = (body: Buffer, headers: Record<string, string>, secret = vector.signing_secret) =>
      verifySlackRequest(body, headers, secret, vendorTimestamp);
    const tampered = Buffer.from(vendorBody.toString().replace('dana.oncall', 'mallory'));
    expect(check(tampered, vendorHeaders)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(check(vendorBody, vendorHeaders, 'another-secret')).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(check(vendorBody, { ...vendorHeaders, 'x-slack-signature': vector['X-Slack-Signature'].slice(0, 20) })).toMatchObject({
      ok: false,
      reason: 'mismatch',
    });
    expect(check(vendorBody.subarray(0, vendorBody.length - 1), vendorHeaders)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(check(vendorBody, { 'x-slack-request-timestamp': vector['X-Slack-Request-Timestamp'] })).toMatchObject({
      ok: false,
      reason: 'missing-header',
    });
    expect(check(vendorBody, { 'x-slack-signature': vector['X-Slack-Signature'] })).toMatchObject({ ok: false, reason: 'missing-header' });
    expect(check(vendorBody, { ...vendorHeaders, 'x-slack-request-timestamp': '17734805x5' })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(check(vendorBody, { ...vendorHeaders, 'x-slack-signature': `v1=${vector['X-Slack-Signature'].slice(3)}` })).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('parseInteraction', () => {
  it("ignores the vendor sample's own incident_resolve button", () => {
    expect(parseInteraction(vendorBody)).toEqual({ ignored: 'action incident_resolve is not a warroom button' });
  });

  it('reads a warroom button as the incident key, the clicking user, the channel and the message', () => {
    expect(parseInteraction(Buffer.from(click(ACKNOWLEDGE_ACTION, 'api-db-lag')))).toEqual({
      interaction: { kind: 'acknowledge', key: 'api-db-lag', actor: 'dana.oncall', channelId: 'C0INC2231', messageTs: '1773480460.001900' },
    });
    expect(parseInteraction(Buffer.from(click(RESOLVE_ACTION, 'api-db-lag')))).toMatchObject({ interaction: { kind: 'resolve' } });
  });

  it('names the user by name, then username, then Slack id', () => {
    const actor = (user: SlackUser) => {
      const parsed = parseInteraction(Buffer.from(click(ACKNOWLEDGE_ACTION, 'api-x', user)));
      return 'interaction' in parsed ? parsed.interaction.actor : parsed;
    };
    expect(actor({ id: 'U1', username: 'ana', name: 'Ana B' })).toBe('Ana B');
    expect(actor({ id: 'U1', username: 'ana' })).toBe('ana');
    expect(actor({ id: 'U1' })).toBe('U1');
  });

  it('names the field of a missing payload, malformed JSON, another interaction type, a missing user or a button without a key', () => {
    const invalid = (body: string) => {
      const parsed = parseInteraction(Buffer.from(body));
      return 'invalid' in parsed ? parsed.invalid.field : parsed;
    };
    expect(invalid('token=abc')).toBe('payload');
    expect(invalid('payload=%7Bnot%20json')).toBe('payload');
    expect(invalid(`payload=${encodeURIComponent(JSON.stringify({ type: 'view_submission', user: { id: 'U1' }, actions: [] }))}`)).toBe(
      'type',
    );
    expect(invalid(`payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: [{ action_id: 'x' }] }))}`)).toBe('user');
    expect(invalid(click(ACKNOWLEDGE_ACTION, undefined))).toBe('actions.0.value');
    expect(invalid(click(RESOLVE_ACTION, 'NOT A KEY'))).toBe('actions.0.value');
  });
});

describe('POST /slack/interactions', () => {
  it('acknowledges an open incident as the Slack user who clicked, marked as coming from Slack', async () => {
    const key = await openIncident();
    const body = click(ACKNOWLEDGE_ACTION, key);
    expect(await h.post('/slack/interactions', body, signed(body))).toEqual({ status: 200, body: '' });
    const state = await eventually(`${key} acknowledged`, async () => {
      const current = await h.state(key);
      return current.status === 'acknowledged' && current;
    });
    expect(state.acknowledgedBy).toBe('dana.oncall');
    await expectActionSignals(key, [{ name: 'acknowledgeIncident', args: [{ by: 'dana.oncall', via: 'slack' }] }]);
  });

  it('resolves an open incident as the Slack user who clicked', async () => {
    const key = await openIncident();
    const body = click(RESOLVE_ACTION, key, { id: 'U0ANA002', username: 'ana.sre' });
    expect(await h.post('/slack/interactions', body, signed(body))).toMatchObject({ status: 200 });
    const state = await eventually(`${key} resolved`, async () => {
      const current = await h.state(key);
      return current.status === 'resolved' && current;
    });
    expect(state.resolvedBy).toBe('ana.sre');
    await expectActionSignals(key, [{ name: 'resolveIncident', args: [{ by: 'ana.sre', via: 'slack' }] }]);
  });

  it.each([
    ['a tampered body', (body: string) => ({ body: body.replace('dana.oncall', 'mallory'), headers: signed(body) })],
    ['a body signed with another secret', (body: string) => ({ body, headers: signed(body, { secret: 'not-the-secret' }) })],
    [
      'a truncated signature',
      (body: string) => {
        const headers = signed(body);
        return { body, headers: { ...headers, 'x-slack-signature': headers['x-slack-signature'].slice(0, -1) } };
      },
    ],
    ['a truncated body', (body: string) => ({ body: body.slice(0, -3), headers: signed(body) })],
    [
      'a missing signature',
      (body: string) => {
        const { 'x-slack-signature': _dropped, ...headers } = signed(body);
        return { body, headers };
      },
    ],
    [
      'a missing timestamp',
      (body: string) => {
        const { 'x-slack-request-timestamp': _dropped, ...headers } = signed(body);
        return { body, headers };
      },
    ],
    ['a non-numeric timestamp', (body: string) => ({ body, headers: signed(body, { timestamp: 'yesterday' }) })],
    ['a timestamp six minutes old', (body: string) => ({ body, headers: signed(body, { timestamp: String(nowSeconds() - 360) }) })],
  ])('answers 401 to %s and signals nothing', async (_name, forge) => {
    const key = await openIncident();
    const { body, headers } = forge(click(ACKNOWLEDGE_ACTION, key));
    const answer = await h.post('/slack/interactions', body, headers);
    expect(answer).toEqual({ status: 401, body: { error: expect.any(String) } });
    expect(await signalsUpToBarrier(key)).toEqual([barrierSignal]);
  });

  it("answers 200 to another app's button and changes nothing", async () => {
    const vendor = await h.post('/slack/interactions', vendorBody, signed(vendorBody));
    expect(vendor).toEqual({ status: 200, body: '' });
    const key = await openIncident();
    const body = click('incident_resolve', key);
    expect(await h.post('/slack/interactions', body, signed(body))).toEqual({ status: 200, body: '' });
    expect(await signalsUpToBarrier(key)).toEqual([barrierSignal]);
  });

  it('tells the clicker that an unknown incident is not open, and starts nothing', async () => {
    const key = incidentKey('api', uniqueId('gone-'));
    const body = click(ACKNOWLEDGE_ACTION, key);
    const answer = await h.post('/slack/interactions', body, signed(body));
    expect(answer).toEqual({
      status: 200,
      body: { response_type: 'ephemeral', replace_original: false, text: expect.stringContaining(`${key} is not open`) },
    });
    expect(await h.exists(key)).toBe(false);
  });

  it('answers a signed click with a malformed payload with 400 naming the field', async () => {
    const key = await openIncident();
    for (const [body, field] of [
      ['payload=%7Bnot%20json', 'payload'],
      ['token=abc', 'payload'],
      [click(ACKNOWLEDGE_ACTION, 'NOT A KEY'), 'actions.0.value'],
      [`payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: [] }))}`, 'actions'],
    ] as const) {
      expect(await h.post('/slack/interactions', body, signed(body))).toMatchObject({ status: 400, body: { field } });
    }
    expect(await signalsUpToBarrier(key)).toEqual([barrierSignal]);
  });

  it('answers 415 to anything but a form body, before looking at the signature', async () => {
    const body = JSON.stringify({ type: 'block_actions' });
    const answer = await h.post('/slack/interactions', body, { ...signed(body), 'content-type': 'application/json' });
    expect(answer).toMatchObject({ status: 415, body: { error: expect.stringContaining(FORM) } });
  });

  it('counts clicks by action and outcome, and logs the actor and key but never the signature or secret', async () => {
    const key = await openIncident();
    const body = click(ACKNOWLEDGE_ACTION, key, { id: 'U0LOG003', name: 'logged.user' });
    const headers = signed(body);
    expect(await h.post('/slack/interactions', body, headers)).toMatchObject({ status: 200 });
    expect(await h.post('/slack/interactions', body, signed(body, { secret: 'wrong' }))).toMatchObject({ status: 401 });
    const metrics = await h.get('/metrics');
    expect(metrics.body).toMatch(/warroom_slack_interactions_total\{action="acknowledge",outcome="acknowledged"\} [1-9]/);
    expect(metrics.body).toMatch(/warroom_slack_interactions_total\{action="none",outcome="unauthorized"\} [1-9]/);
    const logs = h.logs.join('');
    expect(logs).toMatch(new RegExp(`"key":"${key}"[^\\n]*"actor":"logged.user"`));
    expect(logs).not.toContain(SLACK_SECRET);
    expect(logs).not.toContain(headers['x-slack-signature'].slice(3));
  });

  it('answers 404 with a clear error when SLACK_SIGNING_SECRET is not set', async () => {
    const unconfigured = await startHarness({ worker: false });
    try {
      const body = click(ACKNOWLEDGE_ACTION, 'api-anything');
      const answer = await unconfigured.post('/slack/interactions', body, signed(body));
      expect(answer).toEqual({ status: 404, body: { error: expect.stringContaining('SLACK_SIGNING_SECRET') } });
    } finally {
      await unconfigured.stop();
    }
  });

  it("answers 503 inside Slack's three seconds when Temporal does not accept the click", async () => {
    const deadPort = await freePort();
    const down = await startHarness({
      worker: false,
      apiTemporalAddress: `127.0.0.1:${deadPort}`,
      env: { SLACK_SIGNING_SECRET: SLACK_SECRET },
    });
    try {
      const body = click(ACKNOWLEDGE_ACTION, incidentKey('api', uniqueId('down-')));
      const started = Date.now();
      const answer = await down.post('/slack/interactions', body, signed(body));
      expect(answer).toEqual({ status: 503, body: { error: 'Temporal is unavailable; retry later' } });
      // The click's deadline leaves Slack's 3 s room for the round trip; the wall-clock bound has
      // slack for a loaded machine yet stays under the 4 s deadline of the other endpoints.
      expect(SLACK_ACCEPT_DEADLINE_MS).toBeLessThanOrEqual(2500);
      expect(Date.now() - started).toBeLessThan(3500);
      // A call abandoned at the deadline keeps retrying for a moment; it must settle before its connection closes.
      await eventually('every abandoned call settled', async () => abandonedCallsSettled(down.logs));
    } finally {
      await down.stop();
    }
  });
});

describe('API actions', () => {
  it('marks acknowledge and resolve from the API as coming from the API, and answers with the resulting state', async () => {
    const key = await openIncident();
    const acknowledged = await h.post(`/incidents/${key}/acknowledge`, JSON.stringify({ by: 'ana@example.com' }), api);
    expect(acknowledged).toMatchObject({
      status: 200,
      body: {
        key,
        workflowId: workflowIdFor(key),
        outcome: 'acknowledged',
        incident: { status: 'acknowledged', acknowledgedBy: 'ana@example.com' },
      },
    });
    const resolved = await h.post(`/incidents/${key}/resolve`, '', { authorization: api.authorization });
    expect(resolved).toMatchObject({ status: 200, body: { outcome: 'resolved', incident: { status: 'resolved', resolvedBy: 'API' } } });
    await expectActionSignals(key, [
      { name: 'acknowledgeIncident', args: [{ by: 'ana@example.com', via: 'api' }] },
      { name: 'resolveIncident', args: [{ by: 'API', via: 'api' }] },
    ]);
  });

  it('answers 409 and changes nothing when the incident is already acknowledged, and 404 once the run has closed', async () => {
    const key = await openIncident();
    expect(await h.post(`/incidents/${key}/acknowledge`, JSON.stringify({ by: 'ana@example.com' }), api)).toMatchObject({ status: 200 });
    expect(await h.post(`/incidents/${key}/acknowledge`, JSON.stringify({ by: 'bo@example.com' }), api)).toEqual({
      status: 409,
      body: { error: 'already acknowledged' },
    });
    expect(await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'ana@example.com' }), api)).toMatchObject({ status: 200 });
    // No Slack here, so no room waits to be archived: the run completes at once.
    await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'bo@example.com' }), api)).toEqual({
      status: 404,
      body: { error: `no open incident ${key}` },
    });
    expect(await h.state(key)).toMatchObject({ acknowledgedBy: 'ana@example.com', resolvedBy: 'ana@example.com' });
    expect(await actionSignals(key)).toEqual([
      { name: 'acknowledgeIncident', args: [{ by: 'ana@example.com', via: 'api' }] },
      { name: 'resolveIncident', args: [{ by: 'ana@example.com', via: 'api' }] },
    ]);
  });

  it('answers a retry with 409 when no step has failed, and records nothing', async () => {
    const key = await openIncident();
    await eventually(`${key} war room settled`, async () => (await h.state(key)).steps.timelinePost?.status === 'skipped');
    const answer = await h.post(`/incidents/${key}/retry`, JSON.stringify({ by: 'ana@example.com', note: 'Jira is back' }), api);
    expect(answer).toEqual({ status: 409, body: { error: 'no step has failed' } });
    expect(await actionSignals(key)).toEqual([]);
    expect((await h.state(key)).timeline.map((entry) => entry.what)).not.toContain('retry failed steps');
  });

  it('answers a retry for a key with no open run with 404 and starts nothing', async () => {
    const key = incidentKey('api', uniqueId('ghost-'));
    expect(await h.post(`/incidents/${key}/retry`, '{}', api)).toMatchObject({ status: 404, body: { error: `no open incident ${key}` } });
    expect(await h.exists(key)).toBe(false);
  });

  it('refuses a retry without the API token or with a malformed body', async () => {
    const key = await openIncident();
    expect(await h.post(`/incidents/${key}/retry`, '{}', { 'content-type': 'application/json' })).toMatchObject({ status: 401 });
    expect(await h.post(`/incidents/${key}/retry`, '{"by": 5}', api)).toMatchObject({ status: 400, body: { field: 'by' } });
    expect(await signalsUpToBarrier(key)).toEqual([barrierSignal]);
  });
});

describe('while a resolved incident waits for its room to be archived', () => {
  let slack: SlackFake;
  let room: Harness;

  beforeAll(async () => {
    slack = await startSlackFake();
    room = await startHarness({
      workflowBundle: bundle,
      env: {
        SLACK_SIGNING_SECRET: SLACK_SECRET,
        WARROOM_API_TOKEN: API_TOKEN,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_API_URL: slack.url,
        // Long enough that every request below reaches the run while it still waits.
        SLACK_ARCHIVE_DELAY: '1h',
      },
    });
  });

  afterAll(async () => {
    await room?.stop();
    await slack?.stop();
  });

  it('answers 409 already resolved to the API and tells the Slack clicker, changing nothing', async () => {
    const id = uniqueId('closing-');
    const key = incidentKey('api', id);
    expect(await room.post('/incidents', JSON.stringify({ id, title: 'Checkout errors' }), api)).toMatchObject({ status: 202 });
    await eventually(`${key} summary pinned`, async () => (await room.state(key)).steps.slackPin?.status === 'done');
    expect(await room.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'ana@example.com' }), api)).toMatchObject({ status: 200 });
    for (const action of ['acknowledge', 'resolve'] as const) {
      expect(await room.post(`/incidents/${key}/${action}`, JSON.stringify({ by: 'bo@example.com' }), api)).toEqual({
        status: 409,
        body: { error: 'already resolved' },
      });
    }
    const body = click(ACKNOWLEDGE_ACTION, key, { id: 'U0LATE001', name: 'late.clicker' });
    expect(await room.post('/slack/interactions', body, signed(body))).toEqual({
      status: 200,
      body: { response_type: 'ephemeral', replace_original: false, text: `Incident ${key}: already resolved; nothing changed.` },
    });
    const state = await room.state(key);
    expect(state).toMatchObject({ status: 'resolved', resolvedBy: 'ana@example.com' });
    expect(state.acknowledgedBy).toBeUndefined();
    const handle = room.client.workflow.getHandle(workflowIdFor(key));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test done: the archive delay is an hour');
  });
});
