import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { runUrlFor } from '../shared/ids.js';
import { createStatusPageMonitorActivities } from './statuspage-monitor.js';
import { createJiraActivities } from './jira.js';
import { createPagerDutyActivities, createPagerDutyRest } from './pagerduty.js';
import { createSlackActivities } from './slack.js';
import { createStatusCastActivities, type StatusPagePlan } from './statuscast.js';
import { notConfigured, type StepInput } from './step.js';
import { createTimelineActivities } from './timeline.js';
import { createVictorOpsActivities, createVictorOpsEndpoint } from './victorops.js';

export type ActivityConfig = Pick<
  Config,
  'jira' | 'slack' | 'pagerduty' | 'victorops' | 'statuscast' | 'escalateAfterMs' | 'remindEveryMs'
> & {
  temporal: Pick<Config['temporal'], 'namespace' | 'uiUrl'>;
};

export interface ActivityDeps {
  /** Starts and signals the per-monitor status-page runs; the worker builds it on its own connection. */
  client?: Client;
}

/** Every activity the incident workflow can call, with real clients built once per worker. */
export function createActivities(config: ActivityConfig, deps: ActivityDeps = {}) {
  const { apiToken, fromEmail, apiUrl, eventsUrl, routingKey, changeRoutingKey, escalationRoutingKey, sync } = config.pagerduty;
  // One client per vendor per worker, shared by every step that calls the vendor.
  // loadConfig refuses a token without PAGERDUTY_FROM_EMAIL, so this is both or neither.
  const pagerDutyRest = apiToken && fromEmail ? createPagerDutyRest({ apiToken, fromEmail, apiUrl }) : undefined;
  const victorOpsEndpoint = config.victorops.restUrl ? createVictorOpsEndpoint(config.victorops.restUrl) : undefined;
  const { uiUrl, namespace } = config.temporal;
  const withRunUrl = (input: StepInput): StepInput =>
    uiUrl && !input.runUrl ? { ...input, runUrl: runUrlFor(uiUrl, namespace, input.workflowId) } : input;
  const steps = {
    ...createJiraActivities({ settings: config.jira }),
    ...createSlackActivities({ settings: config.slack }),
    ...createTimelineActivities({ pagerDutyRest, victorOpsEndpoint }),
    ...createStatusCastActivities({ settings: config.statuscast }),
    ...createPagerDutyActivities({ rest: pagerDutyRest, events: { eventsUrl, routingKey, changeRoutingKey, escalationRoutingKey }, sync }),
    ...createVictorOpsActivities({ endpoint: victorOpsEndpoint, sync: config.victorops.sync }),
    ...createStatusPageMonitorActivities({ client: deps.client }),
  };
  // Every step sees the link to its run, so tickets, summaries and notes can point operators to it.
  const linked = Object.fromEntries(
    Object.entries(steps).map(([name, step]) => [name, (input: StepInput) => (step as (input: StepInput) => unknown)(withRunUrl(input))]),
  ) as typeof steps;
  /** What the close-the-loop steps will do for this incident: decided once, recorded in history. */
  const closeLoopSettings = async (input: StepInput): Promise<CloseLoopSettings> => {
    const statusPage = await steps.statusPagePlan(input);
    const noStatusPage = !config.statuscast
      ? notConfigured('StatusCast').detail
      : input.service
        ? `no status-page monitor for service "${input.service}"`
        : 'the incident names no service';
    return {
      statusPage,
      noStatusPage: statusPage ? undefined : noStatusPage,
      changeEvents: Boolean(changeRoutingKey),
      failureAlerts: Boolean(routingKey),
    };
  };
  /** Non-secret settings the workflow needs for its timers: the archive delay, and how long this incident's room holds back. */
  const warRoomSettings = async (input?: Pick<StepInput, 'severity'>): Promise<WarRoomSettings> => {
    // 0.1's runs ask without an input (src/workflows/legacy/): they never hold.
    const hold = input?.severity && input.severity !== 'critical' ? config.slack?.roomHoldMs[input.severity] : undefined;
    return { archiveDelayMs: config.slack?.archiveDelayMs ?? 0, ...(hold ? { roomHoldMs: hold } : {}) };
  };
  /** The incident's durable timers by its severity (none counts as warning, as in the budgets' priority); off ones are left out. */
  const watchSettings = (input: Pick<StepInput, 'severity'>): WatchSettings => {
    const severity = input.severity ?? 'warning';
    const escalateAfterMs = config.escalateAfterMs[severity];
    const remindEveryMs = config.remindEveryMs[severity];
    return {
      ...(escalateAfterMs > 0 ? { escalateAfterMs, escalationPage: Boolean(escalationRoutingKey) } : {}),
      ...(remindEveryMs > 0 ? { remindEveryMs } : {}),
    };
  };
  return {
    ...linked,
    closeLoopSettings,
    warRoomSettings,
    /** Everything an incident run decides once, when its war room opens: recorded in its history, carried through continue-as-new. */
    async incidentSettings(input: StepInput): Promise<IncidentSettings> {
      return { ...(await closeLoopSettings(input)), ...(await warRoomSettings(input)), ...watchSettings(input) };
    },
  };
}

/** The settings an incident run reads once (`incidentSettings`). */
export type IncidentSettings = CloseLoopSettings & WarRoomSettings & WatchSettings;

/** The incident's escalation and reminders (ESCALATE_AFTER_<SEVERITY>, REMIND_EVERY_<SEVERITY>); absent: off. Runs recorded before 0.3 have none. */
export interface WatchSettings {
  /** Unacknowledged this long after its room opened, the incident escalates. */
  escalateAfterMs?: number;
  /** An escalation also pages through PagerDuty (PAGERDUTY_ESCALATION_ROUTING_KEY is set). */
  escalationPage?: boolean;
  /** While open, the room is asked for a status update this often, unless someone posted one. */
  remindEveryMs?: number;
}

export interface WarRoomSettings {
  archiveDelayMs: number;
  /** A room below critical waits this long before it takes a channel from the shared Slack budget (SLACK_ROOM_HOLD_<SEVERITY>). */
  roomHoldMs?: number;
}

/** Non-secret switches for one incident's status page, change events and failure alerts. */
export interface CloseLoopSettings {
  /** The monitor template's plan; undefined when no status page applies. */
  statusPage?: StatusPagePlan;
  /** Why there is no status page, when there is none. */
  noStatusPage?: string;
  changeEvents: boolean;
  failureAlerts: boolean;
}

export type Activities = ReturnType<typeof createActivities>;
export type { StepInput, StepOutcome } from './step.js';
export type { AssigneeEmails } from './pagerduty.js';
