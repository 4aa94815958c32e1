import type { Config } from '../config.js';
import { createJiraActivities } from './jira.js';
import { createPagerDutyActivities } from './pagerduty.js';
import { createSlackActivities } from './slack.js';
import { createStatusCastActivities } from './statuscast.js';
import type { StepInput } from './step.js';
import { createTimelineActivities } from './timeline.js';

export type ActivityConfig = Pick<Config, 'jira' | 'slack' | 'pagerduty' | 'victorops'> & {
  temporal: Pick<Config['temporal'], 'namespace' | 'uiUrl'>;
};

/** Every activity the incident workflow can call, with real clients built once per worker. */
export function createActivities(config: ActivityConfig) {
  const { apiToken, fromEmail, apiUrl } = config.pagerduty;
  // loadConfig refuses a token without PAGERDUTY_FROM_EMAIL, so this is both or neither.
  const pagerduty = apiToken && fromEmail ? { apiToken, fromEmail, apiUrl } : undefined;
  const { uiUrl, namespace } = config.temporal;
  const withRunUrl = (input: StepInput): StepInput =>
    uiUrl && !input.runUrl
      ? { ...input, runUrl: `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(input.workflowId)}` }
      : input;
  const steps = {
    ...createJiraActivities({ settings: config.jira }),
    ...createSlackActivities({ settings: config.slack }),
    ...createTimelineActivities({ victoropsRestUrl: config.victorops.restUrl, pagerduty }),
    ...createStatusCastActivities(),
    ...createPagerDutyActivities({ pagerduty }),
  };
  // Every step sees the link to its run, so tickets, summaries and notes can point operators to it.
  const linked = Object.fromEntries(
    Object.entries(steps).map(([name, step]) => [name, (input: StepInput) => (step as (input: StepInput) => unknown)(withRunUrl(input))]),
  ) as typeof steps;
  return {
    ...linked,
    /** Non-secret settings the workflow needs for its timers. */
    async warRoomSettings(): Promise<{ archiveDelayMs: number }> {
      return { archiveDelayMs: config.slack?.archiveDelayMs ?? 0 };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { StepInput, StepOutcome } from './step.js';
export type { AssigneeEmails } from './pagerduty.js';
