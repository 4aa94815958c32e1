export { incidentWorkflow } from './incident.js';
export type { IncidentWorkflowInput } from './incident.js';
