import type { StatusPageMonitor } from '../config.js';
import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** `STATUSCAST_URL`, `STATUSCAST_API_TOKEN` and the monitor templates of `STATUSCAST_MONITORS_FILE`. */
export interface StatusCastSettings {
  url: string;
  apiToken: string;
  monitors: StatusPageMonitor[];
}

export interface StatusCastDeps {
  /** Absent: every call answers "not configured". */
  settings?: StatusCastSettings;
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/** What the workflow needs of a monitor template: its timers and switches, nothing secret. */
export interface StatusPagePlan {
  monitor: string;
  waitMs: number;
  combineAlerts: boolean;
  autoPublish: boolean;
  autoClose: boolean;
}

/** StatusCast: the public status-page incident (built with issue 4). */
export function createStatusCastActivities(deps: StatusCastDeps = {}) {
  return {
    /** The monitor template for the incident's service, or undefined when none applies. */
    async statusPagePlan(_input: StepInput): Promise<StatusPagePlan | undefined> {
      return undefined;
    },
    /** Creates (or finds, by externalId) the StatusCast incident of `input.statusPage`. */
    async postStatusPage(_input: StepInput): Promise<StepOutcome> {
      if (!deps.settings) return notConfigured('StatusCast');
      return notConfigured('StatusCast');
    },
    /** Closes `input.statusPage.id` with the monitor's closing comment, when auto-close is on. */
    async closeStatusPage(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('StatusCast');
    },
  };
}
