import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** Jira: the incident's ticket. Until its settings exist every call answers "not configured". */
export function createJiraActivities() {
  return {
    async openTicket(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('Jira');
    },
    async closeTicket(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('Jira');
    },
  };
}
