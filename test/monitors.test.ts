import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, findMonitor, loadConfig, loadMonitors } from '../src/config.js';

const example = readFileSync(new URL('../examples/monitors.yaml', import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'warroom-monitors-'));
let files = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a fresh file in the temp folder and answers its path. */
function monitorFile(text: string): string {
  const path = join(dir, `monitors-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError loading `path` throws; fails the test when it loads. */
function refusal(path: string): ConfigError {
  try {
    loadMonitors(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${path} to be refused`);
}

/** A valid one-monitor file with `extra` lines appended to the monitor. */
const oneMonitor = (extra: string) => `monitors:\n  - name: checkout\n    subject: Checkout errors\n${extra}`;

describe('loadMonitors', () => {
  it('reads the commented example: two monitors, durations in milliseconds, defaults filled in', () => {
    const monitors = loadMonitors(monitorFile(example));
    expect(monitors).toEqual([
      {
        name: 'checkout',
        incidentType: 'ServiceUnavailable',
        affectedComponents: [20609],
        componentStatus: 'DegradedPerformance',
        subject: 'Checkout errors for some customers',
        message: 'We are investigating elevated error rates during checkout.',
        author: 'automation@example.com',
        notifyEmployees: ['oncall-lead@example.com'],
        waitMs: 120_000,
        combineAlerts: true,
        autoPublish: true,
        autoClose: true,
        closingComment: 'The issue has been resolved and checkout is operating normally.',
      },
      {
        name: 'orders-db',
        incidentType: 'ServiceUnavailable',
        affectedComponents: [20610],
        componentStatus: 'Unavailable',
        subject: 'Delays placing orders',
        message: 'Some orders are taking longer than usual to confirm ({severity}). We are investigating.',
        notifyEmployees: [],
        waitMs: 0,
        combineAlerts: false,
        autoPublish: false,
        autoClose: false,
        closingComment: 'This incident has been resolved.',
      },
    ]);
    expect(findMonitor(monitors, 'Orders-DB')?.name).toBe('orders-db');
    expect(findMonitor(monitors, 'payments')).toBeUndefined();
  });

  it('reads a bare number of seconds as a wait time', () => {
    expect(loadMonitors(monitorFile(oneMonitor('    waitTime: 90\n')))[0]!.waitMs).toBe(90_000);
  });

  it('is read at start-up through STATUSCAST_MONITORS_FILE', () => {
    const config = loadConfig({
      STATUSCAST_URL: 'https://status.example.com',
      STATUSCAST_API_TOKEN: 'sc-token',
      STATUSCAST_MONITORS_FILE: monitorFile(example),
    });
    expect(config.statuscast?.monitors.map((monitor) => monitor.name)).toEqual(['checkout', 'orders-db']);
  });

  it('refuses a bad duration, naming the file and the field but not the value', () => {
    const path = monitorFile(oneMonitor('    waitTime: ten-minutes-please\n'));
    const error = refusal(path);
    expect(error.message).toContain(`${path}: monitors.0.waitTime`);
    expect(error.message).not.toContain('ten-minutes-please');
  });

  it('refuses an unknown key, naming it but not its value', () => {
    const path = monitorFile(oneMonitor('    notify: oncall-secret-list@example.com\n'));
    const error = refusal(path);
    expect(error.message).toContain(`${path}: monitors.0`);
    expect(error.message).toContain('"notify"');
    expect(error.message).not.toContain('oncall-secret-list');
  });

  it('refuses a bad enum value and a bad e-mail without echoing either', () => {
    const error = refusal(monitorFile(oneMonitor('    componentStatus: Kaput\n    notifyEmployees: [not-an-address]\n')));
    expect(error.message).toContain('monitors.0.componentStatus');
    expect(error.message).toContain('monitors.0.notifyEmployees.0');
    expect(error.message).not.toContain('Kaput');
    expect(error.message).not.toContain('not-an-address');
  });

  it('refuses two monitors with the same name (case-insensitive), naming the second', () => {
    const path = monitorFile(
      `monitors:\n  - name: checkout\n    message: first-message-text\n  - name: Checkout\n    message: second-message-text\n`,
    );
    const error = refusal(path);
    expect(error.message).toContain(`${path}: monitors.1.name: duplicate monitor`);
    expect(error.message).not.toContain('first-message-text');
    expect(error.message).not.toContain('second-message-text');
  });

  it('refuses a missing file, naming the variable and the path', () => {
    const path = join(dir, 'no-such-file.yaml');
    const error = refusal(path);
    expect(error.message).toContain('STATUSCAST_MONITORS_FILE');
    expect(error.message).toContain(path);
    expect(error.message).toContain('ENOENT');
  });

  it('refuses a file that is not YAML, naming the file but not its contents', () => {
    const path = monitorFile('monitors:\n  - name: checkout\n    message: "an-unterminated-secret-ish-text\n');
    const error = refusal(path);
    expect(error.message).toContain(`${path} is not valid YAML`);
    expect(error.message).not.toContain('an-unterminated-secret-ish-text');
  });

  it('refuses a file without monitors', () => {
    expect(refusal(monitorFile('monitors: []\n')).message).toContain('monitors');
    expect(refusal(monitorFile('# nothing here\n')).message).toContain('(file)');
  });
});
