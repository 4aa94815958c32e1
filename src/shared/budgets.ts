/**
 * Vendor rate limits as budgets every worker shares. Each budget is a Temporal task queue of its
 * own (`<task queue>.<budget>`); the workers that poll it tell the server its rate
 * (`maxTaskQueueActivitiesPerSecond`) and the server paces it for all of them together, so a
 * call waits for the budget instead of being refused. Steps name their budget in the step table
 * (src/workflows/steps.ts); the incident's severity sets their priority. Imported by workflow
 * code: data and pure functions only.
 */
import type { Severity } from './incident.js';

export interface Budget {
  /** Calls a minute the server dispatches: the vendor's published limit for the method, per workspace / token (Slack Tier 2: see below). */
  perMinute: number;
  /** The method the budget paces (the tightest one its activities call), as the vendor names it. */
  method: string;
  /** Where the limit comes from. */
  source: string;
}

const SLACK_LIMITS = 'https://api.slack.com/apis/rate-limits';

/**
 * Slack's Tier 2 is "20+ a minute" in any minute, with bursts. Paced at 20 a minute no call is ever
 * refused, but a steady pace cannot use the burst (100 rooms: 297 s where the window allows 240).
 * Paced at one a second, the 21st call in a minute is answered 429 and its Retry-After pauses the
 * budget for every worker until the window frees: the pace follows Slack's own window, at the
 * cost of about one 429 per 20 calls (docs/BUDGETS.md has both measured). `slack-create=20` in
 * VENDOR_BUDGETS_PER_MINUTE chooses the strict pace.
 */
const SLACK_TIER_2_PACE = 60;

/** Every budget, with the vendor's published limit as its default (`BUDGET_<NAME>_PER_MINUTE` overrides it). */
export const BUDGETS = {
  'slack-create': { perMinute: SLACK_TIER_2_PACE, method: 'conversations.create (Tier 2)', source: SLACK_LIMITS },
  'slack-topic': { perMinute: SLACK_TIER_2_PACE, method: 'conversations.setTopic (Tier 2)', source: SLACK_LIMITS },
  'slack-pin': { perMinute: SLACK_TIER_2_PACE, method: 'pins.add (Tier 2)', source: SLACK_LIMITS },
  'slack-archive': { perMinute: SLACK_TIER_2_PACE, method: 'conversations.archive (Tier 2)', source: SLACK_LIMITS },
  'slack-invite': { perMinute: 50, method: 'conversations.invite, users.lookupByEmail (Tier 3)', source: SLACK_LIMITS },
  'slack-update': { perMinute: 50, method: 'chat.update (Tier 3)', source: SLACK_LIMITS },
  /** Every announcement goes to one channel: chat.postMessage allows about one message a second per channel. */
  'slack-announce': { perMinute: 60, method: 'chat.postMessage to the announcement channel', source: SLACK_LIMITS },
  'pagerduty-rest': {
    perMinute: 900,
    method: 'REST API (960 a minute per token)',
    source: 'https://developer.pagerduty.com/docs/rest-api-rate-limits',
  },
  'pagerduty-events': {
    perMinute: 120,
    method: 'Events API v2 (120 events a minute per integration)',
    source: 'https://developer.pagerduty.com/docs/events-api-v2-overview',
  },
  jira: {
    perMinute: 600,
    method: 'REST API (Jira Cloud publishes no fixed number; 429 beyond its cost budget)',
    source: 'https://developer.atlassian.com/cloud/jira/platform/rate-limiting/',
  },
} as const satisfies Record<string, Budget>;

export type BudgetName = keyof typeof BUDGETS;
export const BUDGET_NAMES = Object.keys(BUDGETS) as BudgetName[];

/** The task queue a budget's calls wait in: beside the workflows' own, so two deployments never share one. */
export function budgetQueue(taskQueue: string, budget: BudgetName): string {
  return `${taskQueue}.${budget}`;
}

/** The budget a task queue paces, when it is one. */
export function budgetOfQueue(taskQueue: string, queue: string): BudgetName | undefined {
  if (!queue.startsWith(`${taskQueue}.`)) return undefined;
  const name = queue.slice(taskQueue.length + 1);
  return Object.hasOwn(BUDGETS, name) ? (name as BudgetName) : undefined;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 1, error: 2, warning: 3, info: 4 };

/**
 * Temporal task priority (1 goes first; the server's default range is 1–5): the incident's
 * severity, and one lower for what furnishes or closes a room than for what opens one. So when
 * a budget is short, a critical incident's steps go before an error's, and a new room before the
 * rest of an older room of the same severity. Incidents without a severity count as warnings.
 */
export function stepPriority(severity: Severity | undefined, opens: boolean): number {
  return SEVERITY_RANK[severity ?? 'warning'] + (opens ? 0 : 1);
}
