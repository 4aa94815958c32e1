import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './shared/messages.js';

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const secretList = z
  .string()
  .trim()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .optional()
  .transform((list) => list ?? []);

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** On unless set to false/0/no. */
const boolDefaultTrue = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) => !(value === 'false' || value === '0' || value === 'no'));

const port = z.coerce.number().int().min(0).max(65535);

const emailList = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.email()));

const labelList = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^\S+$/, 'Jira labels cannot contain spaces')));

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `24h`, `30m`, `90s`, `500ms` or a number of milliseconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration such as 24h, 30m or 90s')
  .transform((value) => {
    const [, amount = '0', unit = 'ms'] = /^(\d+)(ms|s|m|h|d)?$/.exec(value) ?? [];
    return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });

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

const monitorFileSchema = z
  .strictObject({ monitors: z.array(monitorSchema).min(1) })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.monitors.forEach((monitor, index) => {
      const name = monitor.name.toLowerCase();
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['monitors', index, 'name'], message: `duplicate monitor "${monitor.name}"` });
      seen.add(name);
    });
  });

/** Reads and validates the monitor file; throws ConfigError naming the file and each bad field. */
export function loadMonitors(path: string): StatusPageMonitor[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  STATUSCAST_MONITORS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  STATUSCAST_MONITORS_FILE: ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = monitorFileSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${path}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data.monitors.map(({ waitTime, ...monitor }) => ({ ...monitor, waitMs: waitTime }));
}

/** The monitor whose name is the incident's service (case-insensitive), if any. */
export function findMonitor(monitors: readonly StatusPageMonitor[], service: string | undefined): StatusPageMonitor | undefined {
  if (!service) return undefined;
  const wanted = service.trim().toLowerCase();
  return monitors.find((monitor) => monitor.name.toLowerCase() === wanted);
}

/** Every setting warroom reads, from the environment. Secrets live here and nowhere else. */
const configSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool,
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalString,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalString,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_UI_URL: optionalString.pipe(z.url().optional()),

  TEMPORAL_CLI_PATH: optionalString,
  WARROOM_DATA_DIR: z.string().default('.warroom'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_DEV_UI_PORT: port.default(8233),

  WARROOM_API_TOKEN: optionalString,
  PAGERDUTY_WEBHOOK_SECRET: secretList,

  JIRA_HOST: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  JIRA_EMAIL: optionalString.pipe(z.email().optional()),
  JIRA_API_TOKEN: optionalString,
  JIRA_PROJECT_KEY: z.string().trim().regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'expected a Jira project key such as RLY').default('RLY'),
  JIRA_ISSUE_TYPE: z.string().trim().min(1).default('Task'),
  JIRA_LABELS: labelList,

  SLACK_BOT_TOKEN: optionalString,
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).default('https://slack.com/api/'),
  SLACK_CHANNEL_TEMPLATE: z.string().trim().includes('{id}', { message: 'must contain {id}' }).default('team-relay-production-incident-{id}'),
  SLACK_PRIVATE_CHANNELS: bool,
  SLACK_DEFAULT_RESPONDERS: emailList,
  SLACK_USERNAME: optionalString,
  SLACK_ICON_EMOJI: optionalString,
  SLACK_ICON_URL: optionalString.pipe(z.url().optional()),
  SLACK_ARCHIVE_DELAY: duration.default(86_400_000),
  SLACK_ANNOUNCE_CHANNEL: optionalString,
  SLACK_SIGNING_SECRET: optionalString,

  PAGERDUTY_API_TOKEN: optionalString,
  PAGERDUTY_FROM_EMAIL: optionalString.pipe(z.email().optional()),
  PAGERDUTY_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.pagerduty.com'),
  PAGERDUTY_EVENTS_URL: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com'),
  PAGERDUTY_ROUTING_KEY: optionalString.pipe(z.string().length(32, 'expected a 32-character integration key').optional()),
  PAGERDUTY_CHANGE_ROUTING_KEY: optionalString.pipe(z.string().length(32, 'expected a 32-character integration key').optional()),
  PAGERDUTY_SYNC: boolDefaultTrue,
  VICTOROPS_REST_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  VICTOROPS_SYNC: boolDefaultTrue,
  VICTOROPS_WEBHOOK_KEY: optionalString,
  VICTOROPS_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  VICTOROPS_WEBHOOK_TOKEN: optionalString,

  STATUSCAST_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  STATUSCAST_API_TOKEN: optionalString,
  STATUSCAST_MONITORS_FILE: optionalString,
});

export type RawConfig = z.infer<typeof configSchema>;

/** The variables that hold secrets: they never enter workflow inputs, histories or logs. */
export const SECRET_VARIABLES = [
  'TEMPORAL_API_KEY',
  'WARROOM_API_TOKEN',
  'PAGERDUTY_WEBHOOK_SECRET',
  'VICTOROPS_WEBHOOK_KEY',
  'VICTOROPS_WEBHOOK_TOKEN',
  'JIRA_API_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'PAGERDUTY_API_TOKEN',
  'PAGERDUTY_ROUTING_KEY',
  'PAGERDUTY_CHANGE_ROUTING_KEY',
  'VICTOROPS_REST_URL',
  'STATUSCAST_API_TOKEN',
] as const;

/** The secret values an environment holds: comma lists split, and the key parts of the VictorOps REST URL. */
export function secretValues(env: Record<string, string | undefined>): string[] {
  const values = new Set<string>();
  for (const name of SECRET_VARIABLES) {
    const value = env[name]?.trim();
    if (!value) continue;
    for (const part of name === 'PAGERDUTY_WEBHOOK_SECRET' ? value.split(',') : [value]) if (part.trim()) values.add(part.trim());
    if (name === 'VICTOROPS_REST_URL') {
      // .../alert/<api key>/<routing key>: the API key alone is the secret part.
      const match = /\/alert\/([^/]+)\//.exec(value);
      if (match?.[1]) values.add(decodeURIComponent(match[1]));
    }
  }
  return [...values];
}

export interface Config {
  http: { port: number; host: string };
  logLevel: RawConfig['LOG_LEVEL'];
  temporal: {
    /** Unset: run the embedded dev server. */
    address?: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaCertPath?: string; serverName?: string };
    uiUrl?: string;
  };
  embedded: { cliPath?: string; dataDir: string; port: number; uiPort: number };
  /** Absent unless JIRA_HOST, JIRA_EMAIL and JIRA_API_TOKEN are all set. */
  jira?: {
    host: string;
    email: string;
    apiToken: string;
    projectKey: string;
    issueType: string;
    labels: string[];
  };
  /** Absent unless SLACK_BOT_TOKEN is set. */
  slack?: {
    botToken: string;
    apiUrl: string;
    channelTemplate: string;
    privateChannels: boolean;
    defaultResponders: string[];
    username?: string;
    iconEmoji?: string;
    iconUrl?: string;
    archiveDelayMs: number;
    announceChannel?: string;
  };
  pagerduty: {
    apiToken?: string;
    fromEmail?: string;
    apiUrl: string;
    eventsUrl: string;
    /** Events API v2 integration key for warroom's own alerts (automation failures). */
    routingKey?: string;
    /** Events API v2 integration key for change events. */
    changeRoutingKey?: string;
    /** Acknowledge/resolve PagerDuty incidents acknowledged or resolved elsewhere. */
    sync: boolean;
  };
  victorops: { restUrl?: string; /** Send ACKNOWLEDGEMENT/RECOVERY for changes made elsewhere. */ sync: boolean };
  /** Absent unless STATUSCAST_URL and STATUSCAST_API_TOKEN are set. */
  statuscast?: { url: string; apiToken: string; monitors: StatusPageMonitor[] };
  /** Slack interactivity (the summary's buttons); absent unless SLACK_SIGNING_SECRET is set. */
  slackSigningSecret?: string;
  auth: {
    apiToken?: string;
    pagerdutySecrets: string[];
    victoropsKey?: string;
    victoropsUrl?: string;
    victoropsToken?: string;
  };
}

/** Raised when the environment holds a bad value; names the variable, never the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const raw = parsed.data;
  if (raw.VICTOROPS_WEBHOOK_KEY && !raw.VICTOROPS_WEBHOOK_URL) {
    throw new ConfigError(
      'invalid configuration:\n  VICTOROPS_WEBHOOK_URL: required when VICTOROPS_WEBHOOK_KEY is set (the URL exactly as configured in VictorOps)',
    );
  }
  if (Boolean(raw.TEMPORAL_TLS_CLIENT_CERT_PATH) !== Boolean(raw.TEMPORAL_TLS_CLIENT_KEY_PATH)) {
    throw new ConfigError(
      'invalid configuration:\n  TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH: set both or neither',
    );
  }
  const jiraParts = [raw.JIRA_HOST, raw.JIRA_EMAIL, raw.JIRA_API_TOKEN];
  if (jiraParts.some(Boolean) && !jiraParts.every(Boolean)) {
    throw new ConfigError('invalid configuration:\n  JIRA_HOST / JIRA_EMAIL / JIRA_API_TOKEN: set all three or none');
  }
  if (raw.PAGERDUTY_API_TOKEN && !raw.PAGERDUTY_FROM_EMAIL) {
    throw new ConfigError('invalid configuration:\n  PAGERDUTY_FROM_EMAIL: required with PAGERDUTY_API_TOKEN (PagerDuty needs a From user for writes)');
  }
  if (Boolean(raw.STATUSCAST_URL) !== Boolean(raw.STATUSCAST_API_TOKEN)) {
    throw new ConfigError('invalid configuration:\n  STATUSCAST_URL / STATUSCAST_API_TOKEN: set both or neither');
  }
  if (raw.STATUSCAST_MONITORS_FILE && !raw.STATUSCAST_URL) {
    throw new ConfigError('invalid configuration:\n  STATUSCAST_MONITORS_FILE: needs STATUSCAST_URL and STATUSCAST_API_TOKEN');
  }
  const monitors = raw.STATUSCAST_MONITORS_FILE ? loadMonitors(raw.STATUSCAST_MONITORS_FILE) : [];
  const tlsWanted =
    raw.TEMPORAL_TLS || raw.TEMPORAL_API_KEY || raw.TEMPORAL_TLS_CLIENT_CERT_PATH || raw.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  return {
    http: { port: raw.PORT, host: raw.HOST },
    logLevel: raw.LOG_LEVEL,
    temporal: {
      address: raw.TEMPORAL_ADDRESS,
      namespace: raw.TEMPORAL_NAMESPACE,
      taskQueue: raw.TEMPORAL_TASK_QUEUE,
      apiKey: raw.TEMPORAL_API_KEY,
      tls: tlsWanted
        ? {
            clientCertPath: raw.TEMPORAL_TLS_CLIENT_CERT_PATH,
            clientKeyPath: raw.TEMPORAL_TLS_CLIENT_KEY_PATH,
            serverCaCertPath: raw.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            serverName: raw.TEMPORAL_TLS_SERVER_NAME,
          }
        : undefined,
      uiUrl: raw.TEMPORAL_UI_URL,
    },
    embedded: {
      cliPath: raw.TEMPORAL_CLI_PATH,
      dataDir: raw.WARROOM_DATA_DIR,
      port: raw.TEMPORAL_DEV_PORT,
      uiPort: raw.TEMPORAL_DEV_UI_PORT,
    },
    jira:
      raw.JIRA_HOST && raw.JIRA_EMAIL && raw.JIRA_API_TOKEN
        ? {
            host: raw.JIRA_HOST,
            email: raw.JIRA_EMAIL,
            apiToken: raw.JIRA_API_TOKEN,
            projectKey: raw.JIRA_PROJECT_KEY,
            issueType: raw.JIRA_ISSUE_TYPE,
            labels: raw.JIRA_LABELS,
          }
        : undefined,
    slack: raw.SLACK_BOT_TOKEN
      ? {
          botToken: raw.SLACK_BOT_TOKEN,
          apiUrl: raw.SLACK_API_URL,
          channelTemplate: raw.SLACK_CHANNEL_TEMPLATE,
          privateChannels: raw.SLACK_PRIVATE_CHANNELS,
          defaultResponders: raw.SLACK_DEFAULT_RESPONDERS,
          username: raw.SLACK_USERNAME,
          iconEmoji: raw.SLACK_ICON_EMOJI,
          iconUrl: raw.SLACK_ICON_URL,
          archiveDelayMs: raw.SLACK_ARCHIVE_DELAY,
          announceChannel: raw.SLACK_ANNOUNCE_CHANNEL,
        }
      : undefined,
    pagerduty: {
      apiToken: raw.PAGERDUTY_API_TOKEN,
      fromEmail: raw.PAGERDUTY_FROM_EMAIL,
      apiUrl: raw.PAGERDUTY_API_URL,
      eventsUrl: raw.PAGERDUTY_EVENTS_URL,
      routingKey: raw.PAGERDUTY_ROUTING_KEY,
      changeRoutingKey: raw.PAGERDUTY_CHANGE_ROUTING_KEY,
      sync: raw.PAGERDUTY_SYNC,
    },
    victorops: { restUrl: raw.VICTOROPS_REST_URL, sync: raw.VICTOROPS_SYNC },
    statuscast:
      raw.STATUSCAST_URL && raw.STATUSCAST_API_TOKEN
        ? { url: raw.STATUSCAST_URL, apiToken: raw.STATUSCAST_API_TOKEN, monitors }
        : undefined,
    slackSigningSecret: raw.SLACK_SIGNING_SECRET,
    auth: {
      apiToken: raw.WARROOM_API_TOKEN,
      pagerdutySecrets: raw.PAGERDUTY_WEBHOOK_SECRET,
      victoropsKey: raw.VICTOROPS_WEBHOOK_KEY,
      victoropsUrl: raw.VICTOROPS_WEBHOOK_URL,
      victoropsToken: raw.VICTOROPS_WEBHOOK_TOKEN,
    },
  };
}
