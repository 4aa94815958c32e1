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

const port = z.coerce.number().int().min(0).max(65535);

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
  VICTOROPS_WEBHOOK_KEY: optionalString,
  VICTOROPS_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
  VICTOROPS_WEBHOOK_TOKEN: optionalString,
});

export type RawConfig = z.infer<typeof configSchema>;

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
    auth: {
      apiToken: raw.WARROOM_API_TOKEN,
      pagerdutySecrets: raw.PAGERDUTY_WEBHOOK_SECRET,
      victoropsKey: raw.VICTOROPS_WEBHOOK_KEY,
      victoropsUrl: raw.VICTOROPS_WEBHOOK_URL,
      victoropsToken: raw.VICTOROPS_WEBHOOK_TOKEN,
    },
  };
}
