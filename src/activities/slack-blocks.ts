import type { Link } from '../shared/incident.js';
import { spanText, truncate } from '../shared/text.js';
import { sourceLabel as labelOfSource } from '../sources/index.js';
import type { StepInput } from './step.js';

/** Action ids of the summary's buttons; the interactivity endpoint (close-loop issue) matches on them. */
export const ACKNOWLEDGE_ACTION = 'warroom_acknowledge';
export const RESOLVE_ACTION = 'warroom_resolve';
export const SUMMARY_ACTIONS_BLOCK = 'warroom_actions';

/** Slack's limit for a channel topic (conversations.setTopic answers `too_long` beyond it). */
export const MAX_TOPIC = 250;
const MAX_HEADER = 150;
const MAX_FIELD = 2000;
const MAX_SECTION = 3000;

interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
}
interface Button {
  type: 'button';
  action_id: string;
  text: PlainText;
  value: string;
  style?: 'primary' | 'danger';
}

/** The Block Kit blocks warroom posts (a subset of Slack's KnownBlock). */
export type SummaryBlock =
  | { type: 'header'; block_id?: string; text: PlainText }
  | { type: 'section'; block_id?: string; text?: Mrkdwn; fields?: Mrkdwn[] }
  | { type: 'context'; block_id?: string; elements: Mrkdwn[] }
  | { type: 'actions'; block_id: string; elements: Button[] };

export interface SlackMessage {
  /** Notification and fallback text. */
  text: string;
  blocks: SummaryBlock[];
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Stricter than step.ts isWebUrl on purpose: whitespace ends a mrkdwn link early, so such a URL shows as text. */
const isMrkdwnUrl = (url: string | undefined): url is string => Boolean(url && /^https?:\/\/\S+$/i.test(url));

/** A mrkdwn link; only http(s) URLs become links, and `|`, `<`, `>` in them are percent-encoded. */
export function mrkdwnLink(url: string | undefined, label: string): string {
  if (!isMrkdwnUrl(url)) return escapeMrkdwn(label);
  const safe = url.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
  return `<${safe}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`;
}

/** The alerting tool's own link for the incident: the first web link that is not one warroom made. */
export function sourceLink(input: StepInput): Link | undefined {
  const ours = new Set([input.ticket?.url, input.channel?.url, input.runUrl].filter(Boolean));
  return input.links.find((link) => isMrkdwnUrl(link.url) && !ours.has(link.url));
}

/** "Triggered", "Acknowledged by dana", "Resolved by dana". */
export function statusLine(input: StepInput): string {
  const by = input.actor ? ` by ${input.actor}` : '';
  switch (input.status) {
    case 'triggered':
      return 'Triggered';
    case 'acknowledged':
      return `Acknowledged${by}`;
    case 'resolved':
      return `Resolved${by}`;
  }
}

// Not defaultTitle on purpose: Slack shows the tool's display name ("PagerDuty Q1ABC"), and links it to the tool.
const sourceLabel = (input: StepInput) => `${labelOfSource(input.source)} ${input.externalId}`;

/**
 * The pinned summary: title, severity, state, source link, Jira link (or "pending"), and the
 * Acknowledge / Resolve buttons while they still mean something. Button values are the incident key.
 */
export function summaryMessage(input: StepInput): SlackMessage {
  const severity = input.severity ?? 'not given';
  const source = sourceLink(input);
  const jira = input.ticket ? mrkdwnLink(input.ticket.url, input.ticket.key) : '_ticket pending_';
  const fields: Mrkdwn[] = [
    { type: 'mrkdwn', text: `*Severity*\n${escapeMrkdwn(severity)}` },
    { type: 'mrkdwn', text: `*Status*\n${escapeMrkdwn(statusLine(input))}` },
    { type: 'mrkdwn', text: `*Source*\n${mrkdwnLink(source?.url, sourceLabel(input))}` },
    { type: 'mrkdwn', text: `*Jira*\n${jira}` },
  ];
  if (input.service) fields.push({ type: 'mrkdwn', text: `*Service*\n${escapeMrkdwn(input.service)}` });
  const context = [`Incident \`${escapeMrkdwn(input.key)}\``];
  if (isMrkdwnUrl(input.runUrl)) context.push(mrkdwnLink(input.runUrl, 'Temporal run'));

  const blocks: SummaryBlock[] = [
    {
      type: 'header',
      block_id: 'warroom_title',
      text: { type: 'plain_text', text: truncate(input.title || sourceLabel(input), MAX_HEADER), emoji: true },
    },
    {
      type: 'section',
      block_id: 'warroom_fields',
      fields: fields.map((field) => ({ ...field, text: truncate(field.text, MAX_FIELD) })),
    },
    { type: 'context', block_id: 'warroom_context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] },
  ];
  const buttons: Button[] = [];
  if (input.status === 'triggered') {
    buttons.push({
      type: 'button',
      action_id: ACKNOWLEDGE_ACTION,
      text: { type: 'plain_text', text: 'Acknowledge' },
      value: input.key,
      style: 'primary',
    });
  }
  if (input.status !== 'resolved') {
    buttons.push({
      type: 'button',
      action_id: RESOLVE_ACTION,
      text: { type: 'plain_text', text: 'Resolve' },
      value: input.key,
      style: 'danger',
    });
  }
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: SUMMARY_ACTIONS_BLOCK, elements: buttons });
  const icon = input.status === 'resolved' ? ':white_check_mark:' : ':rotating_light:';
  const title = escapeMrkdwn(input.title || sourceLabel(input));
  const text = `${icon} ${title} (${escapeMrkdwn(severity)}): ${escapeMrkdwn(statusLine(input))}`;
  return { text: truncate(text, MAX_SECTION), blocks };
}

/** The channel's topic: severity, then the Jira key and link (or "ticket pending"), then the title, within 250 characters. */
export function channelTopic(input: StepInput): string {
  const severity = `Severity: ${input.severity ?? 'not given'}`;
  const withUrl = input.ticket ? `Jira ${input.ticket.key}${input.ticket.url ? ` ${input.ticket.url}` : ''}` : 'Jira: ticket pending';
  let head = `${severity} | ${withUrl}`;
  // A link too long to fit is dropped before the key is.
  if (head.length > MAX_TOPIC && input.ticket) head = `${severity} | Jira ${input.ticket.key}`;
  head = truncate(head, MAX_TOPIC);
  const title = input.title.trim();
  const room = MAX_TOPIC - head.length - 3;
  return title && room > 1 ? `${head} | ${truncate(title, room)}` : head;
}

/** "Acknowledged by dana: looking at the replica" and friends, as mrkdwn. */
export function statusMessage(input: StepInput): string {
  const icon = input.status === 'resolved' ? ':white_check_mark:' : input.status === 'acknowledged' ? ':eyes:' : ':rotating_light:';
  const what = input.status === 'triggered' ? `Reopened${input.actor ? ` by ${input.actor}` : ''}` : statusLine(input);
  const note = input.note?.trim() ? `: ${input.note.trim()}` : '';
  return truncate(`${icon} *${escapeMrkdwn(what)}*${escapeMrkdwn(note)}`, MAX_SECTION);
}

/** An escalation in the room: who is mentioned, how long it waited, and whether someone was paged. */
export function escalationMessage(input: StepInput, userIds: string[], paged: boolean): string {
  const who = userIds.length > 0 ? `${userIds.map((id) => `<@${id}>`).join(' ')} ` : '';
  const page = paged ? ' Escalated through PagerDuty.' : '';
  return truncate(
    `:rotating_light: ${who}*Nobody has acknowledged this incident for ${spanText(input.escalation?.afterMs ?? 0)}.* Acknowledge it with the button on the summary or \`/incident ack\`.${page}`,
    MAX_SECTION,
  );
}

/** A reminder in the room: the incident is open and nobody posted an update since the last one. */
export function reminderMessage(input: StepInput): string {
  return truncate(
    `:hourglass: *Status update?* This incident is ${escapeMrkdwn(statusLine(input).toLowerCase())}. Post where it stands with \`/incident note <text>\`.`,
    MAX_SECTION,
  );
}

/** The announcement of a new war room in the shared channel. */
export function announcementMessage(input: StepInput, channelId: string): string {
  const severity = input.severity ? ` (${escapeMrkdwn(input.severity)})` : '';
  const source = sourceLink(input);
  const from = ` from ${mrkdwnLink(source?.url, sourceLabel(input))}`;
  return truncate(
    `:rotating_light: War room <#${channelId}> opened for *${escapeMrkdwn(input.title || sourceLabel(input))}*${severity}${from}`,
    MAX_SECTION,
  );
}
