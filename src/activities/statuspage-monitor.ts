import type { Client } from '@temporalio/client';
import type { StepInput, StepOutcome } from './step.js';

export interface StatusPageMonitorDeps {
  client?: Client;
  taskQueue: string;
}

/** Attach and detach incidents to their monitor's shared status-page run (combined alerts). */
export function createStatusPageMonitorActivities(_deps: StatusPageMonitorDeps) {
  return {
    async attachToStatusPage(_input: StepInput): Promise<StepOutcome> {
      return { status: 'skipped', detail: 'not built yet' };
    },
    async detachFromStatusPage(_input: StepInput): Promise<StepOutcome> {
      return { status: 'skipped', detail: 'not built yet' };
    },
  };
}
