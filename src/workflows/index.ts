export { incidentWorkflow } from './incident.js';
export type { IncidentWorkflowInput } from './incident.js';
export { statusPageWorkflow } from './status-page.js';
export type { StatusPageWorkflowInput } from './status-page.js';
