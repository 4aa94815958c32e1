import { notConfigured, type StepInput, type StepOutcome } from './step.js';

export interface VictorOpsDeps {
  /** `VICTOROPS_REST_URL`: the REST endpoint URL, API key and routing key included. A secret. */
  restUrl?: string;
  /** `VICTOROPS_SYNC`: off leaves VictorOps incidents to their own tool. */
  sync: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** VictorOps state sync: ACKNOWLEDGEMENT / RECOVERY for changes made elsewhere (built with issue 4). */
export function createVictorOpsActivities(deps: VictorOpsDeps) {
  return {
    /** ACKNOWLEDGEMENT or RECOVERY under the incident's entity_id, for a change made outside VictorOps. */
    async syncVictorOps(_input: StepInput): Promise<StepOutcome> {
      if (!deps.restUrl) return notConfigured('VictorOps REST endpoint');
      return notConfigured('VictorOps state sync');
    },
  };
}
