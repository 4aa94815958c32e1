import { createJiraActivities } from './jira.js';
import { createPagerDutyActivities } from './pagerduty.js';
import { createSlackActivities } from './slack.js';
import { createStatusCastActivities } from './statuscast.js';
import { createTimelineActivities } from './timeline.js';

/** Every activity the incident workflow can call, built once per worker. */
export function createActivities() {
  return {
    ...createJiraActivities(),
    ...createSlackActivities(),
    ...createTimelineActivities(),
    ...createStatusCastActivities(),
    ...createPagerDutyActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { StepInput, StepOutcome } from './step.js';
