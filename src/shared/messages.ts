import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { shortHash } from './ids.js';
import type { ActorNote, IncidentEvent, IncidentNote, IncidentState, IncidentStatus, Severity, TimelineEntry } from './incident.js';

/** Task queue the worker polls and the ingress starts workflows on (overridable by config). */
export const DEFAULT_TASK_QUEUE = 'warroom';

/** Workflow type name; keep stable, recorded histories refer to it. */
export const INCIDENT_WORKFLOW = 'incidentWorkflow';

/** Every normalised webhook lands on the incident's run through this signal. */
export const incidentEventSignal = defineSignal<[IncidentEvent]>('incidentEvent');

/**
 * For other services: acknowledge the incident. A signal cannot answer, so a refused or malformed
 * one is recorded as `ignored` on the timeline; callers that need the answer use the update.
 */
export const acknowledgeSignal = defineSignal<[ActorNote]>('acknowledge');

/** For other services: resolve the incident and close everything out (fire-and-forget, like `acknowledge`). */
export const resolveSignal = defineSignal<[ActorNote]>('resolve');

/** The incident's state and timeline. */
export const incidentQuery = defineQuery<IncidentState>('incident');

/** Re-runs the incident's failed steps; their failure alerts are resolved when they succeed. */
export const retrySignal = defineSignal<[ActorNote]>('retry');

/** What an acknowledge or resolve update answers: the incident's status once it was applied. */
export interface IncidentActionResult {
  key: string;
  workflowId: string;
  status: IncidentStatus;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
}

/** What a retry update answers: the failed steps it re-runs, in words. */
export interface RetryResult {
  retrying: string[];
}

/**
 * Acknowledge, with a truthful answer (the API and Slack use it): refused with the reason when the
 * incident is already acknowledged, resolved or closed, or when the payload is not `{ by, note?, via? }`.
 */
export const acknowledgeUpdate = defineUpdate<IncidentActionResult, [ActorNote]>('acknowledgeIncident');

/** Resolve, with a truthful answer: refused when the incident is already resolved or closed. */
export const resolveUpdate = defineUpdate<IncidentActionResult, [ActorNote]>('resolveIncident');

/** Retry failed steps, with a truthful answer: refused when no step has failed or a retry is running. */
export const retryUpdate = defineUpdate<RetryResult, [ActorNote]>('retryFailedSteps');

/**
 * For other services: a status update on the timeline (`{ by, note, via?, id? }`), fire-and-forget;
 * a malformed one, or one sent to a closed run, is recorded as `ignored`.
 */
export const noteSignal = defineSignal<[IncidentNote]>('note');

/** What a note update answers: whether it went on the record, and the incident's latest status update. */
export interface NoteResult {
  key: string;
  workflowId: string;
  /** A note with this id had been recorded already: nothing was recorded again. */
  repeat: boolean;
  lastUpdateAt?: string;
  lastUpdateBy?: string;
}

/** A status update, with a truthful answer (`/incident note`): refused when the payload is malformed or the run has closed. */
export const noteUpdate = defineUpdate<NoteResult, [IncidentNote]>('noteIncident');

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
  const readable = monitor
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return `statuspage-${readable ? `${readable}-` : ''}${shortHash(monitor.toLowerCase())}`;
}
