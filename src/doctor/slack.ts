/** Slack: the bot token works, has the scopes warroom uses, and the bot can post in the announcement channel. */
import type { WebClient } from '@slack/web-api';
import {
  createSlackClient,
  findChannelByName,
  isChannelId,
  SLACK_BOT_SCOPES,
  slackErrorCode,
  slackFailure,
  type SlackChannel,
  type SlackSettings,
} from '../activities/slack.js';
import type { Config } from '../config.js';
import { fail, notConfiguredGroup, ok, skip, warn, type CheckGroup, type DoctorOptions, type Finding } from './check.js';

const INSTALL_SCOPES = "add them under the Slack app's OAuth & Permissions → Bot Token Scopes, then reinstall the app";

export function slackChecks(config: Config, options: DoctorOptions): CheckGroup {
  const settings = config.slack;
  if (!settings) return notConfiguredGroup('Slack', 'SLACK_BOT_TOKEN');
  const slack = createSlackClient(settings, { timeoutMs: options.timeoutMs });
  /** What auth.test's `x-oauth-scopes` header said; undefined when it sent none. */
  let granted: Set<string> | undefined;
  let bot = 'the bot';

  return {
    name: 'Slack',
    checks: [
      {
        name: 'token',
        async run() {
          const answer = await slack.auth.test().catch((err: unknown) => Promise.reject(slackFailure('auth.test', err)));
          const scopes = answer.response_metadata?.scopes;
          granted = scopes ? new Set(scopes) : undefined;
          if (answer.user) bot = `@${answer.user}`;
          return ok(`bot @${answer.user ?? '?'} (${answer.user_id ?? '?'}) in workspace ${answer.team ?? '?'}`);
        },
      },
      { name: 'scopes', needs: 'token', run: async () => scopesFinding(granted, settings) },
      { name: 'announcements', needs: 'token', run: () => announcementFinding(slack, settings, { granted, bot }) },
      {
        name: 'buttons',
        run: async () =>
          config.slackSigningSecret
            ? ok("/slack/interactions checks Slack's signature (SLACK_SIGNING_SECRET)")
            : warn(
                "SLACK_SIGNING_SECRET is unset: the summary's Acknowledge and Resolve buttons do nothing",
                "set it to the Slack app's signing secret",
              ),
      },
    ],
  };
}

/** Every scope these settings need is granted; a scope only other settings need is not asked for. */
function scopesFinding(granted: Set<string> | undefined, settings: SlackSettings): Finding {
  if (!granted) return warn('Slack sent no x-oauth-scopes header, so the scopes could not be checked');
  const needed = Object.entries(SLACK_BOT_SCOPES).filter(([, scope]) => scope.when?.(settings) ?? true);
  const missing = needed.filter(([name]) => !granted.has(name));
  if (missing.length > 0) return fail(`missing ${missing.map(([name, scope]) => `${name} (${scope.for})`).join(', ')}`, INSTALL_SCOPES);
  const others = Object.keys(SLACK_BOT_SCOPES).filter((name) => !needed.some(([wanted]) => wanted === name));
  return ok(`all ${needed.length} needed are granted${others.length > 0 ? ` (not needed with these settings: ${others.join(', ')})` : ''}`);
}

/** The channel SLACK_ANNOUNCE_CHANNEL names exists, is not archived, and the bot may post there (read-only: nothing is posted). */
async function announcementFinding(
  slack: WebClient,
  settings: SlackSettings,
  { granted, bot }: { granted?: Set<string>; bot: string },
): Promise<Finding> {
  const configured = settings.announceChannel;
  if (!configured) return skip('SLACK_ANNOUNCE_CHANNEL is unset: new incident channels are not announced');
  const channel = await findAnnounceChannel(slack, configured);
  const where = channel?.name ? `#${channel.name}` : configured;
  if (!channel) {
    return fail(
      `${configured} not found (SLACK_ANNOUNCE_CHANNEL)`,
      "give a public channel's name, or the id of a private channel the bot was invited to",
    );
  }
  if (channel.is_archived) return fail(`${where} is archived`, 'unarchive it or set SLACK_ANNOUNCE_CHANNEL to another channel');
  if (channel.is_member) return ok(`${where}: the bot is a member and can post`);
  if (channel.is_private || (granted && !granted.has('chat:write.public'))) {
    return fail(`${where}: the bot is not a member, so it cannot post there`, `invite it: /invite ${bot} in ${where}`);
  }
  return warn(
    `${where}: the bot can post (chat:write.public) but is not a member, so a retried announcement can appear twice`,
    `invite it (/invite ${bot} in ${where}) so warroom can see its earlier announcements`,
  );
}

/** By id (conversations.info) or by name (conversations.list, archived channels too, so doctor can say so). */
async function findAnnounceChannel(slack: WebClient, configured: string): Promise<SlackChannel | undefined> {
  const name = configured.trim().replace(/^#/, '');
  if (!isChannelId(name)) return findChannelByName(slack, name, { includeArchived: true });
  try {
    return (await slack.conversations.info({ channel: name })).channel;
  } catch (err) {
    if (slackErrorCode(err) === 'channel_not_found') return undefined;
    throw slackFailure('conversations.info', err);
  }
}
