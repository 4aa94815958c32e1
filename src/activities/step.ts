import type { IncidentStatus, Link, Severity, SourceName } from '../shared/incident.js';

/** What a step activity knows of the incident: never a secret, only what the timeline may show. */
export interface StepInput {
  key: string;
  workflowId: string;
  source: SourceName;
  externalId: string;
  title: string;
  severity?: Severity;
  service?: string;
  status: IncidentStatus;
  links: Link[];
  responders: string[];
  assignees: string[];
  actor?: string;
  note?: string;
  /** What earlier steps created (ticket key, channel id...), so later steps can refer to them. */
  refs: Record<string, string>;
}

/** What a step reports back to the workflow, which records it on the timeline. */
export type StepOutcome =
  | { status: 'done'; detail?: string; ref?: string; url?: string }
  | { status: 'skipped'; detail: string };

/** The answer of a step whose integration has no settings: nothing was done, and it says so. */
export function notConfigured(integration: string): StepOutcome {
  return { status: 'skipped', detail: `not configured (${integration})` };
}
