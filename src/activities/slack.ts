import { notConfigured, type StepInput, type StepOutcome } from './step.js';

/** Slack: the incident channel, its summary and its archive. Until its settings exist every call answers "not configured". */
export function createSlackActivities() {
  return {
    async openChannel(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('Slack');
    },
    async announceState(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('Slack');
    },
    async closeChannel(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('Slack');
    },
  };
}
