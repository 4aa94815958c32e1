import { readFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { cliVersion, findTemporalCli } from '../src/temporal/cli.js';
import { fixtureJson } from '../test/samples.js';
import { signPagerDuty } from '../test/signing.js';

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

export const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU of a process in microseconds, from /proc (Linux); undefined elsewhere. */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The first line of a benchmark's output: Node, OS, CPUs and the Temporal CLI. */
export function machineLine(): string {
  const cli = findTemporalCli();
  return [
    `node ${process.version}`,
    `${platform()} ${arch()}`,
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`,
    cli ? cliVersion(cli) : 'temporal CLI not found',
  ].join(' · ');
}

/**
 * Ends this process (exit code 2) if the benchmark is still running after `timeoutMs`; the dev
 * server test/stack.ts started goes with it. Answers the function that disarms it.
 */
export function watchdog(timeoutMs: number): () => void {
  const timer = setTimeout(() => {
    console.error(`benchmark did not finish within ${timeoutMs / 1000} s; stopping`);
    process.exit(2);
  }, timeoutMs);
  timer.unref();
  return () => clearTimeout(timer);
}

interface PagerDutyFixture {
  event: { id: string; data: { id: string; self?: string; html_url?: string } };
}

const pagerDutyTrigger = fixtureJson<PagerDutyFixture>('pagerduty-v3-incident-triggered.json');

/** The sample PagerDuty v3 trigger for `incidentId` with its own event id, signed with `secret` as PagerDuty signs it. */
export function signedPagerDutyTrigger(
  incidentId: string,
  eventId: string,
  secret: string,
): { body: string; headers: { 'x-pagerduty-signature': string } } {
  const body = structuredClone(pagerDutyTrigger);
  body.event.id = eventId;
  body.event.data.id = incidentId;
  body.event.data.self = `https://api.pagerduty.com/incidents/${incidentId}`;
  body.event.data.html_url = `https://example-co.pagerduty.com/incidents/${incidentId}`;
  const text = JSON.stringify(body);
  return { body: text, headers: signPagerDuty(text, secret) };
}
