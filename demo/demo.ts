/**
 * `npm run demo`: warroom against local fakes of Slack, Jira, PagerDuty (REST and Events API),
 * VictorOps and StatusCast, on an in-memory Temporal dev server with its Web UI. Sends two sample
 * incidents and declares a third with a signed `/incident` in Slack, prints what people would see
 * (status page included), posts a status update and asks for the status from the declared
 * incident's room, resolves one with a signed click on the Slack summary's Resolve button, prints the closed loop (PagerDuty resolved, status
 * page closed, change events) and the close-out, and stops (`--keep` / DEMO_KEEP=1 keeps it up).
 */
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RESOLVE_ACTION } from '../src/activities/slack-blocks.js';
import { SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { createLogger } from '../src/logger.js';
import type { IncidentState, StepName } from '../src/shared/incident.js';
import { freePort } from '../src/temporal/dev-server.js';
import type { JiraFake } from '../test/fakes/jira.js';
import type { PagerDutyEventsFake } from '../test/fakes/pagerduty-events.js';
import type { PagerDutyFake } from '../test/fakes/pagerduty.js';
import type { FakeMessage, FakeUser, SlackFake } from '../test/fakes/slack.js';
import type { StatusCastFake, StatusCastIncident } from '../test/fakes/statuscast.js';
import type { VictorOpsFake } from '../test/fakes/victorops.js';
import { eventually } from '../test/eventually.js';
import { fixture, fixtureJson } from '../test/samples.js';
import { signPagerDuty, signSlack, signVictorOps } from '../test/signing.js';
import { startStack } from '../test/stack.js';

const KEEP = process.argv.includes('--keep') || process.env.DEMO_KEEP === '1';
const ANNOUNCE_CHANNEL = 'incidents';
const ARCHIVE_DELAY = '10s';
/** Short for the demo (the default is 5m): the VictorOps incident, which nobody acknowledges, escalates while you watch. */
const ESCALATE_AFTER = '20s';
/** Demo-only secrets: both webhooks and the Slack click are signed, so the demo goes through the real verification. */
const PAGERDUTY_SECRET = 'demo-pagerduty-signing-secret';
const VICTOROPS_KEY = 'demo-victorops-auth-key';
const SLACK_SIGNING_SECRET = 'demo-slack-signing-secret';
/** Who clicks Resolve in Slack: a responder the war room invited (a user of the Slack fake). */
const RESPONDER_EMAIL = 'sam.sre@example.com';
/** The VictorOps sample's `monitor_name` (test/fixtures/victorops-escalation.json): the service its status page is found by. */
const VICTOROPS_MONITOR = 'prometheus-prod';
/** StatusCast components: the fake's two, plus one for the orders database the VictorOps sample is about. */
const STATUS_COMPONENTS = [
  { id: 20609, name: 'Checkout' },
  { id: 20610, name: 'Public API' },
  { id: 20611, name: 'Order processing' },
];
/** STATUSCAST_MONITORS_FILE: the PagerDuty sample's service publishes at once; the VictorOps sample's monitor saves a draft. */
const MONITORS_YAML = `monitors:
  - name: checkout-api                  # the PagerDuty sample's service
    incidentType: ServiceUnavailable
    affectedComponents: [20609]
    componentStatus: DegradedPerformance
    subject: Checkout errors for some customers
    message: We are investigating elevated error rates during checkout.
    waitTime: 0                         # post at once (the demo does not wait)
    autoPublish: true
    autoClose: true
    closingComment: The issue has been resolved and checkout is operating normally.
  - name: ${VICTOROPS_MONITOR}               # the VictorOps sample's monitor_name
    affectedComponents: [20611]
    componentStatus: Unavailable
    subject: Delays confirming orders
    message: Some orders are taking longer than usual to confirm. We are investigating.
    waitTime: 0
    autoPublish: false                  # a draft for a human to publish
    autoClose: false
`;
const WAR_ROOM_STEPS: StepName[] = [
  'jiraTicket',
  'slackChannel',
  'slackTopic',
  'slackPin',
  'timelinePost',
  'statusPage',
  'changeTicket',
  'changeRoom',
];
const CLOSE_OUT_STEPS: StepName[] = [
  'jiraComment',
  'jiraTransition',
  'slackSummaryUpdate',
  'slackStatusMessage',
  'pagerdutySync',
  'statusPageClose',
  'changeResolved',
  'postmortem',
];
const DEADLINE_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Terminal output

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[22m` : text);
const say = (line = '') => process.stdout.write(`${line}\n`);
const section = (title: string) => say(`\n${bold(`== ${title} ==`)}`);
const clock = (date: Date, ms = false) => date.toISOString().slice(11, ms ? 23 : 19);
const slackClock = (ts: string) => clock(new Date(Number(ts.split('.')[0]) * 1000));
const indent = (text: string, prefix: string) =>
  text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');

const EMOJI: Record<string, string> = { rotating_light: '🚨', eyes: '👀', white_check_mark: '✅' };

/** Slack mrkdwn as a person reads it: links as `label (url)`, mentions by name, emoji, no markup. */
function mrkdwnText(text: string, slack: SlackFake): string {
  return text
    .replace(/<#(C[A-Z0-9]+)(?:\|[^>]*)?>/g, (_all, id: string) => `#${slack.state.channels.find((c) => c.id === id)?.name ?? id}`)
    .replace(/<@(U[A-Z0-9]+)>/g, (_all, id: string) => `@${slack.state.users.find((u) => u.id === id)?.name ?? id}`)
    .replace(/<([^|>]+)\|([^>]+)>/g, (_all, url: string, label: string) => `${label} (${url})`)
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/:([a-z_]+):/g, (all, name: string) => EMOJI[name] ?? all)
    .replace(/\*([^*\n]+)\*/g, (_all, inner: string) => bold(inner))
    .replace(/(^|\s)_([^_\n]+)_(?=$|[\s.,;:])/g, '$1$2')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

type Block = {
  type: string;
  text?: { text: string };
  fields?: { text: string }[];
  elements?: { type: string; text?: string | { text: string } }[];
};

/** Block Kit as text lines: the header, one line per field, the context line, buttons as `[ Label ]`. */
function blocksText(blocks: unknown[], slack: SlackFake): string[] {
  const lines: string[] = [];
  for (const block of blocks as Block[]) {
    if (block.type === 'header' && block.text) lines.push(bold(block.text.text));
    if (block.type === 'section') {
      if (block.text) lines.push(mrkdwnText(block.text.text, slack));
      for (const field of block.fields ?? []) {
        const [name = '', ...value] = field.text.split('\n');
        lines.push(`${mrkdwnText(name, slack)}: ${mrkdwnText(value.join(' '), slack)}`);
      }
    }
    if (block.type === 'context') {
      lines.push(
        (block.elements ?? []).map((element) => mrkdwnText(typeof element.text === 'string' ? element.text : '', slack)).join(' '),
      );
    }
    if (block.type === 'actions') {
      lines.push((block.elements ?? []).map((element) => `[ ${typeof element.text === 'object' ? element.text.text : '?'} ]`).join('  '));
    }
  }
  return lines;
}

type AdfNode = {
  type?: string;
  text?: string;
  content?: AdfNode[];
  marks?: { type: string; attrs?: { href?: string } }[];
  attrs?: { url?: string };
};

/** Atlassian Document Format as plain text: paragraphs as lines, bullet lists as `•`, links as `text (url)`. */
function adfText(node: AdfNode | undefined, depth = 0): string {
  if (!node) return '';
  const inline = (nodes: AdfNode[] = []) =>
    nodes
      .map((child) => {
        if (child.type === 'hardBreak') return '\n';
        if (child.type === 'inlineCard') return child.attrs?.url ?? '';
        const href = child.marks?.find((mark) => mark.type === 'link')?.attrs?.href;
        const text = child.text ?? '';
        if (child.marks?.some((mark) => mark.type === 'code')) return `\`${text}\``;
        return href && href !== text ? `${text} (${href})` : text;
      })
      .join('');
  switch (node.type) {
    case 'doc':
      return (node.content ?? [])
        .map((child) => adfText(child, depth))
        .filter(Boolean)
        .join('\n');
    case 'paragraph':
    case 'heading':
      return inline(node.content);
    case 'bulletList':
    case 'orderedList':
      return (node.content ?? [])
        .map((item, index) => {
          const bullet = node.type === 'orderedList' ? `${index + 1}.` : '•';
          const body = (item.content ?? []).map((child) => adfText(child, depth + 1)).join('\n');
          return `${'  '.repeat(depth + 1)}${bullet} ${body.trimStart()}`;
        })
        .join('\n');
    default:
      return node.content ? (node.content ?? []).map((child) => adfText(child, depth)).join('\n') : inline([node]);
  }
}

// ---------------------------------------------------------------------------------------------
// Start and stop

/** Undo steps, run in reverse on exit, Ctrl-C and a failed start. */
const cleanups: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;

function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: Error) => process.stderr.write(`demo: a shutdown step failed: ${err.message}\n`));
    }
  })();
  return stopping;
}

let interrupted = false;
let interruptedAt = 0;
const onSignal = () => {
  if (interrupted) {
    // Under tsx one Ctrl-C often arrives twice (from the terminal, then relayed by tsx): only a later one forces exit.
    if (Date.now() - interruptedAt > 1000) process.exit(1);
    return;
  }
  interrupted = true;
  interruptedAt = Date.now();
  say('\nstopping…');
  void stopEverything().then(() => {
    say('stopped.');
    process.exit(0);
  });
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** The port a variable names, or a free one when it is unset. */
async function portFromEnv(name: string): Promise<number> {
  const value = process.env[name]?.trim();
  if (!value) return freePort();
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

/** What the demo drives and shows. */
interface Demo {
  apiUrl: string;
  client: Client;
  uiUrl: string;
  slack: SlackFake;
  jira: JiraFake;
  pd: PagerDutyFake;
  vo: VictorOpsFake;
  events: PagerDutyEventsFake;
  statuscast: StatusCastFake;
}

async function startDemo(): Promise<Demo> {
  // Before any native connection: worker lifecycle chatter stays out of the demo's output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = Date.now();
  const [uiPort, apiPort] = await Promise.all([portFromEnv('TEMPORAL_DEV_UI_PORT'), portFromEnv('PORT')]);
  const stack = await startStack({
    name: 'demo',
    temporal: { cliPath: process.env.TEMPORAL_CLI_PATH, uiPort, namespace: 'default' },
    fakes: { slack: { seed: 7 }, statuscast: { components: STATUS_COMPONENTS }, announceChannel: ANNOUNCE_CHANNEL },
    monitors: MONITORS_YAML,
    env: {
      LOG_LEVEL: 'warn',
      PAGERDUTY_WEBHOOK_SECRET: PAGERDUTY_SECRET,
      VICTOROPS_WEBHOOK_KEY: VICTOROPS_KEY,
      VICTOROPS_WEBHOOK_URL: `http://127.0.0.1:${apiPort}/webhooks/victorops`,
      SLACK_SIGNING_SECRET,
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com,nobody@example.com',
      SLACK_USERNAME: 'warroom',
      SLACK_ICON_EMOJI: ':rotating_light:',
      SLACK_ARCHIVE_DELAY: ARCHIVE_DELAY,
      ESCALATE_AFTER_CRITICAL: ESCALATE_AFTER,
    },
    api: { port: apiPort, logger: createLogger('warn', process.stderr) },
  });
  cleanups.push(() => stack.stop());
  const { jira, slack, pagerduty: pd, victorops: vo, pagerdutyEvents: events, statuscast } = stack.fakes;
  const sample = fixtureJson('pagerduty-v3-incident-triggered.json');
  pd.addIncident({ id: sample.event.data.id, title: sample.event.data.title });
  const uiUrl = stack.temporal.uiUrl ?? `http://localhost:${uiPort}`;
  const { config } = stack;

  section('warroom, against local fakes');
  say(`  Temporal     ${stack.temporal.address}, namespace default (in memory)`);
  say(`  Temporal UI  ${uiUrl}`);
  say(`  API          ${stack.apiUrl}`);
  say(`  fakes        Slack ${slack.url}  Jira ${jira.url}  PagerDuty ${pd.url}  VictorOps ${new URL(vo.url).origin}`);
  say(`               StatusCast ${statuscast.url}  PagerDuty Events ${events.url}`);
  say(
    `  settings     responders sam.sre@example.com, nobody@example.com (not in Slack); announcements #${ANNOUNCE_CHANNEL}; archive ${ARCHIVE_DELAY} after resolve`,
  );
  say(
    `               status page: ${config.statuscast?.monitors.map((monitor) => `${monitor.name} ${monitor.autoPublish ? 'published' : 'draft'}${monitor.autoClose ? ', auto-close' : ''}`).join('; ')} (${stack.env.STATUSCAST_MONITORS_FILE})`,
  );
  say('               Slack buttons on (signing secret set); PagerDuty change events and failure alerts on');
  say(`               critical incidents unacknowledged for ${ESCALATE_AFTER} escalate (room told, PagerDuty paged)`);
  say(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { apiUrl: stack.apiUrl, client: stack.client, uiUrl, slack, jira, pd, vo, events, statuscast };
}

// ---------------------------------------------------------------------------------------------
// Webhooks and the API

async function call(stack: Demo, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.apiUrl}${path}`, { method, body, headers });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text };
  }
  return { status: response.status, body: json };
}

/** Posts a PagerDuty v3 sample, signed as PagerDuty signs it; returns the incident key. */
async function postPagerDuty(stack: Demo, file: string): Promise<string> {
  const sample = JSON.parse(fixture(file).toString('utf8')) as { event: { event_type: string; occurred_at: string; data: { id: string } } };
  // Stamped now, as PagerDuty would: the postmortem measures time to resolve from it.
  sample.event.occurred_at = new Date().toISOString();
  const body = Buffer.from(JSON.stringify(sample));
  const event = sample.event;
  const answer = await call(stack, 'POST', '/webhooks/pagerduty', body, {
    'content-type': 'application/json',
    ...signPagerDuty(body, PAGERDUTY_SECRET),
  });
  say(
    `  POST /webhooks/pagerduty  ${event.event_type} ${event.data.id} (signed)  → ${answer.status} ${answer.body.outcome ?? answer.body.error ?? ''}`,
  );
  if (answer.status !== 202) throw new Error(`PagerDuty webhook answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.key as string;
}

/** Posts the VictorOps escalation sample, signed as VictorOps signs it; returns the incident key. */
async function postVictorOps(stack: Demo): Promise<string> {
  const body = fixture('victorops-escalation.form-urlencoded.txt');
  const answer = await call(stack, 'POST', '/webhooks/victorops', body, {
    'content-type': 'application/x-www-form-urlencoded',
    ...signVictorOps(body, VICTOROPS_KEY, `${stack.apiUrl}/webhooks/victorops`),
  });
  const incident = new URLSearchParams(body.toString('utf8')).get('incident');
  say(
    `  POST /webhooks/victorops  escalation, incident ${incident} (signed)  → ${answer.status} ${answer.body.outcome ?? answer.body.error ?? ''}`,
  );
  if (answer.status !== 202) throw new Error(`VictorOps webhook answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.key as string;
}

type Button = { type: string; action_id?: string; value?: string; style?: string; text?: { type: string; text: string } };

/**
 * A responder clicks the Resolve button of the incident's pinned summary: the request Slack would
 * send (form body `payload=<block_actions JSON>`), signed with the app's signing secret.
 */
async function clickResolve(stack: Demo, state: IncidentState): Promise<string> {
  const { slack } = stack;
  const channel = slack.state.channels.find((candidate) => candidate.id === state.steps.slackChannel?.ref);
  if (!channel) throw new Error(`${state.key}: no Slack channel to click in`);
  const summary = slack.messages(channel.id).find((message) => message.metadata?.event_type === SLACK_EVENT_TYPES.summary);
  const actions = (summary?.blocks as Array<{ type: string; block_id?: string; elements?: Button[] }> | undefined)?.find(
    (block) => block.type === 'actions',
  );
  const button = actions?.elements?.find((element) => element.action_id === RESOLVE_ACTION);
  if (!summary || !actions || !button) throw new Error(`${state.key}: the summary in #${channel.name} has no Resolve button`);
  const user = slack.state.users.find((candidate) => candidate.email === RESPONDER_EMAIL);
  if (!user) throw new Error(`no Slack user ${RESPONDER_EMAIL}`);

  // Slack's block_actions payload (the sample's shape), for this message, this button and this user.
  const payload = fixtureJson('slack-interactive-block-actions.json');
  payload.user = { id: user.id, username: user.name, name: user.name, team_id: payload.user.team_id };
  payload.container = { type: 'message', message_ts: summary.ts, channel_id: channel.id, is_ephemeral: false };
  payload.channel = { id: channel.id, name: channel.name };
  payload.message = { type: 'message', subtype: 'bot_message', text: summary.text, ts: summary.ts, blocks: summary.blocks };
  payload.actions = [{ ...button, block_id: actions.block_id, action_ts: (Date.now() / 1000).toFixed(6) }];
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;

  say(`  ${user.realName} clicks [ ${button.text?.text ?? 'Resolve'} ] on the pinned summary in #${channel.name}`);
  const answer = await call(stack, 'POST', '/slack/interactions', Buffer.from(body), {
    'content-type': 'application/x-www-form-urlencoded',
    ...signSlack(body, SLACK_SIGNING_SECRET),
  });
  say(
    `  POST /slack/interactions  block_actions ${button.action_id} ${button.value}, user ${user.name} (signed)  → ${answer.status}${answer.body?.error ? ` ${answer.body.error}` : ''}`,
  );
  if (answer.status !== 200 || answer.body?.text)
    throw new Error(`the Slack click answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return user.name;
}

/** A signed `/incident` as Slack posts it (the captured form, with this text, channel and user); answers Slack's JSON. */
async function slashCommand(stack: Demo, text: string, channel: { id: string; name: string }, user: FakeUser) {
  const params = new URLSearchParams(fixture('slack-slash-command-declare.form-urlencoded.txt').toString());
  params.set('text', text);
  params.set('channel_id', channel.id);
  params.set('channel_name', channel.name);
  params.set('user_id', user.id);
  params.set('user_name', user.name);
  params.set('trigger_id', `${Date.now()}.738474920.${Math.random().toString(16).slice(2, 14)}`);
  const body = params.toString();
  const answer = await call(stack, 'POST', '/slack/commands', Buffer.from(body), {
    'content-type': 'application/x-www-form-urlencoded',
    ...signSlack(body, SLACK_SIGNING_SECRET),
  });
  if (answer.status !== 200) throw new Error(`/incident ${text} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const shown = answer.body as { response_type: string; text: string };
  say(`  ${user.realName} in #${channel.name}: /incident ${text}`);
  say(`  → ${shown.response_type === 'in_channel' ? 'to the channel' : 'only to them'}:`);
  say(indent(shown.text, '      '));
  return shown;
}

/** The person who declares in the demo: a user of the Slack fake, not among the default responders. */
const DECLARER_EMAIL = 'dana.oncall@example.com';

async function declareInSlack(stack: Demo): Promise<string> {
  const user = stack.slack.state.users.find((candidate) => candidate.email === DECLARER_EMAIL);
  if (!user) throw new Error(`no Slack user ${DECLARER_EMAIL}`);
  const general = { id: 'C0GENERAL', name: 'general' };
  const answer = await slashCommand(stack, 'Payments failing for EU cards sev:critical service:payments-api', general, user);
  const key = /`(slack-[a-z0-9-]+)`/.exec(answer.text)?.[1];
  if (!key) throw new Error(`the declaration named no incident: ${answer.text}`);
  return key;
}

/** A status update and the status, typed in the declared incident's room once the room is found by its channel. */
async function inDeclaredRoom(stack: Demo, state: IncidentState): Promise<void> {
  const channel = stack.slack.state.channels.find((candidate) => candidate.id === state.steps.slackChannel?.ref);
  const user = stack.slack.state.users.find((candidate) => candidate.email === DECLARER_EMAIL);
  if (!channel || !user) throw new Error(`${state.key}: no room or no declaring user`);
  // Temporal visibility lists the room's channel a moment after the run indexed it.
  await eventually(`#${channel.name} found by its channel id`, async () => {
    for await (const _run of stack.client.workflow.list({ query: `IncidentChannel = '${channel.id}'` })) return true;
    return false;
  });
  await slashCommand(stack, 'note card processor confirms an outage on their side; failing over to the backup acquirer', channel, user);
  say();
  await slashCommand(stack, 'status', channel, user);
}

async function incident(stack: Demo, key: string): Promise<IncidentState | undefined> {
  const answer = await call(stack, 'GET', `/incidents/${key}`);
  return answer.status === 200 ? (answer.body as IncidentState) : undefined;
}

/** Polls GET /incidents/:key until every step named has finished (done, skipped or failed). */
async function untilSteps(
  stack: Demo,
  key: string,
  steps: StepName[],
  extra: (state: IncidentState) => boolean = () => true,
  timeoutMs = DEADLINE_MS,
) {
  let last: IncidentState | undefined;
  try {
    return await eventually(
      `incident ${key}`,
      async () => {
        last = await incident(stack, key);
        if (!last || !extra(last)) return undefined;
        return steps.every((step) => last!.steps[step] && last!.steps[step]!.status !== 'pending') ? last : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    const progress = last ? steps.map((step) => `${step}=${last!.steps[step]?.status ?? 'not started'}`).join(', ') : 'no state yet';
    throw new Error(`${(err as Error).message}; ${progress}`, { cause: err });
  }
}

/** A status page posted on its own (not combined) is followed by its change event: wait for that too. */
function statusPageReported(state: IncidentState): boolean {
  if (state.steps.statusPage?.status !== 'done' || state.statusPage?.combined) return true;
  const change = state.steps.changeStatusPage;
  return change !== undefined && change.status !== 'pending';
}

// ---------------------------------------------------------------------------------------------
// What people see

function userName(slack: SlackFake, id: string): string {
  const user = slack.state.users.find((candidate) => candidate.id === id);
  if (!user) return id;
  return user.isBot ? `${user.realName} (bot)` : user.realName;
}

function messageLines(slack: SlackFake, message: FakeMessage, pinned: boolean): string[] {
  const at = slackClock(message.ts);
  const who = message.username ?? userName(slack, message.user);
  switch (message.subtype) {
    case 'channel_join':
      return [
        `${at}  · ${userName(slack, message.user)} joined${message.inviter ? ` (invited by ${userName(slack, message.inviter)})` : ''}`,
      ];
    case 'channel_topic':
      return [`${at}  · ${who} set the topic`];
    case 'channel_archive':
      return [`${at}  · ${who} archived the channel`];
    default: {
      const marks = [pinned ? '📌 pinned' : '', message.edited ? '(edited)' : ''].filter(Boolean).join(' ');
      const body = message.blocks?.length ? blocksText(message.blocks, slack) : mrkdwnText(message.text, slack).split('\n');
      return [`${at}  ${bold(who)}${marks ? `  ${marks}` : ''}`, ...body.map((line) => `          ${line}`)];
    }
  }
}

function showSlack(stack: Demo, state: IncidentState): void {
  const { slack } = stack;
  const channel = slack.state.channels.find((candidate) => candidate.id === state.steps.slackChannel?.ref);
  if (!channel) {
    say(`Slack: no channel (${state.steps.slackChannel?.status ?? 'not started'}: ${state.steps.slackChannel?.detail ?? ''})`);
    return;
  }
  say(bold(`Slack #${channel.name}`) + (channel.isArchived ? '  (archived)' : ''));
  say(`  topic    ${channel.topic.value}`);
  say(`  members  ${[...channel.members].map((id) => userName(slack, id)).join(', ')}`);
  const invite = state.steps.slackInvite;
  if (invite?.detail) say(`  invites  ${invite.detail}`);
  say('  messages');
  for (const message of slack.messages(channel.id)) {
    for (const line of messageLines(slack, message, channel.pins.has(message.ts))) say(`    ${line}`);
  }
  const announce = slack.channelByName(ANNOUNCE_CHANNEL);
  const announced = announce ? slack.messages(announce.id).filter((message) => message.text.includes(`<#${channel.id}>`)) : [];
  say(`  announced in #${ANNOUNCE_CHANNEL}`);
  if (announced.length === 0) say('    (nothing)');
  for (const message of announced) for (const line of messageLines(slack, message, false)) say(`    ${line}`);
}

/** The escalation as the room, the page and the timeline show it. */
function showEscalation(stack: Demo, state: IncidentState): void {
  const entry = state.timeline.find((line) => line.what === 'escalate');
  say(`  ${entry ? clock(new Date(entry.at)) : '?'}  escalate: ${entry?.detail ?? 'not on the timeline'}`);
  const channel = state.steps.slackChannel?.ref;
  const notices = channel ? stack.slack.messages(channel).filter((message) => message.metadata?.event_type === 'warroom_escalation') : [];
  say(bold(`Slack #${state.steps.slackChannel?.name ?? '?'}`));
  if (notices.length === 0) say('    (no escalation message)');
  for (const message of notices) for (const line of messageLines(stack.slack, message, false)) say(`    ${line}`);
  const pages = [...stack.events.alerts.values()].filter((alert) => alert.keyName === 'escalationRoutingKey');
  say(bold('PagerDuty (escalation routing key)'));
  if (pages.length === 0) say('    (no page)');
  for (const page of pages) say(`    ${page.status}: ${String(page.lastPayload.summary)}  (dedup_key ${page.dedupKey})`);
}

function showJira(stack: Demo, state: IncidentState): void {
  const issue = stack.jira.state.issues.find((candidate) => candidate.key === state.steps.jiraTicket?.ref);
  if (!issue) {
    say(`Jira: no ticket (${state.steps.jiraTicket?.status ?? 'not started'}: ${state.steps.jiraTicket?.detail ?? ''})`);
    return;
  }
  say(bold(`Jira ${issue.key}`) + `  [${issue.fields.status.name}]  ${state.steps.jiraTicket?.url ?? ''}`);
  say(`  summary      ${issue.fields.summary}`);
  say(`  labels       ${(issue.fields.labels as string[]).join(', ')}`);
  say('  description');
  say(indent(adfText(issue.fields.description as AdfNode), '    '));
}

function showTimelinePost(stack: Demo, state: IncidentState): void {
  if (state.source === 'pagerduty') {
    const notes = stack.pd.state.incidents.get(state.externalId)?.notes ?? [];
    say(bold(`PagerDuty notes on incident ${state.externalId}`) + `  (${notes.length})`);
    for (const note of notes) {
      say(`  ${clock(new Date(note.created_at))}  by ${note.user.summary}`);
      say(indent(note.content, '    '));
    }
    return;
  }
  if (state.source !== 'victorops') {
    say(`Alerting tool: none to post back to (${state.steps.timelinePost?.detail ?? 'not a PagerDuty or VictorOps incident'})`);
    return;
  }
  const entityId = state.details?.entity_id ?? '';
  const posts = stack.vo.timeline(entityId).filter((alert) => alert.fields.monitoring_tool === 'warroom');
  say(bold(`VictorOps timeline of ${entityId}`) + `  (${posts.length} post${posts.length === 1 ? '' : 's'} by warroom)`);
  for (const post of posts) {
    say(`  ${clock(new Date(post.receivedAt))}  ${post.messageType}  monitoring_tool=${String(post.fields.monitoring_tool)}`);
    say(`    entity_id      ${String(post.fields.entity_id)}`);
    say(indent(String(post.fields.state_message), '    state_message  ').replace(/\n {4}state_message {2}/g, '\n                   '));
  }
}

/** How StatusCast labels an incident's status on its dashboard. */
const PAGE_STATUS: Record<StatusCastIncident['status'], string> = {
  InProgress: 'Published',
  Draft: 'Draft',
  Future: 'Scheduled',
  Closed: 'Closed',
};

function statusPageOf(stack: Demo, state: IncidentState): StatusCastIncident | undefined {
  const ref = Number(state.steps.statusPage?.ref);
  return (
    stack.statuscast.incidents.get(ref) ?? [...stack.statuscast.incidents.values()].find((candidate) => candidate.externalId === state.key)
  );
}

/** The StatusCast incident as a customer reads it: title, status, posts, affected components. */
function showStatusPage(stack: Demo, state: IncidentState): void {
  const page = statusPageOf(stack, state);
  if (!page) {
    say(`Status page: nothing posted (${state.steps.statusPage?.status ?? 'not started'}: ${state.steps.statusPage?.detail ?? ''})`);
    return;
  }
  const where =
    page.status === 'Draft'
      ? 'not public: a draft for someone to publish in StatusCast'
      : `${state.steps.statusPage?.url ?? ''}  (public${page.notifications.length > 0 ? `; subscribers notified ${page.notifications.length}×` : ''})`;
  say(bold(`Status page  StatusCast incident ${page.id}`) + `  [${PAGE_STATUS[page.status]}]  ${where}`);
  say(`  title     ${page.title}`);
  const componentStatus = page.posts.findLast((post) => post.newComponentStatus)?.newComponentStatus;
  const names = page.affectedComponents.map((id) => stack.statuscast.components.get(id)?.name ?? `component ${id}`);
  say(`  affects   ${names.join(', ') || '(no components)'}${componentStatus ? `: ${componentStatus}` : ''}`);
  say('  posts');
  // Dated as StatusCast shows them: the first post carries the alert's start (the sample's date), later ones their own.
  for (const post of page.posts) say(`    ${post.date.slice(0, 16).replace('T', ' ')} UTC  ${post.postType.padEnd(13)}  ${post.text}`);
}

function showTimeline(state: IncidentState): void {
  say(bold(`Incident timeline`) + `  (GET /incidents/${state.key}: ${state.status})`);
  const actorWidth = Math.min(28, Math.max(...state.timeline.map((entry) => entry.actor.length)));
  for (const entry of state.timeline) {
    const detail = entry.detail ? `  ${entry.detail}` : '';
    say(`  ${clock(new Date(entry.at), true)}  ${entry.actor.padEnd(actorWidth)}  ${entry.what}: ${entry.outcome}${detail}`);
  }
}

function showIncident(stack: Demo, state: IncidentState, label: string): void {
  section(`${label} ${state.externalId}: ${state.title}`);
  say(`Temporal run  ${stack.uiUrl}/namespaces/default/workflows/${state.workflowId}`);
  say();
  showSlack(stack, state);
  say();
  showJira(stack, state);
  say();
  showTimelinePost(stack, state);
  say();
  showStatusPage(stack, state);
  say();
  showTimeline(state);
}

/** The PagerDuty incident as PagerDuty shows it now, and every status change made through its REST API. */
function showPagerDutyIncident(stack: Demo, state: IncidentState): void {
  const incident = stack.pd.state.incidents.get(state.externalId);
  if (!incident) {
    say(
      `PagerDuty: no incident ${state.externalId} (${state.steps.pagerdutySync?.status ?? 'not synced'}: ${state.steps.pagerdutySync?.detail ?? ''})`,
    );
    return;
  }
  say(bold(`PagerDuty incident ${incident.id}`) + `  [${incident.status}]`);
  if (incident.changes.length === 0) say(`  no status change through the REST API (${state.steps.pagerdutySync?.detail ?? 'not synced'})`);
  for (const change of incident.changes) {
    const user = [...stack.pd.state.users.values()].find((candidate) => candidate.email === change.by);
    const who = user ? `${user.name} <${change.by}>` : change.by;
    say(
      `  ${clock(new Date(change.at))}  ${change.status} by ${who}, warroom's From user, for ${state.resolvedBy ?? 'the resolver'}'s click in Slack`,
    );
  }
}

/** Change events on the PagerDuty service's change timeline: they page nobody. */
function showChangeEvents(stack: Demo): void {
  const changes = stack.events.changeEvents.filter((event) => event.keyName === 'changeRoutingKey');
  say(bold('PagerDuty change events') + `  (${changes.length} sent with PAGERDUTY_CHANGE_ROUTING_KEY; they page nobody)`);
  for (const event of changes) say(`  ${clock(new Date(event.receivedAt))}  ${String(event.payload.summary)}`);
}

function showAfterResolve(stack: Demo, state: IncidentState, resolvedAt: number): void {
  section(`After resolve: ${state.key}`);
  showPagerDutyIncident(stack, state);
  say();
  showStatusPage(stack, state);
  say();
  const issue = stack.jira.state.issues.find((candidate) => candidate.key === state.steps.jiraTicket?.ref);
  if (issue) {
    say(bold(`Jira ${issue.key}`) + `  [${issue.fields.status.name}]  (${state.steps.jiraTransition?.detail ?? ''})`);
    for (const comment of issue.comments) {
      say(`  comment ${clock(new Date(comment.created))}`);
      say(indent(adfText(comment.body as AdfNode), '    '));
    }
  }
  const channel = stack.slack.state.channels.find((candidate) => candidate.id === state.steps.slackChannel?.ref);
  if (channel) {
    say();
    const archive = channel.isArchived
      ? 'archived'
      : `open, archived ${ARCHIVE_DELAY} after the close-out (SLACK_ARCHIVE_DELAY, a durable timer)`;
    say(bold(`Slack #${channel.name}`) + `  ${archive}`);
    const messages = stack.slack.messages(channel.id);
    const summary = messages.find((message) => channel.pins.has(message.ts));
    if (summary) {
      say('  pinned summary, updated');
      for (const line of messageLines(stack.slack, summary, true).slice(1)) say(`  ${line}`);
    }
    say('  last messages');
    for (const message of messages.filter((candidate) => candidate !== summary).slice(-2)) {
      for (const line of messageLines(stack.slack, message, false)) say(`    ${line}`);
    }
  }
  say();
  showChangeEvents(stack);
  say();
  // The close-out: the timeline from the resolve on.
  const resolvedEntry = state.timeline.findIndex((entry) => entry.what.startsWith('resolve from'));
  const closeOut = resolvedEntry >= 0 ? state.timeline.slice(resolvedEntry) : state.timeline.slice(-6);
  say(`  close-out done ${((Date.now() - resolvedAt) / 1000).toFixed(1)} s after the click; timeline from the resolve on:`);
  const actorWidth = Math.max(...closeOut.map((entry) => entry.actor.length));
  for (const entry of closeOut) {
    say(
      `    ${clock(new Date(entry.at), true)}  ${entry.actor.padEnd(actorWidth)}  ${entry.what}: ${entry.outcome}${entry.detail ? `  ${entry.detail}` : ''}`,
    );
  }
}

function showVendorChecks(stack: Demo): void {
  const { slack, jira, pd, vo, events, statuscast } = stack;
  const refused = [
    ...slack.problems().map((problem) => `Slack: ${problem}`),
    ...jira.refusals().map((request) => `Jira: ${request.method} ${request.path}: ${request.refused ?? 'refused'}`),
    ...pd.requests
      .filter((request) => request.spec && request.spec !== 'ok')
      .map((request) => `PagerDuty: ${request.method} ${request.path}: ${request.spec}`),
    ...vo.requests.filter((request) => request.refused).map((request) => `VictorOps: ${request.path}: ${request.refused}`),
    ...events.requests.filter((request) => request.refused).map((request) => `PagerDuty Events: ${request.path}: ${request.refused}`),
    ...statuscast.requests
      .filter((request) => request.refused)
      .map((request) => `StatusCast: ${request.method} ${request.path}: ${request.refused}`),
  ];
  section('Vendor calls');
  say(
    `  Slack ${slack.requests.length}, Jira ${jira.requests.length}, PagerDuty ${pd.requests.length}, PagerDuty Events ${events.requests.length}, ` +
      `VictorOps ${vo.requests.length}, StatusCast ${statuscast.requests.length}; each checked against the vendor's spec (VictorOps: its documented format; StatusCast: its v4 OpenAPI)`,
  );
  say(
    refused.length === 0
      ? '  refused by the spec checks: none'
      : `  refused by the spec checks:\n${refused.map((line) => `    ${line}`).join('\n')}`,
  );
  const failureAlerts = [...events.alerts.values()].filter((alert) => alert.keyName === 'routingKey');
  say(
    failureAlerts.length === 0
      ? '  failure alerts (PAGERDUTY_ROUTING_KEY): none raised, no step failed'
      : `  failure alerts (PAGERDUTY_ROUTING_KEY):\n${failureAlerts.map((alert) => `    [${alert.status}] ${String(alert.lastPayload.summary)}`).join('\n')}`,
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const stack = await startDemo();

  section('Sample webhooks');
  const sent = Date.now();
  const pagerDutyKey = await postPagerDuty(stack, 'pagerduty-v3-incident-triggered.json');
  const victorOpsKey = await postVictorOps(stack);
  const [pagerDuty, victorOps] = await Promise.all([
    untilSteps(stack, pagerDutyKey, WAR_ROOM_STEPS, statusPageReported),
    untilSteps(stack, victorOpsKey, WAR_ROOM_STEPS, statusPageReported),
  ]);
  const unfinished = [pagerDuty, victorOps].flatMap((state) =>
    WAR_ROOM_STEPS.filter((step) => state.steps[step]?.status !== 'done').map(
      (step) => `${state.key} ${step}: ${state.steps[step]?.status} ${state.steps[step]?.detail ?? ''}`,
    ),
  );
  const took = ((Date.now() - sent) / 1000).toFixed(1);
  if (unfinished.length === 0) say(`  both war rooms complete ${took} s after the webhooks`);
  else say(`  war rooms settled ${took} s after the webhooks, with steps not done:\n${unfinished.map((line) => `    ${line}`).join('\n')}`);

  showIncident(stack, pagerDuty, 'PagerDuty');
  showIncident(stack, victorOps, 'VictorOps');

  section('Declaring an incident from Slack');
  const declaredKey = await declareInSlack(stack);
  const declared = await untilSteps(stack, declaredKey, ['slackChannel', 'slackInvite', 'slackTopic', 'slackPin', 'jiraTicket']);
  say();
  await inDeclaredRoom(stack, declared);
  showIncident(stack, (await incident(stack, declaredKey)) ?? declared, 'Slack');

  section('Resolving the PagerDuty incident from Slack');
  const resolvedAt = Date.now();
  await clickResolve(stack, pagerDuty);
  const closed = await untilSteps(stack, pagerDutyKey, CLOSE_OUT_STEPS, (state) => state.status === 'resolved');
  showAfterResolve(stack, closed, resolvedAt);

  section(`Nobody acknowledged the VictorOps incident within ${ESCALATE_AFTER}`);
  showEscalation(stack, await untilSteps(stack, victorOpsKey, ['escalationPage', 'escalationNotice'], undefined, 60_000));
  showVendorChecks(stack);

  if (!KEEP) {
    say();
    say('stopping (npm run demo -- --keep keeps it running to look around)…');
    const stopStarted = Date.now();
    await stopEverything();
    say(`stopped in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s.`);
    // Everything is closed; the dev server's stop() leaves its 10 s kill-timer running, so do not wait for it.
    process.exit(0);
  }
  section('Still running');
  say(`  Temporal UI  ${stack.uiUrl}`);
  say(`  runs         ${stack.uiUrl}/namespaces/default/workflows/${pagerDuty.workflowId}`);
  say(`               ${stack.uiUrl}/namespaces/default/workflows/${victorOps.workflowId}`);
  say(`  API          ${stack.apiUrl}/incidents/${pagerDutyKey}`);
  say(`  postmortem   ${stack.apiUrl}/incidents/${pagerDutyKey}/timeline?format=markdown`);
  say('  Ctrl-C to stop');
  if (closed.steps.slackChannel?.status === 'done') {
    const archived = await untilSteps(stack, pagerDutyKey, ['slackArchive'], undefined, 120_000).catch(() => undefined);
    if (archived) {
      const run = await stack.client.workflow.getHandle(archived.workflowId).describe();
      say(
        `  ${clock(new Date())}  #${archived.steps.slackChannel?.name} archived (${archived.steps.slackArchive?.detail ?? 'done'}); run ${run.status.name.toLowerCase()}`,
      );
    }
  }
}

main().catch(async (err: Error) => {
  // Ctrl-C closes things under the demo's feet; the SIGINT handler reports and exits.
  if (interrupted) return;
  process.stderr.write(`demo failed: ${err.message}\n`);
  await stopEverything();
  process.exit(1);
});
