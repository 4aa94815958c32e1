/**
 * What the vendor fakes recorded, read as one shape: every call with its vendor, route, the thing
 * it acts on (an incident's label, channel, note path...), when it arrived, how it was answered
 * and which fault answered it. The reliability scenarios count injected faults with it and check
 * from the fakes' own clocks that no retry came sooner than the vendor asked.
 */
import type { AllFakes } from './fakes/env.js';

export type Vendor = 'jira' | 'slack' | 'pagerduty' | 'pagerdutyEvents' | 'victorops' | 'statuscast';
export const VENDORS: readonly Vendor[] = ['jira', 'slack', 'pagerduty', 'pagerdutyEvents', 'victorops', 'statuscast'];

/** A fault as any fake names it. */
export type FaultKind = '500' | '429' | 'hang' | 'applied-then-500';
export const FAULT_KINDS: readonly FaultKind[] = ['500', '429', 'hang', 'applied-then-500'];

export interface VendorCall {
  vendor: Vendor;
  /** The operation (`createIssue`, `chat.postMessage`, `createIncidentNote`...). */
  route: string;
  /**
   * What the call acts on, so the calls of one step of one incident line up: the Jira label, the
   * Slack channel (and the message's metadata), the PagerDuty path, the change event's incident
   * and action, the VictorOps alert's workflow ref, the StatusCast externalId.
   */
  target: string;
  receivedAt: number;
  /** 0 while unanswered (a hang). */
  status: number;
  fault?: FaultKind;
}

type Fakes = Pick<AllFakes, Vendor>;

/** How many requests each fake had recorded: calls after a mark belong to what came after it. */
export type RequestMark = Record<Vendor, number>;

export function markRequests(fakes: Fakes): RequestMark {
  return {
    jira: fakes.jira.requests.length,
    slack: fakes.slack.requests.length,
    pagerduty: fakes.pagerduty.requests.length,
    pagerdutyEvents: fakes.pagerdutyEvents.requests.length,
    victorops: fakes.victorops.requests.length,
    statuscast: fakes.statuscast.requests.length,
  };
}

const FAULT_NAMES: Record<string, FaultKind> = {
  error: '500',
  '500': '500',
  rateLimit: '429',
  rateLimited: '429',
  '429': '429',
  hang: 'hang',
  applyThenFail: 'applied-then-500',
  'applied-then-500': 'applied-then-500',
};
const faultOf = (fault: string | undefined): FaultKind | undefined => (fault ? FAULT_NAMES[fault] : undefined);

const record = (value: unknown): Record<string, any> => (value && typeof value === 'object' ? (value as Record<string, any>) : {});

/** Every call the fakes recorded since `mark` (from the start when absent), oldest first per vendor. */
export function vendorCalls(fakes: Fakes, mark?: RequestMark): VendorCall[] {
  const since = (vendor: Vendor) => mark?.[vendor] ?? 0;
  const calls: VendorCall[] = [];
  for (const request of fakes.jira.requests.slice(since('jira'))) {
    const body = record(request.body);
    const jql = request.query.get('jql') ?? (typeof body.jql === 'string' ? body.jql : '');
    const label = /labels = "([^"]+)"/.exec(jql)?.[1] ?? record(body.fields).labels?.[0];
    calls.push({
      vendor: 'jira',
      route: request.operation ?? `${request.method} ${request.path}`,
      target: label ?? request.path,
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  for (const request of fakes.slack.requests.slice(since('slack'))) {
    const { args } = request;
    let marker = '';
    if (args.metadata) {
      try {
        const metadata = JSON.parse(args.metadata) as { event_type?: string; event_payload?: { incident_key?: string } };
        marker = ` ${metadata.event_type ?? ''}:${metadata.event_payload?.incident_key ?? ''}`;
      } catch {
        marker = ' (unreadable metadata)';
      }
    }
    calls.push({
      vendor: 'slack',
      route: request.method,
      // Empty when the fake did not read the arguments (a call it faulted before reading).
      target: `${args.channel ?? args.name ?? args.email ?? ''}${marker}`,
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  for (const request of fakes.pagerduty.requests.slice(since('pagerduty'))) {
    calls.push({
      vendor: 'pagerduty',
      route: request.operationId ?? `${request.method} ${request.path}`,
      target: request.path,
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  for (const request of fakes.pagerdutyEvents.requests.slice(since('pagerdutyEvents'))) {
    const body = record(request.body);
    const details = record(record(body.payload).custom_details);
    calls.push({
      vendor: 'pagerdutyEvents',
      route: request.operationId ?? request.path,
      target: typeof body.dedup_key === 'string' ? body.dedup_key : `${details.incident_key ?? ''}/${details.action ?? ''}`,
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  for (const request of fakes.victorops.requests.slice(since('victorops'))) {
    const body = record(request.body);
    calls.push({
      vendor: 'victorops',
      route: 'alert',
      // Empty when the fake did not read the body (a call it faulted before reading).
      target: request.body === undefined ? '' : `${body.message_type} ${body.warroom_ref ?? body.entity_id}`,
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  for (const request of fakes.statuscast.requests.slice(since('statuscast'))) {
    const body = record(request.body);
    calls.push({
      vendor: 'statuscast',
      route: request.operation ?? `${request.method} ${request.path}`,
      target: String(body.externalId ?? body.id ?? request.path),
      receivedAt: request.receivedAt,
      status: request.status,
      fault: faultOf(request.fault),
    });
  }
  return calls;
}

/** Injected faults, counted per vendor and kind. */
export function faultCounts(calls: readonly VendorCall[]): Record<Vendor, Record<FaultKind, number>> {
  const counts = Object.fromEntries(VENDORS.map((vendor) => [vendor, Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0]))])) as Record<
    Vendor,
    Record<FaultKind, number>
  >;
  for (const call of calls) if (call.fault) counts[call.vendor][call.fault] += 1;
  return counts;
}

/** Calls grouped by vendor, route and target, each group in arrival order: a call's retry is the next one in its group. */
export function callGroups(calls: readonly VendorCall[]): VendorCall[][] {
  const groups = new Map<string, VendorCall[]>();
  for (const call of calls) {
    const id = `${call.vendor} ${call.route} ${call.target}`;
    groups.set(id, [...(groups.get(id) ?? []), call]);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.receivedAt - b.receivedAt));
}

/** A retry that came sooner than the vendor asked. */
export interface RetryAfterViolation {
  call: VendorCall;
  askedMs: number;
  cameAfterMs: number;
}

export interface RetryAfterCheck {
  /** 429s whose call was retried, and so could be checked. */
  checked: number;
  violations: RetryAfterViolation[];
  /** 429s the plan did not inject (no known Retry-After): each one is a finding of its own. */
  unplanned: VendorCall[];
}

/**
 * For every 429, the next call of the same route on the same target (the retry) must arrive no
 * sooner than the Retry-After the fake sent (`retryAfterMs` answers it per call, from the plan).
 */
export function checkRetryAfter(calls: readonly VendorCall[], retryAfterMs: (call: VendorCall) => number | undefined): RetryAfterCheck {
  const result: RetryAfterCheck = { checked: 0, violations: [], unplanned: [] };
  for (const group of callGroups(calls)) {
    group.forEach((call, index) => {
      if (call.status !== 429) return;
      const asked = call.fault === '429' ? retryAfterMs(call) : undefined;
      if (asked === undefined) {
        result.unplanned.push(call);
        return;
      }
      const retry = group[index + 1];
      if (!retry) return;
      result.checked += 1;
      const cameAfterMs = retry.receivedAt - call.receivedAt;
      if (cameAfterMs < asked) result.violations.push({ call, askedMs: asked, cameAfterMs });
    });
  }
  return result;
}

/** A call left hanging, and how long after it the same call was tried again (undefined: never). */
export interface HangRetry {
  call: VendorCall;
  retriedAfterMs?: number;
}

export function hangRetries(calls: readonly VendorCall[]): HangRetry[] {
  const found: HangRetry[] = [];
  for (const group of callGroups(calls)) {
    group.forEach((call, index) => {
      if (call.fault !== 'hang') return;
      const retry = group[index + 1];
      found.push({ call, retriedAfterMs: retry ? retry.receivedAt - call.receivedAt : undefined });
    });
  }
  return found;
}

/** 429s and hangs the fake recorded without what they act on: their retries cannot be told from other incidents' calls. */
export function unattributed(calls: readonly VendorCall[]): VendorCall[] {
  return calls.filter((call) => (call.fault === '429' || call.fault === 'hang') && call.target === '');
}
