/**
 * The registry of sources: every alerting tool warroom takes webhooks from, and the generic API.
 * A new source is one file in this folder and one line here; its name, label, route, variables
 * and secrets all come from that file.
 */
import type { z } from 'zod';
import { alertmanagerSource } from './alertmanager.js';
import { apiSource } from './generic.js';
import { grafanaSource } from './grafana.js';
import { pagerDutySource } from './pagerduty.js';
import type { Source } from './source.js';
import { victorOpsSource } from './victorops.js';

/** Every source, one line each; `api.ts` mounts each at its path. */
export const SOURCE_REGISTRY = [apiSource, pagerDutySource, victorOpsSource, alertmanagerSource, grafanaSource] as const;

type RegisteredSource = (typeof SOURCE_REGISTRY)[number];

/** `config.sources`: each source's settings, by its name. */
export type SourceSettings = { [S in RegisteredSource as S['name']]: ReturnType<S['settings']> };

type Intersection<Union> = (Union extends unknown ? (value: Union) => void : never) extends (value: infer Both) => void ? Both : never;

/** Every source's environment variables, as fields of the one config schema. */
export const SOURCE_VARIABLES = Object.assign({}, ...SOURCE_REGISTRY.map((source) => source.variables)) as Intersection<
  RegisteredSource['variables']
> &
  z.core.$ZodShape;

/** The registry as plain sources, for code that treats every source alike. */
const sources: readonly Source[] = SOURCE_REGISTRY;

/** Each source's settings from the parsed environment. */
export function sourceSettings(values: Record<string, unknown>): SourceSettings {
  return Object.fromEntries(sources.map((source) => [source.name, source.settings(values)])) as SourceSettings;
}

/** Runs each source's rules across its variables; `problem` names the variable. */
export function checkSourceVariables(values: Record<string, unknown>, problem: (variable: string, message: string) => void): void {
  for (const source of sources) source.check?.(values, problem);
}

/** The ways into warroom that are not sources, as people read them ("Dana via Slack"). */
const WAYS_IN = new Map<string, string>([
  ['slack', 'Slack'],
  ['signal', 'a Temporal signal'],
  ['api', 'the warroom API'],
  // The retry of failed steps reads as itself: "Dana via retry".
  ['retry', 'retry'],
]);

const LABELS = new Map(sources.map((source) => [source.name, source.label]));

/** How people read a source's name ("PagerDuty"); a way in that is a source too (`slack`, for `/incident`) reads as the way in; an unknown name reads as itself. */
export function sourceLabel(name: string): string {
  return LABELS.get(name) ?? WAYS_IN.get(name) ?? name;
}

/** How people read where a change came from: a way into warroom, else a source; unknown reads as itself. */
export function originLabel(origin: string): string {
  return WAYS_IN.get(origin) ?? sourceLabel(origin);
}

export type { Source, InboundRequest, Normalised, Verdict } from './source.js';
