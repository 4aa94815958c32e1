import { defineQuery, defineSignal } from '@temporalio/workflow';
import { shortHash } from './ids.js';
import type { ActorNote, IncidentEvent, IncidentState, Severity, TimelineEntry } from './incident.js';

/** Task queue the worker polls and the ingress starts workflows on (overridable by config). */
export const DEFAULT_TASK_QUEUE = 'warroom';

/** Workflow type name; keep stable, recorded histories refer to it. */
export const INCIDENT_WORKFLOW = 'incidentWorkflow';

/** Every normalised webhook lands on the incident's run through this signal. */
export const incidentEventSignal = defineSignal<[IncidentEvent]>('incidentEvent');

/** For other services: acknowledge the incident. */
export const acknowledgeSignal = defineSignal<[ActorNote]>('acknowledge');

/** For other services: resolve the incident and close everything out. */
export const resolveSignal = defineSignal<[ActorNote]>('resolve');

/** The incident's state and timeline. */
export const incidentQuery = defineQuery<IncidentState>('incident');

/** Re-runs the incident's failed steps; their failure alerts are resolved when they succeed. */
export const retrySignal = defineSignal<[ActorNote]>('retry');

/** Workflow type of the per-monitor status page run (combined alerts); keep stable. */
export const STATUS_PAGE_WORKFLOW = 'statusPageWorkflow';

/** An incident joining its monitor's shared status-page incident. */
export interface StatusPageAttach {
  key: string;
  title: string;
  severity?: Severity;
  service?: string;
}

/** The state of a monitor's shared status-page incident, as its query answers. */
export interface StatusPageState {
  monitor: string;
  /** Keys of the open incidents it stands for. */
  attached: string[];
  /** Every incident that was ever part of it. */
  incidents: string[];
  /** StatusCast's incident, once created. */
  statusPageId?: string;
  statusPageUrl?: string;
  closed: boolean;
  timeline: TimelineEntry[];
}

export const attachIncidentSignal = defineSignal<[StatusPageAttach]>('attachIncident');
export const detachIncidentSignal = defineSignal<[{ key: string; resolvedBy: string }]>('detachIncident');
export const statusPageQuery = defineQuery<StatusPageState>('statusPage');

/** The workflow ID of a monitor's shared status-page run: one per monitor name. */
export function statusPageWorkflowId(monitor: string): string {
  const readable = monitor.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return `statuspage-${readable ? `${readable}-` : ''}${shortHash(monitor.toLowerCase())}`;
}
