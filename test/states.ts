import type { IncidentState } from '../src/shared/incident.js';

/** An incident's state as a run reports it, with `extra` on top: a triggered API incident with nothing done yet. */
export function incidentState(extra: Partial<IncidentState> = {}): IncidentState {
  return {
    key: 'api-x',
    workflowId: 'incident-api-x',
    source: 'api',
    externalId: 'x',
    title: 'x',
    status: 'triggered',
    triggeredAt: '2026-03-14T09:00:00.000Z',
    links: [],
    responders: [],
    steps: {},
    timeline: [],
    repeatCount: 0,
    ...extra,
  };
}
