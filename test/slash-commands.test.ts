import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { parse as parseYaml } from 'yaml';
import { channelName } from '../src/shared/channel-names.js';
import { workflowIdFor } from '../src/shared/ids.js';
import { channelKey } from '../src/shared/search-attributes.js';
import { declaredIncident, parseSlashCommand, readCommand, type SlashRequest } from '../src/sources/slack-commands.js';
import { freePort } from '../src/temporal/dev-server.js';
import { bundleWorkflows } from '../src/worker.js';
import { eventually } from './eventually.js';
import { startSlackFake, WARROOM_BOT_SCOPES, type SlackFake } from './fakes/slack.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixture } from './samples.js';
import { signSlack } from './signing.js';

const SECRET = 'slack-secret-for-command-tests';
const UI = 'http://temporal-ui.example.net:8233';
const FORM = 'application/x-www-form-urlencoded';
const DECLARE = fixture('slack-slash-command-declare.form-urlencoded.txt').toString();
const RESOLVE = fixture('slack-slash-command.form-urlencoded.txt').toString();
/** The sample's user, as the Slack fake knows them. */
const DANA = { id: 'U0DANA', name: 'dana.oncall', email: 'dana.slash@example.com' };

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A captured command form with some fields changed, as Slack would post it (a fresh trigger unless one is given). */
function form(sample: string, fields: Record<string, string> = {}): string {
  const params = new URLSearchParams(sample);
  params.set('trigger_id', `${Date.now()}.738474920.${uniqueId().toLowerCase()}`);
  for (const [name, value] of Object.entries(fields)) params.set(name, value);
  return params.toString();
}

/** Headers Slack sends with `body`, signed with `secret` at `timestamp`. */
function signed(body: string, { secret = SECRET, timestamp = String(nowSeconds()) } = {}) {
  return { 'content-type': FORM, ...signSlack(body, secret, timestamp) };
}

function requestOf(body: string): SlashRequest {
  const parsed = parseSlashCommand(Buffer.from(body));
  if (!('request' in parsed)) throw new Error(`not a command: ${JSON.stringify(parsed)}`);
  return parsed.request;
}

/** The incident a declaration body makes, as the API computes it. */
function declaredBy(body: string) {
  const request = requestOf(body);
  if (request.command.kind !== 'declare') throw new Error('not a declaration');
  return declaredIncident(request, request.command);
}

describe('reading /incident', () => {
  it('reads the captured forms: a declaration with severity and service, and a resolve with a note', () => {
    expect(requestOf(DECLARE)).toEqual({
      command: { kind: 'declare', title: 'Checkout is down for EU customers', severity: 'critical', service: 'checkout-api' },
      name: '/incident',
      user: { id: 'U0DANA', name: 'dana.oncall' },
      channel: { id: 'C0GENERAL', name: 'general' },
      team: 'T0EXAMPLE',
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(requestOf(RESOLVE)).toMatchObject({
      command: { kind: 'resolve', note: 'rolled back the deploy' },
      channel: { id: 'C0W0000003', name: 'team-relay-production-incident-q1inc0001' },
    });
  });

  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['ack', { kind: 'acknowledge' }],
    ['ACK looking at the replica', { kind: 'acknowledge', note: 'looking at the replica' }],
    ['acknowledge', { kind: 'acknowledge' }],
    ['resolve', { kind: 'resolve' }],
    ['note  rolled back, errors falling ', { kind: 'note', note: 'rolled back, errors falling' }],
    ['status', { kind: 'status' }],
    ['status page is down', { kind: 'declare', title: 'status page is down' }],
    ['declare ack storm in eu-west-1', { kind: 'declare', title: 'ack storm in eu-west-1' }],
    ['DB slow sev:ERROR  service:orders-db for EU', { kind: 'declare', title: 'DB slow for EU', severity: 'error', service: 'orders-db' }],
  ])('reads %j', (text, command) => {
    expect(readCommand(text)).toEqual(command);
  });

  it('answers a command it cannot read with help that says why', () => {
    expect(readCommand('note')).toMatchObject({ kind: 'help', problem: expect.stringContaining('note <text>') });
    expect(readCommand('DB slow sev:urgent')).toMatchObject({ kind: 'help', problem: expect.stringContaining('`urgent`') });
    expect(readCommand('sev:critical service:checkout')).toMatchObject({ kind: 'help', problem: expect.stringContaining('title') });
    expect(readCommand('declare')).toMatchObject({ kind: 'help', problem: expect.stringContaining('title') });
  });

  it('names the field of a form that is not a slash command', () => {
    const field = (edit: (params: URLSearchParams) => void) => {
      const params = new URLSearchParams(DECLARE);
      edit(params);
      const parsed = parseSlashCommand(Buffer.from(params.toString()));
      return 'invalid' in parsed ? parsed.invalid.field : parsed;
    };
    expect(field((params) => params.delete('trigger_id'))).toBe('trigger_id');
    expect(field((params) => params.delete('user_id'))).toBe('user_id');
    expect(field((params) => params.set('channel_id', "C1' OR 1=1"))).toBe('channel_id');
    expect(field((params) => params.delete('team_id'))).toBe('team_id');
  });

  it('keys a declaration on its team and trigger: the same request finds the same incident, another request another one', () => {
    const body = form(DECLARE);
    const first = declaredBy(body);
    expect(first).toMatchObject({
      source: 'slack',
      kind: 'trigger',
      title: 'Checkout is down for EU customers',
      severity: 'critical',
      service: 'checkout-api',
      actor: 'dana.oncall',
      slackResponders: ['U0DANA'],
      links: [{ label: 'Declared in #general', url: 'https://slack.com/app_redirect?team=T0EXAMPLE&channel=C0GENERAL' }],
    });
    expect(first.key).toMatch(/^slack-checkout-is-down-for-eu-[0-9a-f]{8}$/);
    expect(first.key).toBe(`slack-${first.externalId}`);
    const again = declaredBy(body);
    expect([again.key, again.eventId]).toEqual([first.key, first.eventId]);
    const other = declaredBy(form(DECLARE));
    expect(other.key).not.toBe(first.key);
    expect(other.eventId).not.toBe(first.eventId);
    // The same trigger id in another workspace is another request.
    expect(declaredBy(body.replace('team_id=T0EXAMPLE', 'team_id=T0OTHER')).key).not.toBe(first.key);
    // A title with nothing Slack keeps in a channel name is named by the digest alone.
    expect(declaredBy(form(DECLARE, { text: 'Касса не работает' })).externalId).toMatch(/^[0-9a-f]{8}$/);
    expect(channelName(undefined, first.externalId)).toBe(`team-relay-production-incident-${first.externalId}`);
  });
});

describe('the Slack app manifest (examples/slack-app-manifest.yaml)', () => {
  it('asks for every scope the bot uses and the commands scope, and points the command and the buttons at warroom', () => {
    const manifest = parseYaml(readFileSync(new URL('../examples/slack-app-manifest.yaml', import.meta.url), 'utf8'));
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining([...WARROOM_BOT_SCOPES, 'commands']));
    expect(manifest.features.slash_commands).toEqual([
      expect.objectContaining({ command: '/incident', url: 'https://<your-host>/slack/commands', should_escape: false }),
    ]);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: 'https://<your-host>/slack/interactions' });
  });
});

describe('POST /slack/commands', () => {
  let bundle: WorkflowBundleOption;
  let slack: SlackFake;
  let h: Harness;

  beforeAll(async () => {
    bundle = await bundleWorkflows();
    slack = await startSlackFake();
    slack.addUser(DANA);
    h = await startHarness({
      workflowBundle: bundle,
      env: {
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_API_URL: slack.url,
        TEMPORAL_UI_URL: UI,
        // Every request below reaches a resolved incident's run while its room waits to be archived.
        SLACK_ARCHIVE_DELAY: '1h',
      },
    });
  });

  afterAll(async () => {
    await h?.stop();
    await slack?.stop();
  });

  const post = (body: string, headers: Record<string, string> = signed(body)) => h.post('/slack/commands', body, headers);

  /** Declares an incident from #general and waits until its room is open and findable by its channel. */
  async function declare(text = 'Checkout is down for EU customers sev:critical service:checkout-api') {
    const body = form(DECLARE, { text });
    const answer = await post(body);
    expect(answer).toMatchObject({ status: 200, body: { response_type: 'ephemeral' } });
    const { key } = declaredBy(body);
    const state = await eventually(`${key}'s room furnished`, async () => {
      const current = await h.state(key);
      return current.steps.slackInvite?.status === 'done' && current.steps.slackSummary?.status === 'done' && current;
    });
    const channel = state.steps.slackChannel?.ref as string;
    await eventually(`${key} findable by its channel`, async () => {
      for await (const _run of h.client.workflow.list({ query: `${channelKey.name} = '${channel}'` })) return true;
      return false;
    });
    return { body, answer, key, channel, state };
  }

  /** A command typed in `channel` by the sample's user. */
  const inRoom = (channel: string, text: string, user = DANA) =>
    form(RESOLVE, { channel_id: channel, text, user_id: user.id, user_name: user.name });

  const timelineOf = async (key: string, what: string) => (await h.state(key)).timeline.filter((entry) => entry.what === what);

  /** Updates the run accepted, by name: a refused or repeated update leaves none. */
  async function acceptedUpdates(key: string, name: string): Promise<number> {
    const history = await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
    return (history.events ?? []).filter(
      (event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === name,
    ).length;
  }

  it('declares an incident: the answer names the room being opened and the run, and the room opens with the declaring user in it', async () => {
    const { answer, key, channel, state } = await declare();
    const name = `team-relay-production-incident-${key.replace(/^slack-/, '')}`;
    expect(answer.body.text).toContain(`Declared *Checkout is down for EU customers* (critical, checkout-api) as \`${key}\``);
    expect(answer.body.text).toContain(`<https://slack.com/app_redirect?team=T0EXAMPLE&channel=${name}|#${name}>`);
    expect(answer.body.text).toContain(`${UI}/namespaces/default/workflows/${workflowIdFor(key)}`);
    expect(state).toMatchObject({
      source: 'slack',
      title: 'Checkout is down for EU customers',
      severity: 'critical',
      service: 'checkout-api',
      slackResponders: ['U0DANA'],
      details: { declared_by: 'dana.oncall (U0DANA)', declared_in: '#general' },
    });
    expect(state.timeline[0]).toMatchObject({ actor: 'dana.oncall', what: 'trigger from slack', outcome: 'ok' });
    const room = slack.channelByName(name);
    expect(room?.id).toBe(channel);
    expect(room?.members.has('U0DANA')).toBe(true);
    expect(state.steps.slackInvite?.detail).toContain('invited U0DANA');
  });

  it('changes nothing twice when Slack sends the same declaration again: one run, one room, one timeline entry', async () => {
    const { body, key } = await declare('Payments failing sev:error');
    const again = await post(body, signed(body, { timestamp: String(nowSeconds() + 1) }));
    expect(again).toMatchObject({ status: 200, body: { response_type: 'ephemeral', text: expect.stringContaining('Already declared') } });
    expect(again.body.text).toContain(key);
    expect(await h.listedRuns(key)).toBe(1);
    const name = channelName(undefined, key.replace(/^slack-/, ''));
    expect(slack.state.channels.filter((channel) => channel.name.startsWith(name))).toHaveLength(1);
    expect(await timelineOf(key, 'trigger from slack')).toHaveLength(1);
  });

  it.each([
    ['a body signed with another secret', (body: string) => ({ body, headers: signed(body, { secret: 'not-the-secret' }) })],
    ['a tampered body', (body: string) => ({ body: body.replace('Checkout', 'Chekout'), headers: signed(body) })],
    ['a timestamp six minutes old', (body: string) => ({ body, headers: signed(body, { timestamp: String(nowSeconds() - 360) }) })],
    [
      'no signature',
      (body: string) => {
        const { 'x-slack-signature': _dropped, ...headers } = signed(body);
        return { body, headers };
      },
    ],
  ])('answers 401 to %s and declares nothing', async (_name, forge) => {
    const { body, headers } = forge(form(DECLARE));
    expect(await post(body, headers)).toEqual({ status: 401, body: { error: expect.any(String) } });
    expect(await h.exists(declaredBy(body).key)).toBe(false);
  });

  it('acts in the room it is typed in: status, a note (sent twice, recorded once), ack and resolve as the Slack user', async () => {
    const { key, channel } = await declare('Search latency above 2 s sev:warning service:search-api');

    const status = await post(inRoom(channel, 'status'));
    expect(status).toMatchObject({ status: 200, body: { response_type: 'ephemeral' } });
    expect(status.body.text).toContain(`*Search latency above 2 s* \`${key}\``);
    expect(status.body.text).toContain('Triggered, not acknowledged · Severity warning · Service search-api');
    expect(status.body.text).toContain(`Room <#${channel}>`);

    const note = inRoom(channel, 'note p99 back to 400 ms after the cache warmed');
    const noted = await post(note);
    expect(noted).toEqual({
      status: 200,
      body: { response_type: 'in_channel', text: ':memo: *Status update* from dana.oncall: p99 back to 400 ms after the cache warmed' },
    });
    // Slack sending the same command again gets the same answer, and the run records it once.
    expect(await post(note, signed(note, { timestamp: String(nowSeconds() + 1) }))).toEqual(noted);
    expect(await timelineOf(key, 'note from slack')).toEqual([
      expect.objectContaining({ actor: 'dana.oncall', outcome: 'ok', detail: 'p99 back to 400 ms after the cache warmed' }),
    ]);
    expect(await acceptedUpdates(key, 'noteIncident')).toBe(1);
    expect(await h.state(key)).toMatchObject({ lastUpdateAt: expect.any(String), lastUpdateBy: 'dana.oncall' });

    const ack = inRoom(channel, 'ack on it');
    expect(await post(ack)).toMatchObject({
      status: 200,
      body: { text: `:eyes: You acknowledged \`${key}\` as dana.oncall; the room is told.` },
    });
    expect(await post(ack, signed(ack, { timestamp: String(nowSeconds() + 1) }))).toMatchObject({
      body: { text: expect.stringContaining('You acknowledged') },
    });
    const sam = { id: 'U0SAMSRE01', name: 'sam.sre', email: 'sam.sre@example.com' };
    expect(await post(inRoom(channel, 'ack', sam))).toMatchObject({
      body: { response_type: 'ephemeral', text: `Incident \`${key}\`: already acknowledged; nothing changed.` },
    });
    expect(await timelineOf(key, 'acknowledge from slack')).toEqual([expect.objectContaining({ actor: 'dana.oncall', detail: 'on it' })]);
    expect(await acceptedUpdates(key, 'acknowledgeIncident')).toBe(1);

    expect(await post(inRoom(channel, 'resolve rolled back the deploy'))).toMatchObject({
      body: { text: expect.stringContaining(`You resolved \`${key}\` as dana.oncall`) },
    });
    const resolved = await h.state(key);
    expect(resolved).toMatchObject({ status: 'resolved', acknowledgedBy: 'dana.oncall', resolvedBy: 'dana.oncall' });
    expect(resolved.timeline.find((entry) => entry.what === 'resolve from slack')).toMatchObject({ detail: 'rolled back the deploy' });
    const after = await post(inRoom(channel, 'status'));
    expect(after.body.text).toMatch(/Resolved by dana\.oncall at \d\d:\d\d UTC/);
    expect(after.body.text).toContain('Last status update by dana.oncall');
    await h.client.workflow.getHandle(workflowIdFor(key)).terminate('test done: the archive delay is an hour');
  });

  it('refuses a badly signed note in a room and records nothing', async () => {
    const { key, channel } = await declare('Queue backlog growing');
    const note = inRoom(channel, 'note forged update');
    expect(await post(note, signed(note, { secret: 'wrong' }))).toMatchObject({ status: 401 });
    expect(await post(note, signed(note, { timestamp: String(nowSeconds() - 301) }))).toMatchObject({ status: 401 });
    const genuine = inRoom(channel, 'note genuine update');
    expect(await post(genuine)).toMatchObject({ status: 200, body: { response_type: 'in_channel' } });
    expect((await timelineOf(key, 'note from slack')).map((entry) => entry.detail)).toEqual(['genuine update']);
    await h.client.workflow.getHandle(workflowIdFor(key)).terminate('test done');
  });

  it('answers ack, resolve, note and status outside an incident channel with a help line, and help anywhere', async () => {
    for (const text of ['ack', 'resolve fixed', 'note all good', 'status']) {
      const answer = await post(inRoom('C0NOTAROOM', text));
      expect(answer).toMatchObject({ status: 200, body: { response_type: 'ephemeral' } });
      expect(answer.body.text).toContain("works in an incident's channel, and this channel is not one of an open incident");
    }
    const help = await post(inRoom('C0NOTAROOM', 'help'));
    expect(help.body.text).toContain('`/incident <title> [sev:critical|error|warning|info] [service:<name>]` declares an incident');
    const unreadable = await post(form(DECLARE, { text: 'DB slow sev:urgent' }));
    expect(unreadable.body.text).toMatch(/^Unknown severity `urgent`/);
  });

  it('answers a form that is not a slash command with 400 naming the field, and anything but a form with 415', async () => {
    const body = form(DECLARE, { user_id: '' });
    expect(await post(body)).toMatchObject({ status: 400, body: { field: 'user_id' } });
    // Slack's certificate check, signed like any request: a 200 and nothing else.
    const sslCheck = 'ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO';
    expect(await post(sslCheck)).toEqual({ status: 200, body: '' });
    expect(await post(sslCheck, signed(sslCheck, { secret: 'wrong' }))).toMatchObject({ status: 401 });
    const json = JSON.stringify({ text: 'hi' });
    expect(await h.post('/slack/commands', json, { ...signed(json), 'content-type': 'application/json' })).toMatchObject({ status: 415 });
  });

  it("answers inside Slack's three seconds, with words, when Temporal does not", async () => {
    const down = await startHarness({
      worker: false,
      apiTemporalAddress: `127.0.0.1:${await freePort()}`,
      env: { SLACK_SIGNING_SECRET: SECRET },
    });
    try {
      const body = form(DECLARE);
      const started = Date.now();
      const answer = await down.post('/slack/commands', body, signed(body));
      expect(Date.now() - started).toBeLessThan(3500);
      expect(answer).toMatchObject({ status: 200, body: { response_type: 'ephemeral' } });
      expect(answer.body.text).toContain(`Incident \`${declaredBy(body).key}\` may still open as #team-relay-production-incident-`);
      const note = inRoom('C0SOMEROOM', 'note hello');
      expect((await down.post('/slack/commands', note, signed(note))).body.text).toContain('could not get an answer from Temporal in time');
      // A call abandoned at the deadline keeps retrying for a moment; it must settle before its connection closes.
      const count = (text: string) => down.logs.join('').split(text).length - 1;
      await eventually(
        'every abandoned call settled',
        async () => count('"name":"AcceptTimeoutError"') === count('temporal answered after the deadline'),
      );
    } finally {
      await down.stop();
    }
  });
});
