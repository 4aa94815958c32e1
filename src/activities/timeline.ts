import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** Post-back of links and outcomes onto the alerting tool's own incident timeline. Until its settings exist every call answers "not configured". */
export function createTimelineActivities() {
  return {
    async postTimelineNote(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('alerting tool timeline');
    },
  };
}
