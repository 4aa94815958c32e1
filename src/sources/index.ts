import { pagerDutySource } from './pagerduty.js';
import type { Source } from './source.js';
import { victorOpsSource } from './victorops.js';

/** Every alerting tool warroom accepts webhooks from; one line per tool. */
export const SOURCE_REGISTRY: readonly Source[] = [pagerDutySource, victorOpsSource];

export type { Source, InboundRequest, Normalised, Verdict } from './source.js';
