/**
 * `warroom doctor`: before the first incident, checks everything warroom will need (Temporal,
 * each vendor's credentials and permissions, the webhooks' secrets) and prints one line per
 * check. It only reads: no vendor call it makes changes anything. Secrets never reach its output.
 */
import { redactor } from '../activities/errors.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig, secretValues, type Config } from '../config.js';
import { duration } from '../env.js';
import { fail, formatReport, ok, runGroup, seconds, type CheckGroup, type DoctorOptions, type Line } from './check.js';
import { jiraChecks } from './jira.js';
import { pagerDutyChecks } from './pagerduty.js';
import { slackChecks } from './slack.js';
import { statusCastChecks } from './statuscast.js';
import { temporalChecks } from './temporal.js';
import { victorOpsChecks } from './victorops.js';
import { webhookChecks } from './webhooks.js';

export const DEFAULT_TIMEOUT_MS = 5_000;

type Env = Record<string, string | undefined>;

/** Every group of checks, in the order they print; a new vendor adds its line here. */
const CHECKS: Array<(config: Config, options: DoctorOptions, env: Env) => CheckGroup> = [
  temporalChecks,
  slackChecks,
  jiraChecks,
  pagerDutyChecks,
  statusCastChecks,
  victorOpsChecks,
  (config, _options, env) => webhookChecks(config, env),
];

export interface DoctorReport {
  /** 1 when any check failed (✗), else 0. */
  exitCode: number;
  /** What `warroom doctor` prints. */
  text: string;
  /** Every finding, secrets already hidden. */
  lines: Line[];
}

/** Runs every check against the settings in `env`; vendors are checked side by side. */
export async function runDoctor(env: Env, { timeoutMs = DEFAULT_TIMEOUT_MS }: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
  const options = { timeoutMs };
  const settings = readSettings(env);
  const groups = 'config' in settings ? CHECKS.map((make) => make(settings.config, options, env)) : [];
  const found = (await Promise.all(groups.map((group) => runGroup(group, options)))).flat();
  const redact = redactor(secretsIn(env));
  const lines = [...settings.lines, ...found].map((line) => ({
    ...line,
    heading: redact(line.heading),
    finding: { ...line.finding, detail: redact(line.finding.detail), fix: line.finding.fix && redact(line.finding.fix) },
  }));
  const heading = `warroom doctor: read-only checks of what warroom needs (each within ${seconds(timeoutMs)})\n\n`;
  return {
    exitCode: lines.some((line) => line.finding.verdict === 'fail') ? 1 : 0,
    text: heading + formatReport(lines),
    lines,
  };
}

/** The parsed settings, or one ✗ line per bad variable (then nothing else can be checked). */
function readSettings(env: Env): { config: Config; lines: Line[] } | { lines: Line[] } {
  const line = (finding: Line['finding']): Line => ({ group: 'Configuration', heading: 'Configuration', check: 'settings', finding });
  try {
    const config = loadConfig(env);
    const set = CONFIG_VARIABLES.filter((name) => env[name]?.trim()).length;
    return { config, lines: [line(ok(`valid (${set} variable${set === 1 ? '' : 's'} set)`))] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const fix = 'fix the variable, then run doctor again: nothing else was checked';
    return { lines: (err.problems.length > 0 ? err.problems : [err.message]).map((problem) => line(fail(problem, fix))) };
  }
}

/** Every secret `env` holds, and the forms a request carries it in (Jira's basic credentials). */
function secretsIn(env: Env): string[] {
  const secrets = secretValues(env);
  if (env.JIRA_EMAIL && env.JIRA_API_TOKEN) {
    secrets.push(Buffer.from(`${env.JIRA_EMAIL.trim()}:${env.JIRA_API_TOKEN.trim()}`).toString('base64'));
  }
  return secrets;
}

/** `warroom doctor [--timeout=5s]`: prints the report, answers the exit code. */
export async function doctorCommand(args: readonly string[], env: Env = process.env): Promise<number> {
  const timeout = args.find((arg) => arg.startsWith('--timeout='))?.slice('--timeout='.length);
  const parsed = timeout === undefined ? undefined : duration.safeParse(timeout);
  if (parsed && (!parsed.success || parsed.data <= 0)) {
    process.stderr.write('warroom doctor: --timeout expects a duration such as 5s or 1500ms\n');
    return 2;
  }
  const report = await runDoctor(env, { timeoutMs: parsed?.data ?? DEFAULT_TIMEOUT_MS });
  process.stdout.write(report.text);
  return report.exitCode;
}
