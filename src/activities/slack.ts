import {
  ErrorCode,
  WebClient,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  type WebAPIRequestError,
} from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/activity';
import { LogLevel, type Logger } from '@slack/web-api';
import type { Config } from '../config.js';
import { channelName, DEFAULT_CHANNEL_TEMPLATE } from '../shared/channel-names.js';
import { shortHash } from '../shared/ids.js';
import { currentActivity } from './activity-context.js';
import { nonRetryable, rateLimited, unavailable } from './errors.js';
import {
  announcementMessage,
  channelTopic,
  escalationMessage,
  reminderMessage,
  statusLine,
  statusMessage,
  summaryMessage,
} from './slack-blocks.js';
import { unconfigured, type StepActivity, type StepInput, type StepOutcome } from './step.js';

export type SlackSettings = NonNullable<Config['slack']>;

export interface SlackDeps {
  slack?: WebClient;
  settings?: SlackSettings;
}

export { channelName, DEFAULT_CHANNEL_TEMPLATE };
/** Metadata event types that mark warroom's own messages, so a retry finds what an earlier attempt posted. */
export const SLACK_EVENT_TYPES = {
  summary: 'warroom_summary',
  announcement: 'warroom_announcement',
  status: 'warroom_status',
  escalation: 'warroom_escalation',
  reminder: 'warroom_reminder',
} as const;

/** `<name>`, `<name>-2` ... `<name>-20`: past that, something is wrong with the workspace, not the name. */
const MAX_NAME_ATTEMPTS = 20;
const HISTORY_PAGE = 200;
/** Bounds the search for an earlier attempt's message (2000 messages back). */
const HISTORY_PAGES = 10;
const CHANNEL_PAGE = 200;
const CHANNEL_PAGES = 50;
/** Searches start this long before the incident began, for clocks that disagree. */
const LOOKBACK_SECONDS = 3600;
const INVITE_BATCH = 1000;

/** Platform errors another attempt can succeed on; every other `ok: false` is final. */
const TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

/** conversations.invite refusals about one person: recorded on the timeline, never fatal. */
const PER_PERSON_INVITE_ERRORS: Record<string, string> = {
  already_in_channel: 'already in the channel',
  user_not_found: 'no longer a Slack user',
  cant_invite_self: 'the bot itself',
  cant_invite: 'cannot be invited',
  ura_max_channels: 'a guest at their channel limit',
  invitee_cant_see_channel: 'cannot see the channel',
};

/**
 * The bot token scopes warroom's Slack steps use, and what for: the README's list. `warroom
 * doctor` checks a token against it; `when` marks a scope only some settings need.
 */
export const SLACK_BOT_SCOPES: Record<string, { for: string; when?: (settings: SlackSettings) => boolean }> = {
  'channels:manage': { for: 'create, set up and archive public incident channels' },
  'groups:write': { for: 'the same for private incident channels', when: (settings) => settings.privateChannels },
  'channels:read': { for: 'find the announcement channel and its own channels' },
  'groups:read': { for: 'find its own private channels' },
  'channels:history': { for: 'find its earlier messages, so nothing is posted twice' },
  'groups:history': { for: 'the same in private channels' },
  'chat:write': { for: 'post and update messages' },
  'chat:write.public': { for: 'announce in a channel the bot is not a member of' },
  'chat:write.customize': {
    for: 'post as SLACK_USERNAME / SLACK_ICON_*',
    when: (settings) => Boolean(settings.username || settings.iconEmoji || settings.iconUrl),
  },
  'users:read.email': { for: 'invite responders by e-mail' },
  'pins:write': { for: 'pin the summary' },
};

/** The Web API client the worker builds once: Temporal owns retries, so the client's own are off. */
export function createSlackClient(settings: SlackSettings, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): WebClient {
  return new WebClient(settings.botToken, {
    slackApiUrl: settings.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
    logger: clientLogger,
  });
}

/** A channel object as conversations.list and conversations.info answer it (the fields warroom reads). */
export type SlackChannel = NonNullable<Awaited<ReturnType<WebClient['conversations']['info']>>['channel']>;

/** The public channel named `name` (without `#`), if the bot can see one; archived ones only when asked for. */
export async function findChannelByName(
  slack: WebClient,
  name: string,
  { includeArchived = false }: { includeArchived?: boolean } = {},
): Promise<SlackChannel | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < CHANNEL_PAGES; page += 1) {
    const answer = await call('conversations.list', () =>
      slack.conversations.list({ types: 'public_channel', exclude_archived: !includeArchived, limit: 1000, cursor }),
    );
    const found = answer.channels?.find((channel) => channel.name === name);
    if (found?.id) return found;
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!cursor) return undefined;
  }
  return undefined;
}

/** The client's own warnings go to the activity's logger (JSON via the worker), never to the console. */
const clientLogger: Logger = (() => {
  let level = LogLevel.WARN;
  // Outside an activity there is no logger to use; the call's own error still surfaces.
  const forward =
    (method: 'warn' | 'error') =>
    (...msg: unknown[]) =>
      currentActivity()?.log[method](`slack client: ${msg.map(String).join(' ')}`);
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: forward('warn'),
    error: forward('error'),
    setLevel: (next: LogLevel) => void (level = next),
    getLevel: () => level,
    setName: () => undefined,
  };
})();

/** A link that opens the channel in whichever Slack client the reader uses. */
export function channelUrl(channelId: string): string {
  return `https://slack.com/app_redirect?channel=${encodeURIComponent(channelId)}`;
}

/** Slack's steps, by the names the workflow calls them. */
const SLACK_STEPS = [
  'openChannel',
  'inviteResponders',
  'setChannelTopic',
  'postSummary',
  'pinSummary',
  'announceChannel',
  'updateSummary',
  'postStatusMessage',
  'postEscalation',
  'postReminder',
  'archiveChannel',
] as const;

/**
 * Slack: the incident channel, its people, topic, pinned summary, announcements and archive.
 * Without settings every step answers "not configured"; without an injected client it builds one.
 */
export function createSlackActivities(deps: SlackDeps = {}): Record<(typeof SLACK_STEPS)[number], StepActivity> {
  const { settings } = deps;
  if (!settings) return unconfigured('Slack', SLACK_STEPS);
  return warRoom(deps.slack ?? createSlackClient(settings), settings);
}

interface MessageSearch {
  /** The earlier message, when one was found. */
  ts?: string;
  /** False when the bot may not read the channel (not a member), so nothing could be checked. */
  readable: boolean;
}

/** What the war room's steps share on one Web API client: who the bot is, look-ups of earlier work, posting once. */
function roomTools(slack: WebClient, settings: SlackSettings) {
  let identity: Promise<{ userId: string }> | undefined;

  /** Who the bot is (auth.test), asked once per worker. */
  const bot = () =>
    (identity ??= call('auth.test', () => slack.auth.test()).then(
      (answer) => ({ userId: answer.user_id ?? '' }),
      (err: unknown) => {
        identity = undefined;
        throw err;
      },
    ));

  const customisation = () => ({
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.iconUrl ? { icon_url: settings.iconUrl } : settings.iconEmoji ? { icon_emoji: settings.iconEmoji } : {}),
  });

  /** Channels the bot created and is still in, by name (users.conversations lists only the bot's own). */
  const ownChannels = async (): Promise<Map<string, string>> => {
    const { userId } = await bot();
    const byName = new Map<string, string>();
    let cursor: string | undefined;
    for (let page = 0; page < CHANNEL_PAGES; page += 1) {
      const answer = await call('users.conversations', () =>
        slack.users.conversations({ types: 'public_channel,private_channel', exclude_archived: true, limit: CHANNEL_PAGE, cursor }),
      );
      for (const channel of answer.channels ?? []) {
        if (channel.id && channel.name && channel.creator === userId && !channel.is_archived) byName.set(channel.name, channel.id);
      }
      cursor = answer.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return byName;
  };

  /** An earlier message of ours: same metadata event type and a payload that matches. */
  const findMessage = async (
    channel: string,
    eventType: string,
    matches: (payload: Record<string, unknown>) => boolean,
    input: StepInput,
  ): Promise<MessageSearch> => {
    const started = input.triggeredAt ? Date.parse(input.triggeredAt) : Number.NaN;
    const oldest = Number.isFinite(started) ? String(Math.max(0, Math.floor(started / 1000) - LOOKBACK_SECONDS)) : undefined;
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page += 1) {
      let answer;
      try {
        answer = await slack.conversations.history({ channel, include_all_metadata: true, limit: HISTORY_PAGE, oldest, cursor });
      } catch (err) {
        if (platformError(err) === 'not_in_channel') return { readable: false };
        throw toFailure('conversations.history', err);
      }
      for (const message of answer.messages ?? []) {
        const metadata = message.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
        if (message.ts && metadata?.event_type === eventType && metadata.event_payload && matches(metadata.event_payload)) {
          return { ts: message.ts, readable: true };
        }
      }
      cursor = answer.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return { readable: true };
  };

  /** Slack users by e-mail (`users.lookupByEmail`): each id with the e-mails that found it, and the e-mails nobody has. */
  const slackUsers = async (emails: string[]): Promise<{ emailsOf: Map<string, string[]>; unknown: string[] }> => {
    const lookups = await Promise.allSettled(emails.map((email) => slack.users.lookupByEmail({ email })));
    const unknown: string[] = [];
    const emailsOf = new Map<string, string[]>();
    for (const [index, lookup] of lookups.entries()) {
      const email = emails[index] as string;
      if (lookup.status === 'rejected') {
        if (platformError(lookup.reason) !== 'users_not_found') throw toFailure('users.lookupByEmail', lookup.reason);
        unknown.push(email);
        continue;
      }
      const id = lookup.value.user?.id;
      if (!id) {
        unknown.push(email);
        continue;
      }
      emailsOf.set(id, [...(emailsOf.get(id) ?? []), email]);
    }
    return { emailsOf, unknown };
  };

  /** The people the room invites: the default responders, the incident's own and its assignees, each once. */
  const responderEmails = (input: StepInput): string[] => [
    ...new Set(
      [...settings.defaultResponders, ...input.responders, ...(input.inviteEmails ?? [])]
        .map((email) => email.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];

  /**
   * Posts one message in the incident's channel, once per scheduled step: a retry finds the earlier
   * attempt's message by its metadata (event type, incident, step) instead of posting again.
   */
  const postOnce = async (
    input: StepInput,
    eventType: string,
    text: () => Promise<string> | string,
    done: string,
  ): Promise<StepOutcome> => {
    const channel = input.channel?.id;
    if (!channel) return { status: 'skipped', detail: 'no Slack channel to tell' };
    const step = stepKey(input);
    const earlier = await findMessage(channel, eventType, (payload) => payload.incident_key === input.key && payload.step === step, input);
    if (earlier.ts) return { status: 'done', ref: earlier.ts, detail: `${done} (earlier attempt)` };
    const message = await text();
    const answer = await call('chat.postMessage', () =>
      slack.chat.postMessage({
        channel,
        text: message,
        metadata: { event_type: eventType, event_payload: { incident_key: input.key, status: input.status, step } },
        unfurl_links: false,
        unfurl_media: false,
        ...customisation(),
      }),
    );
    return { status: 'done', ref: answer.ts, detail: done };
  };

  const resolveAnnounceChannel = async (configured: string): Promise<string> => {
    const name = configured.trim().replace(/^#/, '');
    if (isChannelId(name)) return name;
    const found = await findChannelByName(slack, name);
    if (found?.id) return found.id;
    throw nonRetryable(
      'Slack',
      `announcement channel #${name} not found (SLACK_ANNOUNCE_CHANNEL): give a public channel's name or any channel's id`,
    );
  };

  return { customisation, ownChannels, findMessage, slackUsers, responderEmails, postOnce, resolveAnnounceChannel };
}

/** The war room's steps on one Web API client. */
function warRoom(slack: WebClient, settings: SlackSettings): Record<(typeof SLACK_STEPS)[number], StepActivity> {
  const { customisation, ownChannels, findMessage, slackUsers, responderEmails, postOnce, resolveAnnounceChannel } = roomTools(
    slack,
    settings,
  );
  let announceTarget: Promise<string> | undefined;

  return {
    /** Creates the channel, or finds the one an earlier attempt created; a name held by others gets a suffix. */
    async openChannel(input: StepInput): Promise<StepOutcome> {
      const first = channelName(settings.channelTemplate, input.externalId);
      let mine: Map<string, string> | undefined;
      for (let attempt = 1; attempt <= MAX_NAME_ATTEMPTS; attempt += 1) {
        const name = channelName(settings.channelTemplate, input.externalId, attempt);
        try {
          const answer = await slack.conversations.create({ name, is_private: settings.privateChannels });
          const id = answer.channel?.id;
          if (!id) throw unavailable('Slack', 'conversations.create answered without a channel id');
          const why = attempt > 1 ? ` (#${first} is taken)` : '';
          return opened(id, answer.channel?.name ?? name, `created #${answer.channel?.name ?? name}${why}`);
        } catch (err) {
          if (platformError(err) !== 'name_taken') throw toFailure('conversations.create', err);
        }
        // Taken: by our own earlier attempt (reuse it), or by someone else or an archived room (next name).
        mine ??= await ownChannels();
        const ours = mine.get(name);
        if (ours) return opened(ours, name, `reused #${name}, created by an earlier attempt`);
      }
      throw nonRetryable('Slack', `conversations.create: #${first} and ${MAX_NAME_ATTEMPTS - 1} suffixed names are all taken`);
    },

    /** Looks up default responders, the incident's responders and `inviteEmails`, and invites those found and `slackResponders`. */
    async inviteResponders(input: StepInput): Promise<StepOutcome> {
      const channel = input.channel?.id;
      if (!channel) return { status: 'skipped', detail: 'no Slack channel to invite into' };
      const emails = responderEmails(input);
      const slackIds = [...new Set(input.slackResponders ?? [])];
      if (emails.length === 0 && slackIds.length === 0) return { status: 'done', detail: 'nobody to invite' };

      const found = await slackUsers(emails);
      const { unknown } = found;
      // People known by their Slack id (who declared the incident) need no look-up; they read as their id.
      const emailsOf = new Map<string, string[]>([...slackIds.map((id): [string, string[]] => [id, []]), ...found.emailsOf]);

      const invited: string[] = [];
      const refused = new Map<string, string[]>();
      const refuse = (code: string, id: string) => refused.set(code, [...(refused.get(code) ?? []), id]);
      const invite = (ids: string[]) => slack.conversations.invite({ channel, users: ids.join(',') });
      const ids = [...emailsOf.keys()];
      for (let start = 0; start < ids.length; start += INVITE_BATCH) {
        const batch = ids.slice(start, start + INVITE_BATCH);
        try {
          await invite(batch);
          invited.push(...batch);
          continue;
        } catch (err) {
          const code = platformError(err);
          if (!code || !(code in PER_PERSON_INVITE_ERRORS)) throw toFailure('conversations.invite', err);
          if (batch.length === 1) {
            refuse(code, batch[0] as string);
            continue;
          }
        }
        // One refusal fails the whole call and invites nobody: invite each person on their own.
        for (const id of batch) {
          try {
            await invite([id]);
            invited.push(id);
          } catch (err) {
            const code = platformError(err);
            if (!code || !(code in PER_PERSON_INVITE_ERRORS)) throw toFailure('conversations.invite', err);
            refuse(code, id);
          }
        }
      }

      const who = (list: string[]) => list.flatMap((id) => (emailsOf.get(id)?.length ? (emailsOf.get(id) as string[]) : [id])).join(', ');
      const parts: string[] = [];
      if (invited.length > 0) parts.push(`invited ${who(invited)}`);
      for (const [code, list] of refused) parts.push(`${PER_PERSON_INVITE_ERRORS[code]}: ${who(list)}`);
      if (unknown.length > 0) parts.push(`no Slack user for ${unknown.join(', ')}`);
      return { status: 'done', detail: parts.join('; ') };
    },

    /** Severity, Jira key and link (or "ticket pending") and title, within 250 characters. */
    async setChannelTopic(input: StepInput): Promise<StepOutcome> {
      const channel = input.channel?.id;
      if (!channel) return { status: 'skipped', detail: 'no Slack channel for a topic' };
      const topic = channelTopic(input);
      // Every setTopic posts "set the channel topic" in the channel: skip it when a retry finds it done.
      const info = await call('conversations.info', () => slack.conversations.info({ channel }));
      if (info.channel?.topic?.value === topic) return { status: 'done', detail: `topic already set: ${topic}` };
      await call('conversations.setTopic', () => slack.conversations.setTopic({ channel, topic }));
      return { status: 'done', detail: `topic: ${topic}` };
    },

    /** Posts the Block Kit summary with Acknowledge / Resolve buttons, once per incident. */
    async postSummary(input: StepInput): Promise<StepOutcome> {
      const channel = input.channel?.id;
      if (!channel) return { status: 'skipped', detail: 'no Slack channel for the summary' };
      const earlier = await findMessage(channel, SLACK_EVENT_TYPES.summary, (payload) => payload.incident_key === input.key, input);
      if (earlier.ts) return { status: 'done', ref: earlier.ts, detail: 'summary already posted by an earlier attempt' };
      const { text, blocks } = summaryMessage(input);
      const answer = await call('chat.postMessage', () =>
        slack.chat.postMessage({
          channel,
          text,
          blocks,
          metadata: { event_type: SLACK_EVENT_TYPES.summary, event_payload: { incident_key: input.key } },
          unfurl_links: false,
          unfurl_media: false,
          ...customisation(),
        }),
      );
      if (!answer.ts) throw unavailable('Slack', 'chat.postMessage answered without a message ts');
      return { status: 'done', ref: answer.ts, detail: 'summary posted' };
    },

    /** Pins the summary (`input.summary`). */
    async pinSummary(input: StepInput): Promise<StepOutcome> {
      const summary = input.summary;
      if (!summary) return { status: 'skipped', detail: 'no summary message to pin' };
      try {
        await slack.pins.add({ channel: summary.channel, timestamp: summary.ts });
        return { status: 'done', ref: summary.ts, detail: 'summary pinned' };
      } catch (err) {
        if (platformError(err) === 'already_pinned') return { status: 'done', ref: summary.ts, detail: 'summary already pinned' };
        throw toFailure('pins.add', err);
      }
    },

    /** Announces the channel in SLACK_ANNOUNCE_CHANNEL, once per incident; skipped when that is not set. */
    async announceChannel(input: StepInput): Promise<StepOutcome> {
      if (!settings.announceChannel) return { status: 'skipped', detail: 'no announcement channel set (SLACK_ANNOUNCE_CHANNEL)' };
      const room = input.channel?.id;
      if (!room) return { status: 'skipped', detail: 'no Slack channel to announce' };
      const configured = settings.announceChannel;
      const target = await (announceTarget ??= resolveAnnounceChannel(configured).catch((err: unknown) => {
        announceTarget = undefined;
        throw err;
      }));
      const earlier = await findMessage(
        target,
        SLACK_EVENT_TYPES.announcement,
        (payload) => payload.incident_key === input.key && payload.channel === room,
        input,
      );
      if (earlier.ts) return { status: 'done', ref: earlier.ts, detail: `already announced in ${configured}` };
      const answer = await call('chat.postMessage', () =>
        slack.chat.postMessage({
          channel: target,
          text: announcementMessage(input, room),
          metadata: { event_type: SLACK_EVENT_TYPES.announcement, event_payload: { incident_key: input.key, channel: room } },
          unfurl_links: false,
          unfurl_media: false,
          ...customisation(),
        }),
      );
      const unchecked = earlier.readable
        ? ''
        : ' (the bot is not a member there, so it could not check for an earlier announcement:' +
          ' invite it to make announcements exactly-once)';
      return { status: 'done', ref: answer.ts, detail: `announced in ${configured}${unchecked}` };
    },

    /** Rewrites the summary (`input.summary`) with the current state, ticket and buttons. */
    async updateSummary(input: StepInput): Promise<StepOutcome> {
      const summary = input.summary;
      if (!summary) return { status: 'skipped', detail: 'no summary message to update' };
      const { text, blocks } = summaryMessage(input);
      await call('chat.update', () =>
        slack.chat.update({
          channel: summary.channel,
          ts: summary.ts,
          text,
          blocks,
          metadata: { event_type: SLACK_EVENT_TYPES.summary, event_payload: { incident_key: input.key } },
        }),
      );
      return { status: 'done', ref: summary.ts, detail: `summary shows: ${statusLine(input)}` };
    },

    /** Tells the channel who acknowledged, resolved or reopened it, with the note; once per workflow step. */
    async postStatusMessage(input: StepInput): Promise<StepOutcome> {
      return postOnce(input, SLACK_EVENT_TYPES.status, () => statusMessage(input), `told the channel: ${statusLine(input)}`);
    },

    /** Nobody acknowledged in time: the room hears it, with the responders mentioned so their Slack notifies them. */
    async postEscalation(input: StepInput): Promise<StepOutcome> {
      const paged = input.escalation?.paged === true;
      return postOnce(
        input,
        SLACK_EVENT_TYPES.escalation,
        async () => {
          const found = [...(await slackUsers(responderEmails(input))).emailsOf.keys()];
          // The person who declared the incident in Slack is a responder too.
          return escalationMessage(input, [...new Set([...(input.slackResponders ?? []), ...found])], paged);
        },
        `told the room nobody acknowledged${paged ? ' (paged)' : ''}`,
      );
    },

    /** The room is asked for a status update (`/incident note`). */
    async postReminder(input: StepInput): Promise<StepOutcome> {
      return postOnce(input, SLACK_EVENT_TYPES.reminder, () => reminderMessage(input), 'asked the room for a status update');
    },

    /** Archives the channel; an already archived channel counts as done. */
    async archiveChannel(input: StepInput): Promise<StepOutcome> {
      const channel = input.channel?.id;
      if (!channel) return { status: 'skipped', detail: 'no Slack channel to archive' };
      try {
        await slack.conversations.archive({ channel });
        return { status: 'done', ref: channel, detail: 'channel archived' };
      } catch (err) {
        if (platformError(err) === 'already_archived') return { status: 'done', ref: channel, detail: 'channel already archived' };
        throw toFailure('conversations.archive', err);
      }
    },
  };
}

/** Channel names are lower case, so an upper-case C/G word is a channel id. */
export function isChannelId(text: string): boolean {
  return /^[CG][A-Z0-9]+$/.test(text);
}

function opened(id: string, name: string, detail: string): StepOutcome {
  return { status: 'done', ref: id, name, url: channelUrl(id), detail };
}

/**
 * What makes one status message distinct from another: the scheduled activity (run + activity id,
 * the same across its retries), or outside Temporal the status, actor and note.
 */
function stepKey(input: StepInput): string {
  const info = currentActivity()?.info;
  // Not inside an activity (a direct call): the content of the change tells it apart.
  if (info?.workflowExecution) return `${info.workflowExecution.runId}/${info.activityId}`;
  return `${input.status}/${shortHash(`${input.actor ?? ''}\n${input.note ?? ''}`)}`;
}

/** Runs one Web API call; its failure becomes the ApplicationFailure Temporal's retry policy understands. */
async function call<T>(method: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toFailure(method, err);
  }
}

/** The `error` of an `ok: false` answer, if that is what `err` is. */
function platformError(err: unknown): string | undefined {
  if ((err as { code?: unknown })?.code !== ErrorCode.PlatformError) return undefined;
  const error = (err as WebAPIPlatformError).data?.error;
  return typeof error === 'string' ? error : undefined;
}

/**
 * 429 → rateLimited (Retry-After), ok:false → non-retryable with Slack's code (except transient
 * codes), HTTP 5xx / network / timeout → unavailable. Messages carry method and code, never a token.
 */
function toFailure(method: string, err: unknown): Error {
  if (err instanceof ApplicationFailure) return err;
  switch ((err as { code?: unknown })?.code) {
    case ErrorCode.RateLimitedError:
      return rateLimited('Slack', (err as WebAPIRateLimitedError).retryAfter * 1000);
    case ErrorCode.PlatformError: {
      const data: { error?: unknown; needed?: unknown; response_metadata?: { messages?: string[] } } =
        (err as WebAPIPlatformError).data ?? {};
      const code = typeof data.error === 'string' ? data.error : 'unknown_error';
      if (TRANSIENT_ERRORS.has(code)) return unavailable('Slack', `${method}: ${code}`);
      const needed = typeof data.needed === 'string' ? data.needed : undefined;
      return nonRetryable('Slack', `${method} refused: ${code}${hint(code, needed, data.response_metadata?.messages)}`, {
        method,
        error: code,
        ...(needed ? { needed } : {}),
      });
    }
    case ErrorCode.HTTPError: {
      const status = (err as WebAPIHTTPError).statusCode;
      if (status >= 500 || status === 408) return unavailable('Slack', `${method}: HTTP ${status}`);
      return nonRetryable('Slack', `${method}: HTTP ${status} from the Slack API (check SLACK_API_URL)`, { method, status });
    }
    case ErrorCode.RequestError: {
      const original = (err as WebAPIRequestError).original;
      if (original?.name === 'TimeoutError' || original?.name === 'AbortError') return unavailable('Slack', `${method}: timed out`);
      const cause = (original?.cause as { code?: unknown } | undefined)?.code;
      return unavailable('Slack', `${method}: request failed${typeof cause === 'string' ? ` (${cause})` : ''}`);
    }
    default:
      return unavailable('Slack', `${method}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export { toFailure as slackFailure, platformError as slackErrorCode };

/** What a person can do about a refusal. */
function hint(code: string, needed: string | undefined, messages: string[] | undefined): string {
  switch (code) {
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'token_expired':
    case 'account_inactive':
      return ' (check SLACK_BOT_TOKEN)';
    case 'missing_scope':
      return needed ? ` (the Slack app needs the ${needed} scope)` : ' (the Slack app lacks a scope)';
    case 'not_in_channel':
      return ' (invite the bot to the channel)';
    case 'channel_not_found':
      return ' (no such channel, or the bot cannot see it)';
    case 'is_archived':
      return ' (the channel is archived)';
    case 'restricted_action':
      return ' (a workspace setting forbids this)';
    default:
      return messages && messages.length > 0 ? ` (${messages.slice(0, 3).join('; ')})` : '';
  }
}
