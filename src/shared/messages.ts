import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ActorNote, IncidentEvent, IncidentState } from './incident.js';

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
