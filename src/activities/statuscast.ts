import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** StatusCast: the public status-page incident. Until its settings exist every call answers "not configured". */
export function createStatusCastActivities() {
  return {
    async postStatusPage(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('StatusCast');
    },
    async closeStatusPage(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('StatusCast');
    },
  };
}
