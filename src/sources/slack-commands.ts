/**
 * Slack's `/incident` slash command: the form Slack posts to the command's Request URL, read into
 * what the person asked (declare, acknowledge, resolve, note, status, help), and the answers they
 * see. The request is verified as the buttons' are (`verifySlackRequest`: same signing secret,
 * raw body, five-minute window) before anything here reads it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { escapeMrkdwn, mrkdwnLink } from '../activities/slack-blocks.js';
import type { ActionResult } from '../dispatch.js';
import { slug } from '../shared/channel-names.js';
import { incidentKey } from '../shared/ids.js';
import { SEVERITIES, type IncidentEvent, type IncidentState, type Severity } from '../shared/incident.js';
import { prefix, truncate } from '../shared/text.js';
import { firstIssue } from './source.js';

/** The source of incidents declared with `/incident` (key prefix, `IncidentSource`). */
export const SLACK_SOURCE = 'slack';

const MAX_TITLE = 1024;
/** The longest note a run takes (`ActorNote.note`, `IncidentNote.note`). */
const MAX_NOTE = 4096;
/** Characters of the title kept readable in the incident's id (and so in its channel's name). */
const TITLE_IN_ID = 24;
/** Slack answers a command with at most this much text in one message. */
const MAX_ANSWER = 3000;

/** Team, channel and user ids: upper-case letters and digits (`T0EXAMPLE`, `C0W0000003`, `U0DANA`). */
const slackId = z.string().regex(/^[A-Z0-9]{2,32}$/, 'expected a Slack id such as C0123ABCD');

/** The fields of Slack's slash-command form warroom reads; Slack sends more (the deprecated `token`...), which are not read. */
const commandForm = z.object({
  command: z.string().min(1).max(64),
  text: z.string().max(8000).default(''),
  user_id: slackId,
  user_name: z.string().max(256).optional(),
  channel_id: slackId,
  channel_name: z.string().max(256).optional(),
  team_id: slackId,
  trigger_id: z.string().min(1).max(256),
});

/** What the person asked for. */
export type SlashCommand =
  | { kind: 'declare'; title: string; severity?: Severity; service?: string }
  | { kind: 'acknowledge' | 'resolve'; note?: string }
  | { kind: 'note'; note: string }
  | { kind: 'status' }
  /** Help, or a command that could not be read (`problem` says why). */
  | { kind: 'help'; problem?: string };

/** The kinds that act on the incident of the channel they are typed in. */
export type RoomCommand = Extract<SlashCommand, { kind: 'acknowledge' | 'resolve' | 'note' | 'status' }>;

/** A verified command, with who typed it and where. */
export interface SlashRequest {
  command: SlashCommand;
  /** `/incident`, or whatever name the Slack app gave the command. */
  name: string;
  user: { id: string; name: string };
  channel: { id: string; name?: string };
  team: string;
  /**
   * The same for a repeat of this request, different for every other: a digest of the team and
   * Slack's `trigger_id` (unique to each invocation). It keys a declared incident, the delivery
   * and the Temporal update id, so a repeated request changes nothing twice.
   */
  requestId: string;
}

/** `declare` is implied: any text that does not start with another subcommand is a title. */
const SUBCOMMANDS = new Map<string, SlashCommand['kind']>([
  ['declare', 'declare'],
  ['ack', 'acknowledge'],
  ['acknowledge', 'acknowledge'],
  ['resolve', 'resolve'],
  ['note', 'note'],
  ['status', 'status'],
  ['help', 'help'],
]);

/**
 * Reads the form of a verified slash-command request, or names the field that is wrong. Slack's
 * certificate check (`ssl_check=1`, sent to a command's URL now and then) is no command: `ignored`.
 */
export function parseSlashCommand(
  rawBody: Buffer,
): { request: SlashRequest } | { ignored: string } | { invalid: { field: string; message: string } } {
  const fields = new URLSearchParams(rawBody.toString('utf8'));
  if (fields.get('ssl_check') === '1') return { ignored: "Slack's certificate check" };
  const parsed = commandForm.safeParse(Object.fromEntries(fields));
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const form = parsed.data;
  return {
    request: {
      command: readCommand(form.text),
      name: form.command,
      user: { id: form.user_id, name: form.user_name?.trim() || form.user_id },
      channel: { id: form.channel_id, name: form.channel_name || undefined },
      team: form.team_id,
      requestId: createHash('sha256').update(`${form.team_id}:${form.trigger_id}`).digest('hex').slice(0, 32),
    },
  };
}

/** The command's text as a command: a subcommand and its argument, or a title to declare. */
export function readCommand(text: string): SlashCommand {
  const trimmed = text.trim();
  if (!trimmed) return { kind: 'help' };
  const [first = '', ...rest] = trimmed.split(/\s+/);
  const kind = SUBCOMMANDS.get(first.toLowerCase());
  const argument = kind ? trimmed.slice(first.length).trim() : trimmed;
  switch (kind) {
    case 'help':
      return { kind: 'help' };
    case 'status':
      return rest.length === 0 ? { kind: 'status' } : declaration(trimmed);
    case 'acknowledge':
    case 'resolve':
      return argument ? { kind, note: truncate(argument, MAX_NOTE) } : { kind };
    case 'note':
      return argument
        ? { kind: 'note', note: truncate(argument, MAX_NOTE) }
        : { kind: 'help', problem: 'Write the update after `note`: `/incident note <text>`.' };
    default:
      return declaration(argument);
  }
}

/** `<title> [sev:<severity>] [service:<name>]`, the tokens anywhere in the text. */
function declaration(text: string): SlashCommand {
  let severity: Severity | undefined;
  let service: string | undefined;
  const words: string[] = [];
  for (const word of text.split(/\s+/)) {
    const sev = /^(?:sev|severity):(.*)$/i.exec(word);
    const svc = /^service:(.+)$/i.exec(word);
    if (sev) {
      const value = (sev[1] ?? '').toLowerCase();
      if (!(SEVERITIES as readonly string[]).includes(value)) {
        return {
          kind: 'help',
          problem: `Unknown severity \`${escapeMrkdwn(sev[1] ?? '')}\`: use ${SEVERITIES.map((s) => `\`sev:${s}\``).join(', ')}.`,
        };
      }
      severity = value as Severity;
    } else if (svc) service = prefix(svc[1] ?? '', 256);
    else if (word) words.push(word);
  }
  const title = truncate(words.join(' '), MAX_TITLE);
  if (!title) return { kind: 'help', problem: 'Give the incident a title: `/incident <title> [sev:critical] [service:<name>]`.' };
  return { kind: 'declare', title, severity, service };
}

/** The incident a `/incident <title>` declares: its id is the title's start and a digest of the request, so a repeat finds it. */
export function declaredIncident(
  request: SlashRequest,
  declared: Extract<SlashCommand, { kind: 'declare' }>,
  now = new Date(),
): IncidentEvent {
  const readable = slug(declared.title)
    .slice(0, TITLE_IN_ID)
    .replace(/[-_]+$/, '');
  const digest = request.requestId.slice(0, 8);
  const externalId = readable ? `${readable}-${digest}` : digest;
  const where = request.channel.name ? `#${request.channel.name}` : request.channel.id;
  return {
    source: SLACK_SOURCE,
    externalId,
    key: incidentKey(SLACK_SOURCE, externalId),
    kind: 'trigger',
    eventId: `slack-declare-${request.requestId}`,
    title: declared.title,
    severity: declared.severity,
    service: declared.service,
    links: [{ label: `Declared in ${where}`, url: slackChannelUrl(request.team, request.channel.id) }],
    actor: request.user.name,
    occurredAt: now.toISOString(),
    slackResponders: [request.user.id],
    details: { declared_by: `${request.user.name} (${request.user.id})`, declared_in: where },
  };
}

/** A link that opens a channel, by id or by name, in whichever Slack client the reader uses. */
export function slackChannelUrl(team: string, channel: string): string {
  return `https://slack.com/app_redirect?team=${encodeURIComponent(team)}&channel=${encodeURIComponent(channel)}`;
}

/** An answer only the person who typed the command sees. */
export function ephemeral(text: string): { response_type: 'ephemeral'; text: string } {
  return { response_type: 'ephemeral', text: truncate(text, MAX_ANSWER) };
}

/** An answer the whole channel sees, under the command the person typed. */
export function inChannel(text: string): { response_type: 'in_channel'; text: string } {
  return { response_type: 'in_channel', text: truncate(text, MAX_ANSWER) };
}

/** What `/incident` does, in a few lines; `problem` first when the command could not be read. */
export function helpText(name: string, problem?: string): string {
  const lines = [
    `*${name}* runs incidents from Slack:`,
    `• \`${name} <title> [sev:critical|error|warning|info] [service:<name>]\` declares an incident and opens its war room`,
    `• In an incident's channel: \`${name} ack [note]\`, \`${name} resolve [note]\`, \`${name} note <text>\` (a status update), \`${name} status\``,
  ];
  return problem ? `${problem}\n${lines.join('\n')}` : lines.join('\n');
}

/** A room command typed outside an incident's channel: a short help line, not an error. */
export function notInRoomText(name: string, command: RoomCommand): string {
  const typed = command.kind === 'acknowledge' ? 'ack' : command.kind;
  return (
    `\`${name} ${typed}\` works in an incident's channel, and this channel is not one of an open incident. ` +
    `Declare one with \`${name} <title>\`, or \`${name} help\`.`
  );
}

/** How the declared incident's room and run can be reached before the room exists. */
export interface DeclaredRoom {
  /** The channel's name as the template makes it (Slack may add `-2` when the name is taken). */
  channelName: string;
  channelUrl: string;
  runUrl?: string;
}

/** The answer to a declaration: the incident, its room (being opened), and its run. */
export function declaredText(event: IncidentEvent, room: DeclaredRoom, fresh: boolean): string {
  const facts = [event.severity, event.service].filter(Boolean).map((fact) => escapeMrkdwn(fact as string));
  const head = fresh ? ':rotating_light: Declared' : ':information_source: Already declared (this request was seen before):';
  const lines = [
    `${head} *${escapeMrkdwn(event.title ?? '')}*${facts.length ? ` (${facts.join(', ')})` : ''} as \`${event.key}\`.`,
    `The war room is being opened: ${mrkdwnLink(room.channelUrl, `#${room.channelName}`)} (you are invited as its first responder).`,
  ];
  if (room.runUrl) lines.push(`Temporal run: ${mrkdwnLink(room.runUrl, 'incident-' + event.key)}`);
  return lines.join('\n');
}

/** The answer to an acknowledge, resolve or note: what the incident's run did, or why it did nothing. */
export function actionText(
  result: ActionResult,
  command: Extract<SlashCommand, { kind: 'acknowledge' | 'resolve' | 'note' }>,
  actor: string,
): { response_type: 'ephemeral' | 'in_channel'; text: string } {
  const key = `\`${result.key}\``;
  const who = escapeMrkdwn(actor);
  switch (result.outcome) {
    case 'acknowledged':
      return ephemeral(`:eyes: You acknowledged ${key} as ${who}; the room is told.`);
    case 'resolved':
      return ephemeral(`:white_check_mark: You resolved ${key} as ${who}; the ticket, the room and the tools are closed out.`);
    case 'noted':
      if (result.noted.repeat) return ephemeral(`This update to ${key} was recorded already; nothing changed.`);
      // A status update is for the room: everyone in the channel sees it, under the command.
      return inChannel(`:memo: *Status update* from ${who}: ${escapeMrkdwn(command.kind === 'note' ? command.note : '')}`);
    case 'refused':
      return ephemeral(`Incident ${key}: ${escapeMrkdwn(result.reason)}; nothing changed.`);
    case 'signaled':
      return ephemeral(`Incident ${key} was told (its run, from warroom 0.1, cannot answer what it did).`);
    case 'not-open':
      return ephemeral(`Incident ${key} is not open any more; nothing changed.`);
    case 'retrying':
      return ephemeral(`Incident ${key}: retrying ${escapeMrkdwn(result.retrying.join(', '))}.`);
  }
}

/** When an acknowledge, resolve or note could not be confirmed in Slack's three seconds. */
export function unconfirmedText(command: SlashCommand, name: string, declared?: { key: string; channelName: string }): string {
  const why = 'warroom could not get an answer from Temporal in time (it may be busy or down).';
  if (declared) {
    return `${why} Incident \`${declared.key}\` may still open as #${escapeMrkdwn(declared.channelName)}: look for it before you declare again.`;
  }
  return `${why} Your \`${command.kind}\` may still be applied: \`${name} status\` shows whether it was.`;
}

/** Severity, status and who changed it, the ticket, room, status page and run, and the steps still open. */
export function statusText(state: IncidentState, runUrl?: string): string {
  const steps = state.steps;
  const by = (who?: string, at?: string) => `${who ? ` by ${escapeMrkdwn(who)}` : ''}${at ? ` at ${utc(at)}` : ''}`;
  const status =
    state.status === 'resolved'
      ? `Resolved${by(state.resolvedBy, state.resolvedAt)}`
      : state.status === 'acknowledged'
        ? `Acknowledged${by(state.acknowledgedBy, state.acknowledgedAt)}`
        : 'Triggered, not acknowledged';
  const links = [
    steps.jiraTicket?.status === 'done' && steps.jiraTicket.ref
      ? `Ticket ${mrkdwnLink(steps.jiraTicket.url, steps.jiraTicket.ref)}`
      : 'Ticket: none yet',
    steps.slackChannel?.status === 'done' && steps.slackChannel.ref ? `Room <#${steps.slackChannel.ref}>` : undefined,
    steps.statusPage?.status === 'done' ? `Status page ${mrkdwnLink(steps.statusPage.url, steps.statusPage.ref ?? 'posted')}` : undefined,
    runUrl ? mrkdwnLink(runUrl, 'Temporal run') : undefined,
  ].filter(Boolean);
  const lines = [
    `*${escapeMrkdwn(state.title)}* \`${state.key}\``,
    `${status} · Severity ${escapeMrkdwn(state.severity ?? 'not given')}${state.service ? ` · Service ${escapeMrkdwn(state.service)}` : ''}`,
    links.join(' · '),
  ];
  if (state.lastUpdateAt) lines.push(`Last status update${by(state.lastUpdateBy, state.lastUpdateAt)}`);
  const open = openSteps(state);
  lines.push(open.length ? `Open steps: ${open.join('; ')}` : 'No step is pending or failed.');
  return lines.join('\n');
}

/** Steps still pending (with why, when they wait) or failed for good (with the error). */
function openSteps(state: IncidentState): string[] {
  return Object.entries(state.steps).flatMap(([name, step]) => {
    if (step?.status === 'failed')
      return [`${escapeMrkdwn(state.failures?.[name]?.what ?? name)} failed: ${escapeMrkdwn(step.detail ?? 'unknown error')}`];
    if (step?.status === 'pending') return [`${escapeMrkdwn(name)} pending${step.detail ? ` (${escapeMrkdwn(step.detail)})` : ''}`];
    return [];
  });
}

/** `09:41 UTC`, or the day too when it is not today's. */
function utc(iso: string, now = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const time = `${at.toISOString().slice(11, 16)} UTC`;
  return at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}
