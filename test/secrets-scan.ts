/**
 * The suite-wide secrets check (issue 5, scenario 7): every test process records the secret
 * values it configured and the log output it produced into one folder; after the whole suite,
 * the global teardown fetches every workflow history from the server and scans histories and
 * logs for every recorded secret.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by the global setup for every test process. */
export const SECRETS_DIR_VARIABLE = 'WARROOM_TEST_SECRETS_DIR';

const dir = () => process.env[SECRETS_DIR_VARIABLE];

/** Remembers secret values this process configured (no-op outside the test suite). */
export function recordSecrets(values: Iterable<string>): void {
  const folder = dir();
  if (!folder) return;
  const lines = [...values].filter((value) => value.length >= 8).map((value) => `${JSON.stringify(value)}\n`);
  if (lines.length > 0) appendFileSync(join(folder, `secrets-${process.pid}.jsonl`), lines.join(''));
}

/** Keeps log output of this process for the final scan (no-op outside the test suite). */
export function recordLogs(text: string): void {
  const folder = dir();
  if (!folder || !text) return;
  appendFileSync(join(folder, `logs-${process.pid}.txt`), text);
}

export function prepareSecretsDir(folder: string): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'README'), 'secret values and logs recorded by the test processes, for the final scan\n');
}

/** Every recorded secret, and every log file's text by name. */
export function readRecorded(folder: string): { secrets: string[]; logs: Map<string, string> } {
  const secrets = new Set<string>();
  const logs = new Map<string, string>();
  for (const name of readdirSync(folder)) {
    const text = readFileSync(join(folder, name), 'utf8');
    if (name.startsWith('secrets-')) {
      for (const line of text.split('\n')) if (line) secrets.add(JSON.parse(line) as string);
    } else if (name.startsWith('logs-')) {
      logs.set(name, text);
    }
  }
  return { secrets: [...secrets], logs };
}

/** A history as text with every payload decoded (payload data is bytes: a plain JSON dump would hide a secret). */
export function historyText(history: unknown): string {
  return JSON.stringify(history, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value));
}
