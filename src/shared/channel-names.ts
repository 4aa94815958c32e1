/**
 * Incident channel names, from SLACK_CHANNEL_TEMPLATE: pure, so the API can name a room before the
 * worker has opened it (`/incident` answers with the channel it will be).
 */
import { shortHash } from './ids.js';

/** Relay's channel names, kept so people find the rooms where they always were. */
export const DEFAULT_CHANNEL_TEMPLATE = 'team-relay-production-incident-{id}';

const MAX_CHANNEL_NAME = 80;

/**
 * The incident's channel name: `{id}` in the template replaced by the external id, made valid
 * for Slack (lowercase, `a-z 0-9 - _`, at most 80 characters). Ids are matched case-insensitively;
 * any other change (dots, spaces, a cut) adds a short hash so two ids never share a name.
 * `attempt` > 1 gives `<name>-<attempt>`, for when the name is taken by someone else.
 */
export function channelName(template: string | undefined, externalId: string, attempt = 1): string {
  const pattern = template?.includes('{id}') ? template : DEFAULT_CHANNEL_TEMPLATE;
  const suffix = attempt > 1 ? `-${attempt}` : '';
  const raw = externalId.trim();
  const cleaned = slug(raw);
  const render = (id: string) => slug(`${pattern.split('{id}').join(id)}${suffix}`);
  if (cleaned !== '' && cleaned === raw.toLowerCase()) {
    const name = render(cleaned);
    if (name.length <= MAX_CHANNEL_NAME) return name;
  }
  const hash = shortHash(raw);
  const slots = pattern.split('{id}').length - 1;
  const room = Math.floor((MAX_CHANNEL_NAME - render(hash).length) / slots) - 1;
  const readable = room > 0 ? cleaned.slice(0, room).replace(/[-_]+$/, '') : '';
  const name = render(readable ? `${readable}-${hash}` : hash);
  if (name.length <= MAX_CHANNEL_NAME) return name;
  // A template too long for any id: keep its start, then the hash and suffix.
  const tail = `-${hash}${suffix}`;
  return `${slug(pattern.split('{id}').join(''))
    .slice(0, MAX_CHANNEL_NAME - tail.length)
    .replace(/[-_]+$/, '')}${tail}`;
}

/** Lowercase, runs of anything outside `a-z 0-9 _ -` become one `-`, no leading or trailing separators. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}
