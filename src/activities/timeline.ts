import { addTimelineNote, createPagerDutyRest, type PagerDutyRest, type PagerDutyRestSettings } from './pagerduty.js';
import { channelLabel, notConfigured, type StepInput, type StepOutcome } from './step.js';
import { createVictorOpsEndpoint, postTimelineInfo, type VictorOpsEndpoint } from './victorops.js';

export interface TimelineDeps {
  /** The worker's one PagerDuty REST client, shared with syncPagerDuty; built from `pagerduty` when absent. */
  pagerDutyRest?: PagerDutyRest;
  /** The worker's one VictorOps endpoint, shared with syncVictorOps; built from `victoropsRestUrl` when absent. */
  victorOpsEndpoint?: VictorOpsEndpoint;
  /** `VICTOROPS_REST_URL`: the full REST endpoint URL, API key and routing key included. A secret. */
  victoropsRestUrl?: string;
  /** PagerDuty REST API; notes are written as `fromEmail`. */
  pagerduty?: PagerDutyRestSettings;
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/**
 * Post-back of the war room's links onto the alerting tool's own incident timeline. How each tool
 * takes them lives in that vendor's file (a PagerDuty note, a VictorOps INFO alert).
 */
export function createTimelineActivities(deps: TimelineDeps = {}) {
  const victorOps = deps.victorOpsEndpoint ?? (deps.victoropsRestUrl ? createVictorOpsEndpoint(deps.victoropsRestUrl, deps) : undefined);
  const pagerDuty = deps.pagerDutyRest ?? (deps.pagerduty ? createPagerDutyRest(deps.pagerduty, deps) : undefined);

  return {
    /** Links to the Jira ticket and Slack channel, posted once onto the source's incident timeline. */
    async postTimelineNote(input: StepInput): Promise<StepOutcome> {
      if (input.source !== 'victorops' && input.source !== 'pagerduty') {
        return { status: 'skipped', detail: `${input.source} incidents have no alerting-tool timeline to post to` };
      }
      const lines = postBackLines(input);
      if (lines.length === 0) return { status: 'skipped', detail: 'nothing to post yet: no Jira ticket and no Slack channel' };
      if (input.source === 'victorops') {
        return victorOps ? postTimelineInfo(victorOps, input, lines) : notConfigured('VictorOps REST endpoint');
      }
      return pagerDuty ? addTimelineNote(pagerDuty, input, lines) : notConfigured('PagerDuty REST API');
    },
  };
}

/** The links a post-back carries; the same input always gives the same lines, in the same order. */
function postBackLines(input: StepInput): string[] {
  const lines: string[] = [];
  if (input.ticket) lines.push(`Jira: ${input.ticket.key}${input.ticket.url ? ` ${input.ticket.url}` : ''}`);
  if (input.channel) lines.push(`Slack: ${channelLabel(input.channel)}${input.channel.url ? ` ${input.channel.url}` : ''}`);
  return lines;
}
