import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** PagerDuty: state sync and change events. Until its settings exist every call answers "not configured". */
export function createPagerDutyActivities() {
  return {
    async syncPagerDuty(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('PagerDuty');
    },
  };
}
