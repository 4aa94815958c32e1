/**
 * The workflow entry of a warroom 0.1 worker, for the upgrade test: 0.1's incident workflow (kept
 * frozen in src/workflows/legacy/) under its own type name, and the status-page workflow.
 */
export { legacyIncidentWorkflow as incidentWorkflow } from '../../src/workflows/legacy/incident-v1.js';
export { statusPageWorkflow } from '../../src/workflows/status-page.js';
