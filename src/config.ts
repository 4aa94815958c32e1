import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  bool,
  boolDefaultTrue,
  commaList,
  duration,
  durationOrOff,
  optionalHttpUrl,
  optionalString,
  port,
  secret,
  secretPartsOf,
  wholeNumber,
  withoutUnset,
} from './env.js';
import { BUDGET_NAMES, BUDGETS, type BudgetName } from './shared/budgets.js';
import { DEFAULT_CHANNEL_TEMPLATE } from './shared/channel-names.js';
import { DEFAULT_TASK_QUEUE } from './shared/messages.js';
import { checkSourceVariables, SOURCE_VARIABLES, sourceSettings } from './sources/index.js';

export { DEFAULT_CHANNEL_TEMPLATE };
/**
 * Runs a worker keeps in memory (Temporal's workflow cache). The SDK's default grows with the heap
 * limit (about 2,400 on a 4 GiB heap) at about 1 MiB of RSS per cached run; an open incident is
 * idle most of its life, and one that is not cached is replayed from its history when it next has
 * work (bench:footprint: 1,000 open incidents cost 0.7 GiB uncapped, 0.24 GiB with 100).
 */
export const DEFAULT_WORKFLOW_CACHE = 100;

/** `slack-create=30,jira=300`: budgets whose vendor limit differs from the published one, in calls a minute. */
const budgetOverrides = commaList.pipe(
  z.array(
    z
      .string()
      .regex(/^[a-z-]+=\d+(\.\d+)?$/, 'expected <budget>=<calls a minute>, e.g. slack-create=30')
      .transform((entry) => entry.split('=') as [string, string])
      .refine(([name]) => Object.hasOwn(BUDGETS, name), { message: `unknown budget; known: ${Object.keys(BUDGETS).join(', ')}` })
      .refine(([, rate]) => Number(rate) > 0, { message: 'expected more than 0 calls a minute' })
      .transform(([name, rate]) => [name as BudgetName, Number(rate)] as const),
  ),
);

const emailList = commaList.pipe(z.array(z.email()));

/** OpenTelemetry's `key=value,key2=value2` lists (resource attributes, exporter headers); values are percent-decoded. */
const keyValueList = commaList.pipe(
  z.array(z.string().regex(/^[^=\s]+\s*=/, 'expected key=value pairs separated by commas')).transform((pairs) =>
    Object.fromEntries(
      pairs.map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at).trim(), safeDecode(pair.slice(at + 1).trim())];
      }),
    ),
  ),
);

/** An exporter header list is secret as a whole and value by value (API keys of tracing backends). */
const headerValues = (value: string): string[] => [
  value,
  ...value.split(',').flatMap((pair) => {
    const at = pair.indexOf('=');
    const raw = at < 0 ? '' : pair.slice(at + 1).trim();
    return raw ? [raw, safeDecode(raw)] : [];
  }),
];

/** The trace samplers OpenTelemetry names in OTEL_TRACES_SAMPLER (jaeger_remote and xray aside). */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

const labelList = commaList.pipe(z.array(z.string().regex(/^\S+$/, 'Jira labels cannot contain spaces')));

const integrationKey = optionalString.pipe(z.string().length(32, 'expected a 32-character integration key').optional());

const STATUSCAST_INCIDENT_TYPES = ['ServiceUnavailable', 'Informational', 'ScheduledMaintenance'] as const;
const STATUSCAST_COMPONENT_STATUSES = [
  'DegradedPerformance',
  'Maintenance',
  'Unavailable',
  'Informational',
  'Available',
  'Investigating',
  'Monitoring',
  'Identified',
] as const;

/** A duration in the monitor file: `5m`, `90s`, or a number of seconds. */
const fileDuration = z.preprocess(
  (value) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? `${value}s` : value),
  duration,
);

/**
 * One status-page monitor: the behaviours StatusCast users configure on a monitor, keyed by the
 * name an incident carries (VictorOps monitor_name, PagerDuty service, the API's `service`).
 */
const monitorSchema = z.strictObject({
  name: z.string().trim().min(1),
  incidentType: z.enum(STATUSCAST_INCIDENT_TYPES).default('ServiceUnavailable'),
  affectedComponents: z.array(z.number().int().positive()).default([]),
  componentStatus: z.enum(STATUSCAST_COMPONENT_STATUSES).default('DegradedPerformance'),
  /** `{title}`, `{service}`, `{severity}`, `{key}` and `{count}` are filled in. */
  subject: z.string().trim().min(1).max(255).default('{title}'),
  message: z.string().trim().min(1).default('We are investigating an issue affecting {service}.'),
  author: z.string().trim().min(1).optional(),
  notifyEmployees: z.array(z.email()).default([]),
  waitTime: fileDuration.default(0),
  combineAlerts: z.boolean().default(false),
  autoPublish: z.boolean().default(true),
  autoClose: z.boolean().default(true),
  closingComment: z.string().trim().min(1).default('This incident has been resolved.'),
});

export type StatusPageMonitor = Omit<z.infer<typeof monitorSchema>, 'waitTime'> & { waitMs: number };

const monitorFileSchema = z.strictObject({ monitors: z.array(monitorSchema).min(1) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.monitors.forEach((monitor, index) => {
    const name = monitor.name.toLowerCase();
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['monitors', index, 'name'], message: `duplicate monitor "${monitor.name}"` });
    seen.add(name);
  });
});

/** The monitor file's monitors, or what is wrong with it (never a value from it). */
function readMonitors(path: string): { monitors: StatusPageMonitor[] } | { problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { problems: [`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`] };
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    return { problems: [`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  const parsed = monitorFileSchema.safeParse(document);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((issue) => `${path}: ${issue.path.join('.') || '(file)'}: ${issue.message}`) };
  }
  return { monitors: parsed.data.monitors.map(({ waitTime, ...monitor }) => ({ ...monitor, waitMs: waitTime })) };
}

/** Reads and validates the monitor file; throws ConfigError naming the file and each bad field. */
export function loadMonitors(path: string): StatusPageMonitor[] {
  const read = readMonitors(path);
  if ('problems' in read) {
    throw configError(read.problems.map((message) => ({ path: ['STATUSCAST_MONITORS_FILE'], message })));
  }
  return read.monitors;
}

/** The monitor whose name is the incident's service (case-insensitive), if any. */
export function findMonitor(monitors: readonly StatusPageMonitor[], service: string | undefined): StatusPageMonitor | undefined {
  if (!service) return undefined;
  const wanted = service.trim().toLowerCase();
  return monitors.find((monitor) => monitor.name.toLowerCase() === wanted);
}

/** `A / B`: the path of a rule that spans variables, as start-up names it. */
const together = (...variables: string[]) => [variables.join(' / ')];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting warroom reads, from the environment, each with its default: the core's here, each
 * source's in its own file (src/sources/). Secrets are wrapped in `secret()`.
 */
const VARIABLES = {
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  VENDOR_BUDGETS: boolDefaultTrue,
  VENDOR_BUDGETS_PER_MINUTE: budgetOverrides,
  TEMPORAL_API_KEY: secret(optionalString),
  TEMPORAL_TLS: bool,
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_UI_URL: optionalString.pipe(z.url().optional()),
  WARROOM_WORKFLOW_CACHE: z.coerce
    .number()
    .int()
    .refine((size) => size === 0 || size >= 2, 'expected 0 (no cache) or at least 2')
    .default(DEFAULT_WORKFLOW_CACHE),

  DELIVERY_MEMORY_SIZE: wholeNumber(10_000),
  DELIVERY_MEMORY_TTL: duration.default(60_000),

  TEMPORAL_CLI_PATH: optionalString,
  WARROOM_DATA_DIR: z.string().default('.warroom'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_DEV_UI_PORT: port.default(8233),

  JIRA_HOST: optionalHttpUrl,
  JIRA_EMAIL: optionalString.pipe(z.email().optional()),
  JIRA_API_TOKEN: secret(optionalString),
  JIRA_PROJECT_KEY: z
    .string()
    .trim()
    .regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'expected a Jira project key such as RLY')
    .default('RLY'),
  JIRA_ISSUE_TYPE: z.string().trim().min(1).default('Task'),
  JIRA_LABELS: labelList,

  SLACK_BOT_TOKEN: secret(optionalString),
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).default('https://slack.com/api/'),
  SLACK_CHANNEL_TEMPLATE: z.string().trim().includes('{id}', { message: 'must contain {id}' }).default(DEFAULT_CHANNEL_TEMPLATE),
  SLACK_PRIVATE_CHANNELS: bool,
  SLACK_DEFAULT_RESPONDERS: emailList,
  SLACK_USERNAME: optionalString,
  SLACK_ICON_EMOJI: optionalString,
  SLACK_ICON_URL: optionalString.pipe(z.url().optional()),
  SLACK_ARCHIVE_DELAY: duration.default(86_400_000),
  // How long a room of each severity below critical waits before it takes a channel from the shared budget.
  SLACK_ROOM_HOLD_ERROR: duration.default(0),
  SLACK_ROOM_HOLD_WARNING: duration.default(15_000),
  SLACK_ROOM_HOLD_INFO: duration.default(15_000),
  SLACK_ANNOUNCE_CHANNEL: optionalString,
  SLACK_SIGNING_SECRET: secret(optionalString),

  // An incident nobody acknowledges within this (by severity) is escalated; `off` or 0: never.
  ESCALATE_AFTER_CRITICAL: durationOrOff.default(300_000),
  ESCALATE_AFTER_ERROR: durationOrOff.default(900_000),
  ESCALATE_AFTER_WARNING: durationOrOff.default(1_800_000),
  ESCALATE_AFTER_INFO: durationOrOff.default(0),
  // While an incident is open the room is asked for a status update this often (by severity), unless someone posted one.
  REMIND_EVERY_CRITICAL: durationOrOff.default(1_800_000),
  REMIND_EVERY_ERROR: durationOrOff.default(3_600_000),
  REMIND_EVERY_WARNING: durationOrOff.default(0),
  REMIND_EVERY_INFO: durationOrOff.default(0),

  PAGERDUTY_API_TOKEN: secret(optionalString),
  PAGERDUTY_FROM_EMAIL: optionalString.pipe(z.email().optional()),
  PAGERDUTY_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.pagerduty.com'),
  PAGERDUTY_EVENTS_URL: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com'),
  PAGERDUTY_ROUTING_KEY: secret(integrationKey),
  PAGERDUTY_CHANGE_ROUTING_KEY: secret(integrationKey),
  PAGERDUTY_ESCALATION_ROUTING_KEY: secret(integrationKey),
  PAGERDUTY_SYNC: boolDefaultTrue,
  // .../alert/<api key>/<routing key>: the URL is secret as a whole, and the API key alone too.
  VICTOROPS_REST_URL: secret(optionalHttpUrl, (value) => {
    const apiKey = /\/alert\/([^/]+)\//.exec(value)?.[1];
    return apiKey ? [value, safeDecode(apiKey)] : [value];
  }),
  VICTOROPS_SYNC: boolDefaultTrue,

  STATUSCAST_URL: optionalHttpUrl,
  STATUSCAST_API_TOKEN: secret(optionalString),
  STATUSCAST_MONITORS_FILE: optionalString,

  // Observability. Tracing follows OpenTelemetry's variables; it is off unless an OTLP endpoint is set.
  WARROOM_SDK_METRICS_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1).max(65535).optional()),
  OTEL_SDK_DISABLED: bool,
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('warroom'),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalHttpUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalHttpUrl,
  OTEL_EXPORTER_OTLP_HEADERS: secret(keyValueList, headerValues),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: secret(keyValueList, headerValues),
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalString.pipe(
    z
      .enum(['http/protobuf'], {
        message: "warroom sends OTLP over HTTP as protobuf: set http/protobuf and the collector's OTLP/HTTP endpoint (port 4318)",
      })
      .optional(),
  ),
  OTEL_TRACES_SAMPLER: z.enum(TRACE_SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: optionalString.pipe(z.coerce.number<string | undefined>().min(0).max(1).optional()),

  ...SOURCE_VARIABLES,
};

type Variables = z.output<z.ZodObject<typeof VARIABLES>>;

/** Rules across variables: what must be set together, and what needs what. */
function checkVariables(env: Variables, ctx: z.RefinementCtx): void {
  const problem = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  checkSourceVariables(env, (variable, message) => problem([variable], message));
  if (Boolean(env.TEMPORAL_TLS_CLIENT_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_CLIENT_KEY_PATH)) {
    problem(together('TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'), 'set both or neither');
  }
  const jira = [env.JIRA_HOST, env.JIRA_EMAIL, env.JIRA_API_TOKEN];
  if (jira.some(Boolean) && !jira.every(Boolean)) problem(together('JIRA_HOST', 'JIRA_EMAIL', 'JIRA_API_TOKEN'), 'set all three or none');
  if (env.PAGERDUTY_API_TOKEN && !env.PAGERDUTY_FROM_EMAIL) {
    problem(['PAGERDUTY_FROM_EMAIL'], 'required with PAGERDUTY_API_TOKEN (PagerDuty needs a From user for writes)');
  }
  if (Boolean(env.STATUSCAST_URL) !== Boolean(env.STATUSCAST_API_TOKEN)) {
    problem(together('STATUSCAST_URL', 'STATUSCAST_API_TOKEN'), 'set both or neither');
  }
  if (env.STATUSCAST_MONITORS_FILE && !env.STATUSCAST_URL) {
    problem(['STATUSCAST_MONITORS_FILE'], 'needs STATUSCAST_URL and STATUSCAST_API_TOKEN');
  }
}

/** The settings as the code reads them, grouped by what they configure. */
function settingsOf(env: Variables, ctx: z.RefinementCtx) {
  let monitors: StatusPageMonitor[] = [];
  if (env.STATUSCAST_MONITORS_FILE) {
    const read = readMonitors(env.STATUSCAST_MONITORS_FILE);
    if ('problems' in read) {
      for (const message of read.problems) ctx.addIssue({ code: 'custom', path: ['STATUSCAST_MONITORS_FILE'], message });
      return z.NEVER;
    }
    monitors = read.monitors;
  }
  const tlsWanted = env.TEMPORAL_TLS || env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_CLIENT_CERT_PATH || env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const { JIRA_HOST: jiraHost, JIRA_EMAIL: jiraEmail, JIRA_API_TOKEN: jiraToken, SLACK_BOT_TOKEN: slackToken } = env;
  const { STATUSCAST_URL: statusCastUrl, STATUSCAST_API_TOKEN: statusCastToken } = env;
  return withoutUnset({
    http: { port: env.PORT, host: env.HOST },
    logLevel: env.LOG_LEVEL,
    /** Vendor rate budgets (src/shared/budgets.ts): off leaves every budget queue unpaced. */
    budgets: {
      enabled: env.VENDOR_BUDGETS,
      perMinute: {
        ...(Object.fromEntries(BUDGET_NAMES.map((name) => [name, BUDGETS[name].perMinute])) as Record<BudgetName, number>),
        ...Object.fromEntries(env.VENDOR_BUDGETS_PER_MINUTE),
      },
    },
    temporal: withoutUnset({
      /** Unset: run the embedded dev server. */
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      apiKey: env.TEMPORAL_API_KEY,
      tls: tlsWanted
        ? withoutUnset({
            clientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
            clientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
            serverCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            serverName: env.TEMPORAL_TLS_SERVER_NAME,
          })
        : undefined,
      uiUrl: env.TEMPORAL_UI_URL,
      /** Incident runs a worker keeps in memory; one beyond it is replayed from its history when it next has work. */
      workflowCache: env.WARROOM_WORKFLOW_CACHE,
    }),
    /** Deliveries the API remembers Temporal accepted, so a repeat is answered without another call; size 0: off. */
    deliveryMemory: { size: env.DELIVERY_MEMORY_SIZE, ttlMs: env.DELIVERY_MEMORY_TTL },
    embedded: withoutUnset({
      cliPath: env.TEMPORAL_CLI_PATH,
      dataDir: env.WARROOM_DATA_DIR,
      port: env.TEMPORAL_DEV_PORT,
      uiPort: env.TEMPORAL_DEV_UI_PORT,
    }),
    /** Absent unless JIRA_HOST, JIRA_EMAIL and JIRA_API_TOKEN are all set. */
    jira:
      jiraHost && jiraEmail && jiraToken
        ? {
            host: jiraHost,
            email: jiraEmail,
            apiToken: jiraToken,
            projectKey: env.JIRA_PROJECT_KEY,
            issueType: env.JIRA_ISSUE_TYPE,
            labels: env.JIRA_LABELS,
          }
        : undefined,
    /** Absent unless SLACK_BOT_TOKEN is set. */
    slack: slackToken
      ? withoutUnset({
          botToken: slackToken,
          apiUrl: env.SLACK_API_URL,
          channelTemplate: env.SLACK_CHANNEL_TEMPLATE,
          privateChannels: env.SLACK_PRIVATE_CHANNELS,
          defaultResponders: env.SLACK_DEFAULT_RESPONDERS,
          username: env.SLACK_USERNAME,
          iconEmoji: env.SLACK_ICON_EMOJI,
          iconUrl: env.SLACK_ICON_URL,
          archiveDelayMs: env.SLACK_ARCHIVE_DELAY,
          roomHoldMs: { error: env.SLACK_ROOM_HOLD_ERROR, warning: env.SLACK_ROOM_HOLD_WARNING, info: env.SLACK_ROOM_HOLD_INFO },
          announceChannel: env.SLACK_ANNOUNCE_CHANNEL,
        })
      : undefined,
    pagerduty: withoutUnset({
      apiToken: env.PAGERDUTY_API_TOKEN,
      fromEmail: env.PAGERDUTY_FROM_EMAIL,
      apiUrl: env.PAGERDUTY_API_URL,
      eventsUrl: env.PAGERDUTY_EVENTS_URL,
      /** Events API v2 integration key for warroom's own alerts (automation failures). */
      routingKey: env.PAGERDUTY_ROUTING_KEY,
      /** Events API v2 integration key for change events. */
      changeRoutingKey: env.PAGERDUTY_CHANGE_ROUTING_KEY,
      /** Events API v2 integration key paged when nobody acknowledges an incident in time. */
      escalationRoutingKey: env.PAGERDUTY_ESCALATION_ROUTING_KEY,
      /** Acknowledge/resolve PagerDuty incidents acknowledged or resolved elsewhere. */
      sync: env.PAGERDUTY_SYNC,
    }),
    /** Per severity, in ms (0: off): when an unacknowledged incident escalates, and how often the room is asked for an update. */
    escalateAfterMs: {
      critical: env.ESCALATE_AFTER_CRITICAL,
      error: env.ESCALATE_AFTER_ERROR,
      warning: env.ESCALATE_AFTER_WARNING,
      info: env.ESCALATE_AFTER_INFO,
    },
    remindEveryMs: {
      critical: env.REMIND_EVERY_CRITICAL,
      error: env.REMIND_EVERY_ERROR,
      warning: env.REMIND_EVERY_WARNING,
      info: env.REMIND_EVERY_INFO,
    },
    /** `sync`: send ACKNOWLEDGEMENT/RECOVERY for changes made elsewhere. */
    victorops: withoutUnset({ restUrl: env.VICTOROPS_REST_URL, sync: env.VICTOROPS_SYNC }),
    /** Absent unless STATUSCAST_URL and STATUSCAST_API_TOKEN are set. */
    statuscast: statusCastUrl && statusCastToken ? { url: statusCastUrl, apiToken: statusCastToken, monitors } : undefined,
    /** Traces over OTLP/HTTP; absent unless an OTLP endpoint is set (and OTEL_SDK_DISABLED is not). */
    tracing: tracingSettings(env),
    /** Port of the Temporal SDK's Prometheus endpoint (worker and step metrics); unset: main.ts picks by role. */
    sdkMetricsPort: env.WARROOM_SDK_METRICS_PORT,
    /** Slack interactivity (the summary's buttons) and the `/incident` command; absent unless SLACK_SIGNING_SECRET is set. */
    slackSigningSecret: env.SLACK_SIGNING_SECRET,
    /** How incident channels are named: the API names the room `/incident` declares before the worker opens it. */
    slackChannelTemplate: env.SLACK_CHANNEL_TEMPLATE,
    /** Each source's webhook settings (secrets, tokens), by source name. */
    sources: sourceSettings(env),
  });
}

/** Where and how traces go: OpenTelemetry's own variables, read here like every other setting. */
function tracingSettings(env: Variables) {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url || env.OTEL_SDK_DISABLED) return undefined;
  return {
    serviceName: env.OTEL_SERVICE_NAME,
    resourceAttributes: env.OTEL_RESOURCE_ATTRIBUTES,
    url,
    headers: { ...env.OTEL_EXPORTER_OTLP_HEADERS, ...env.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
  };
}

export type TracingSettings = NonNullable<ReturnType<typeof tracingSettings>>;

/** The one schema of every setting: the variables, the rules across them, and the settings they make. */
const configSchema = z.object(VARIABLES).superRefine(checkVariables).transform(settingsOf);

export type Config = z.output<typeof configSchema>;

/** Every variable warroom's config reads (WARROOM_ROLE, read by main.ts, aside). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/** Every variable that holds a secret: they never enter workflow inputs, histories or logs. */
export const SECRET_VARIABLES: readonly string[] = Object.entries(VARIABLES)
  .filter(([, field]) => secretPartsOf(field, '') !== undefined)
  .map(([name]) => name);

/** The secret variables of the sources: with none set, anyone who can reach the API can open incidents. */
export const SOURCE_SECRET_VARIABLES: readonly string[] = SECRET_VARIABLES.filter((name) => name in SOURCE_VARIABLES);

/** The secret values an environment holds (of `names`, by default every secret variable), split into their secret parts. */
export function secretValues(env: Record<string, string | undefined>, names: readonly string[] = SECRET_VARIABLES): string[] {
  const values = new Set<string>();
  for (const name of names) {
    const value = env[name]?.trim();
    const field = (VARIABLES as Record<string, z.ZodType>)[name];
    if (!value || !field) continue;
    for (const part of secretPartsOf(field, value) ?? []) if (part.trim()) values.add(part.trim());
  }
  return [...values];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Raised when the environment holds a bad value; names the variable, never the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  /** One line per problem, each naming its variable (the message's lines, for `warroom doctor`). */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.problems = problems;
  }
}

/** One line per problem, each naming its variable. */
function problemLines(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message));
}

/** The ConfigError for `issues`: `invalid configuration:` and one line per problem. */
function configError(issues: readonly { path: readonly PropertyKey[]; message: string }[]): ConfigError {
  const lines = problemLines(issues);
  return new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`, lines);
}

/** Parses the environment once; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw configError(parsed.error.issues);
  return parsed.data;
}
