import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { ACKNOWLEDGE_ACTION, RESOLVE_ACTION } from '../activities/slack-blocks.js';
import { KEY_PATTERN } from '../shared/ids.js';
import { firstIssue, safeEqual, type InboundRequest } from './source.js';

/** Slack's own replay window: a request signed more than five minutes from now is refused. */
export const SLACK_MAX_SKEW_SECONDS = 300;

/**
 * How long Temporal gets to accept a click's signal. Slack marks the click as failed when no
 * answer arrives within 3 s, so this leaves half a second for the rest of the request.
 */
export const SLACK_ACCEPT_DEADLINE_MS = 2500;

export type SlackVerdict = { ok: true } | { ok: false; reason: 'missing-header' | 'malformed' | 'stale' | 'mismatch'; error: string };

function headerValue(headers: InboundRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Checks `X-Slack-Signature` (`v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`) and that
 * `X-Slack-Request-Timestamp` is within five minutes of `nowSeconds`; run it on the raw bytes, before any parsing.
 */
export function verifySlackRequest(
  rawBody: Buffer,
  headers: InboundRequest['headers'],
  signingSecret: string,
  nowSeconds: number,
): SlackVerdict {
  const timestamp = headerValue(headers, 'x-slack-request-timestamp');
  const signature = headerValue(headers, 'x-slack-signature');
  if (!timestamp) return { ok: false, reason: 'missing-header', error: 'missing X-Slack-Request-Timestamp' };
  if (!signature) return { ok: false, reason: 'missing-header', error: 'missing X-Slack-Signature' };
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'malformed', error: 'malformed X-Slack-Request-Timestamp: expected unix seconds' };
  }
  if (!signature.startsWith('v0=')) return { ok: false, reason: 'malformed', error: 'malformed X-Slack-Signature: expected v0=<hex>' };
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'stale', error: 'X-Slack-Request-Timestamp is more than five minutes from now' };
  }
  const expected = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
  if (!safeEqual(signature, expected)) return { ok: false, reason: 'mismatch', error: 'X-Slack-Signature does not match' };
  return { ok: true };
}

/** What a click on one of the summary's buttons asks warroom to do. */
export interface SlackInteraction {
  kind: 'acknowledge' | 'resolve';
  key: string;
  /** The Slack user who clicked, by display handle. */
  actor: string;
  channelId?: string;
  messageTs?: string;
}

export type ParsedInteraction = { interaction: SlackInteraction } | { ignored: string } | { invalid: { field: string; message: string } };

const KIND_BY_ACTION = new Map<string, SlackInteraction['kind']>([
  [ACKNOWLEDGE_ACTION, 'acknowledge'],
  [RESOLVE_ACTION, 'resolve'],
]);

const text = (max: number) => z.string().max(max);

/** The parts of Slack's `block_actions` payload warroom reads; Slack sends many more, which pass through. */
const blockActionsPayload = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: text(64).min(1),
    username: text(256).optional(),
    name: text(256).optional(),
  }),
  actions: z
    .array(z.object({ action_id: text(255).min(1), value: text(2000).optional() }))
    .min(1)
    .max(25),
  channel: z.object({ id: text(64) }).nullish(),
  container: z.object({ channel_id: text(64).optional(), message_ts: text(64).optional() }).nullish(),
  message: z.object({ ts: text(64).optional() }).nullish(),
  response_url: text(2048).optional(),
});

/**
 * Reads the form field `payload` of a verified interaction request: a click on a warroom button,
 * `ignored` for any other action, or `invalid` naming the field.
 */
export function parseInteraction(rawBody: Buffer): ParsedInteraction {
  const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
  if (payload === null) return { invalid: { field: 'payload', message: 'missing form field payload' } };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (err) {
    return { invalid: { field: 'payload', message: `malformed JSON in payload: ${(err as Error).message}` } };
  }
  const parsed = blockActionsPayload.safeParse(json);
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const { user, actions, channel, container, message } = parsed.data;
  const index = actions.findIndex((action) => KIND_BY_ACTION.has(action.action_id));
  const action = actions[index];
  const kind = action && KIND_BY_ACTION.get(action.action_id);
  if (!action || !kind) return { ignored: `action ${actions[0]?.action_id} is not a warroom button` };
  if (!action.value || !KEY_PATTERN.test(action.value)) {
    return { invalid: { field: `actions.${index}.value`, message: 'expected the incident key as the button value' } };
  }
  return {
    interaction: {
      kind,
      key: action.value,
      actor: user.name || user.username || user.id,
      channelId: container?.channel_id ?? channel?.id,
      messageTs: container?.message_ts ?? message?.ts,
    },
  };
}
