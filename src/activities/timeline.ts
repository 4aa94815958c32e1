import { truncate } from '../shared/text.js';
import { nonRetryable } from './errors.js';
import { createPagerDutyRest, type PagerDutyRestSettings } from './pagerduty.js';
import { notConfigured, type StepInput, type StepOutcome } from './step.js';
import { createVictorOpsEndpoint, entityDisplayName, VICTOROPS_LIMITS as VO_LIMIT } from './victorops.js';

export interface TimelineDeps {
  /** `VICTOROPS_REST_URL`: the full REST endpoint URL, API key and routing key included. A secret. */
  victoropsRestUrl?: string;
  /** PagerDuty REST API; notes are written as `fromEmail`. */
  pagerduty?: PagerDutyRestSettings;
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/** The links a post-back carries; the same input always gives the same lines, in the same order. */
interface PostBack {
  lines: string[];
  jiraUrl?: string;
  slackUrl?: string;
}

/** Post-back of the war room's links onto the alerting tool's own incident timeline. */
export function createTimelineActivities(deps: TimelineDeps = {}) {
  const victorOps = deps.victoropsRestUrl ? createVictorOpsEndpoint(deps.victoropsRestUrl, deps) : undefined;
  const pagerDuty = deps.pagerduty ? createPagerDutyRest(deps.pagerduty, deps) : undefined;

  /**
   * PagerDuty: one note per incident and set of links. Notes can be read back, so an earlier
   * attempt whose answer was lost (applied, then 500 or a timeout) is found and not repeated.
   * Attempts of one activity never overlap, so read-then-write cannot race with itself.
   */
  const noteOnPagerDuty = async (input: StepInput, post: PostBack): Promise<StepOutcome> => {
    if (!pagerDuty) return notConfigured('PagerDuty REST API');
    const incident = encodeURIComponent(input.externalId);
    const marker = `warroom ref: ${input.workflowId}`;
    const content = [...post.lines, marker].join('\n');

    const listed = await pagerDuty.send('GET', `/incidents/${incident}/notes`);
    if (listed.status !== 200) throw pagerDuty.failure(listed, `read the notes of incident ${input.externalId}`);
    const notes = (listed.body as { notes?: Array<{ id?: string; content?: string }> }).notes ?? [];
    const earlier = notes.find((note) => typeof note.content === 'string' && note.content.includes(marker) && post.lines.every((line) => note.content!.includes(line)));
    if (earlier) {
      return { status: 'done', detail: `note already on PagerDuty incident ${input.externalId} (an earlier attempt)`, ref: earlier.id };
    }

    const created = await pagerDuty.send('POST', `/incidents/${incident}/notes`, { note: { content } });
    if (created.status < 200 || created.status > 299) throw pagerDuty.failure(created, `add a note to incident ${input.externalId}`);
    const id = (created.body as { note?: { id?: string } }).note?.id;
    return { status: 'done', detail: `note added to PagerDuty incident ${input.externalId}`, ref: id };
  };

  /**
   * VictorOps: an INFO alert under the incident's entity_id (INFO never pages and never changes
   * the incident's state; ACKNOWLEDGEMENT/RECOVERY would). The REST endpoint has no read-back
   * and no idempotency key, so exactly-once cannot be had here: a retry after a lost answer
   * (VictorOps applied the post, then 500 or timeout) posts a second INFO. What is guaranteed:
   * the activity is retried only after such an ambiguous failure (4xx and 429 are not applied),
   * the workflow records the step once done so replays never post again, and every repeat is
   * byte-identical (no timestamp, same fields, `warroom_ref`) so it reads as a duplicate, not
   * as news. Whether VictorOps folds an INFO with the same entity_id into the open incident
   * is not documented (API-NOTES §1c), so a duplicate may show on the timeline.
   */
  const infoToVictorOps = async (input: StepInput, post: PostBack): Promise<StepOutcome> => {
    if (!victorOps) return notConfigured('VictorOps REST endpoint');
    const entityId = input.details?.entity_id;
    if (!entityId) {
      return { status: 'skipped', detail: 'no VictorOps entity_id known for this incident: an INFO without it would not reach the incident' };
    }
    if (entityId.length > VO_LIMIT.entityId) {
      throw nonRetryable('VictorOps', `entity_id is ${entityId.length} characters, over the ${VO_LIMIT.entityId} VictorOps accepts`);
    }
    const alert: Record<string, string> = {
      message_type: 'INFO',
      entity_id: entityId,
      // The incident's own name: if VictorOps rolls the INFO into the incident, the card keeps its title.
      entity_display_name: entityDisplayName(input),
      state_message: truncate(post.lines.join('\n'), VO_LIMIT.stateMessage),
      monitoring_tool: 'warroom',
      // Ours, when VictorOps echoes it back through an outgoing webhook.
      warroom_ref: truncate(input.workflowId, VO_LIMIT.field),
    };
    if (post.jiraUrl && post.jiraUrl.length <= VO_LIMIT.annotation) alert['vo_annotate.u.Jira'] = post.jiraUrl;
    if (post.slackUrl && post.slackUrl.length <= VO_LIMIT.annotation) alert['vo_annotate.u.Slack'] = post.slackUrl;
    await victorOps.post(alert);
    return { status: 'done', detail: `INFO posted to the VictorOps timeline of ${entityId}` };
  };

  return {
    /** Links to the Jira ticket and Slack channel, posted once onto the source's incident timeline. */
    async postTimelineNote(input: StepInput): Promise<StepOutcome> {
      if (input.source !== 'victorops' && input.source !== 'pagerduty') {
        return { status: 'skipped', detail: `${input.source} incidents have no alerting-tool timeline to post to` };
      }
      const post = postBack(input);
      if (post.lines.length === 0) return { status: 'skipped', detail: 'nothing to post yet: no Jira ticket and no Slack channel' };
      return input.source === 'victorops' ? infoToVictorOps(input, post) : noteOnPagerDuty(input, post);
    },
  };
}

function postBack(input: StepInput): PostBack {
  const lines: string[] = [];
  if (input.ticket) lines.push(`Jira: ${input.ticket.key}${input.ticket.url ? ` ${input.ticket.url}` : ''}`);
  if (input.channel) {
    const name = input.channel.name ? `#${input.channel.name}` : input.channel.id;
    lines.push(`Slack: ${name}${input.channel.url ? ` ${input.channel.url}` : ''}`);
  }
  return { lines, jiraUrl: input.ticket?.url, slackUrl: input.channel?.url };
}
