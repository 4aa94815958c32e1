/**
 * What a `warroom doctor` check is, how checks run (each within its deadline, one whose
 * prerequisite failed not at all) and how their findings print: one line each.
 */
import { notConfigured } from '../activities/step.js';

/** ✓ ready, ! works but worth a look, ✗ warroom would fail, – not checked. */
export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

/** What one check found, and for a problem what to do about it. */
export interface Finding {
  verdict: Verdict;
  detail: string;
  fix?: string;
}

export interface Check {
  name: string;
  /** An earlier check of the group this one builds on: when that failed (or was not checked), this one is not checked. */
  needs?: string;
  run(): Promise<Finding>;
}

/** The checks of one vendor (or of Temporal, or of the webhooks), run in order. */
export interface CheckGroup {
  /** `Slack`, `Jira`: the group's heading, and its name in every line. */
  name: string;
  /** Where it checks (an address), printed beside the name; never a secret. */
  where?: string;
  checks: Check[];
  /** Releases what the checks opened (a connection). */
  close?(): Promise<void>;
}

/** Settings every check reads. */
export interface DoctorOptions {
  /** Each check's deadline, and the timeout of each request it makes. */
  timeoutMs: number;
}

export const ok = (detail: string): Finding => ({ verdict: 'ok', detail });
export const warn = (detail: string, fix?: string): Finding => ({ verdict: 'warn', detail, fix });
export const fail = (detail: string, fix?: string): Finding => ({ verdict: 'fail', detail, fix });
export const skip = (detail: string): Finding => ({ verdict: 'skip', detail });

/**
 * The group of a vendor without settings: one line that says it is skipped, as the timeline
 * records `skipped: not configured (<vendor>)`; not a problem.
 */
export function notConfiguredGroup(vendor: string, settings: string): CheckGroup {
  const detail = `${notConfigured(vendor).detail}: set ${settings} to use it`;
  return { name: vendor, checks: [{ name: 'settings', run: async () => skip(detail) }] };
}

/** One printed line: the group, the check and what it found. */
export interface Line {
  group: string;
  /** The group's heading: its name, and where it checked. */
  heading: string;
  check: string;
  finding: Finding;
}

/** A request gets the check's whole deadline; this margin lets its own, clearer timeout answer first. */
const DEADLINE_MARGIN_MS = 1000;

/** Runs a group's checks in order; one whose `needs` failed is "not checked", naming the failure. Never throws. */
export async function runGroup(group: CheckGroup, options: DoctorOptions): Promise<Line[]> {
  const lines: Line[] = [];
  const heading = group.where ? `${group.name} (${group.where})` : group.name;
  /** Why a check's dependants are not checked: the failure at the root of it. */
  const blocked = new Map<string, string>();
  try {
    for (const check of group.checks) {
      const cause = check.needs === undefined ? undefined : blocked.get(check.needs);
      const finding = cause ? skip(`not checked: ${cause}`) : await runCheck(check, group.name, options.timeoutMs);
      if (cause) blocked.set(check.name, cause);
      else if (finding.verdict === 'fail') blocked.set(check.name, `${check.name} failed`);
      lines.push({ group: group.name, heading, check: check.name, finding });
    }
  } finally {
    await group.close?.().catch(() => undefined);
  }
  return lines;
}

/** One check within its deadline; an exception is a failure in its own (redacted later) words, less the vendor's name. */
async function runCheck(check: Check, vendor: string, timeoutMs: number): Promise<Finding> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Finding>((resolve) => {
    timer = setTimeout(
      () => resolve(fail(`no answer within ${seconds(timeoutMs)}`, 'is the host reachable from here (URL, DNS, firewall, proxy)?')),
      timeoutMs + DEADLINE_MARGIN_MS,
    );
  });
  try {
    const failure = (err: unknown) => fail(errorText(err).replace(new RegExp(`^${vendor}: `), ''));
    return await Promise.race([check.run().catch(failure), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's message, or the value itself. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `5 s`, `1.5 s`. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

const SYMBOLS: Record<Verdict, string> = { ok: '✓', warn: '!', fail: '✗', skip: '–' };

/** The report: a heading per group, one line per check (`✗ name  detail → fix`), then the tally. */
export function formatReport(lines: readonly Line[]): string {
  const width = Math.max(...lines.map((line) => line.check.length));
  const out: string[] = [];
  let heading: string | undefined;
  for (const line of lines) {
    if (line.heading !== heading) out.push((heading = line.heading));
    const { verdict, detail, fix } = line.finding;
    out.push(`  ${SYMBOLS[verdict]} ${line.check.padEnd(width)}  ${detail}${fix ? ` → ${fix}` : ''}`);
  }
  return `${out.join('\n')}\n\n${tally(lines)}\n`;
}

function tally(lines: readonly Line[]): string {
  const count = (verdict: Verdict) => lines.filter((line) => line.finding.verdict === verdict).length;
  const [failed, warned, skipped] = [count('fail'), count('warn'), count('skip')];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [plural(count('ok'), 'check') + ' passed', plural(failed, 'problem'), plural(warned, 'warning'), `${skipped} skipped`];
  return `${parts.join(', ')}: ${failed > 0 ? 'warroom is not ready (fix the ✗ lines)' : 'warroom is ready'}`;
}
