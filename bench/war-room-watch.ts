/**
 * The measuring side of the end-to-end benchmark: watches the vendor fakes and tells, per
 * incident, when each part of its war room came to exist. Times are the moments the fakes
 * answered the call that made the part (stamped as they answer, so no polling adds delay), on
 * the `performance.now()` clock.
 */
import { performance } from 'node:perf_hooks';
import { channelName, SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { ticketLabel } from '../src/activities/jira.js';
import { incidentKey } from '../src/shared/ids.js';
import type { JiraFake, JiraFakeRequest } from '../test/fakes/jira.js';
import type { PagerDutyFake, RecordedRequest as PagerDutyRequest } from '../test/fakes/pagerduty.js';
import type { RecordedRequest as SlackRequest, SlackFake } from '../test/fakes/slack.js';

export type Vendor = 'jira' | 'slack' | 'pagerduty';

/** One request a fake answered. */
export interface VendorCall {
  vendor: Vendor;
  /** Jira operation, Slack method, or `GET notes` / `POST notes` / `GET users` for PagerDuty. */
  what: string;
  arrivedAt: number;
  answeredAt: number;
  ok: boolean;
}

/** The parts of a war room, each done when the fake answered the call that made it. */
export type Part = 'ticket' | 'channel' | 'invite' | 'note' | 'topic' | 'summary' | 'pin' | 'announce';

/** Ticket, channel with responders, and the timeline note: the war room people wait for. */
export const READY_PARTS: readonly Part[] = ['ticket', 'channel', 'invite', 'note'];
/** Ready, plus topic, summary and pin. */
export const FURNISHED_PARTS: readonly Part[] = [...READY_PARTS, 'topic', 'summary', 'pin'];

/** What the watch knows of one incident. */
export interface WarRoomTrace {
  incidentId: string;
  key: string;
  label: string;
  channelName: string;
  channelId?: string;
  /** When its webhook was sent, and when the API answered it. */
  sentAt: number;
  acceptedAt?: number;
  /** Calls that name this incident (its label, channel or PagerDuty incident), in arrival order. */
  calls: VendorCall[];
  at: Partial<Record<Part, number>>;
  readyAt?: number;
  furnishedAt?: number;
  /** Settles once ready and furnished. */
  furnished: Promise<void>;
}

export interface WarRoomWatch {
  /** Starts following an incident; call just before sending its webhook. */
  follow(incidentId: string, channelTemplate?: string): WarRoomTrace;
  /** Calls no single incident owns (users.lookupByEmail, GET /users/{id}, auth.test...). */
  shared: VendorCall[];
}

/**
 * The fakes record every request in an array and set its `status` when they answer (0 until
 * then). A setter on each record stamps that moment; the record is read a microtask later, once
 * the fake has filled in the rest of its answer (Slack sets `body` right after `status`).
 */
function onAnswer<R extends { status: number }>(requests: R[], answered: (record: R, arrivedAt: number, answeredAt: number) => void): void {
  const push = Array.prototype.push;
  Object.defineProperty(requests, 'push', {
    configurable: true,
    writable: true,
    value: (...records: R[]) => {
      for (const record of records) stampAnswer(record, answered);
      return push.apply(requests, records);
    },
  });
}

function stampAnswer<R extends { status: number }>(record: R, answered: (record: R, arrivedAt: number, answeredAt: number) => void): void {
  const arrivedAt = performance.now();
  let status = record.status;
  Object.defineProperty(record, 'status', {
    configurable: true,
    enumerable: true,
    get: () => status,
    set: (value: number) => {
      const first = status === 0 && value !== 0;
      status = value;
      if (!first) return;
      const answeredAt = performance.now();
      queueMicrotask(() => answered(record, arrivedAt, answeredAt));
    },
  });
}

const JIRA_LABEL = /labels = "(warroom-[^"]+)"/;

function jiraLabel(record: JiraFakeRequest): string | undefined {
  const body = record.body as { fields?: { labels?: unknown }; jql?: unknown } | undefined;
  if (record.operation === 'createIssue') {
    const labels = Array.isArray(body?.fields?.labels) ? (body.fields.labels as unknown[]) : [];
    return labels.find((label): label is string => typeof label === 'string' && label.startsWith('warroom-'));
  }
  const jql = record.query.get('jql') ?? (typeof body?.jql === 'string' ? body.jql : '');
  return JIRA_LABEL.exec(jql)?.[1];
}

function slackMetadata(record: SlackRequest): { event_type?: string; event_payload?: Record<string, unknown> } | undefined {
  try {
    return record.args.metadata ? (JSON.parse(record.args.metadata) as ReturnType<typeof slackMetadata>) : undefined;
  } catch {
    return undefined;
  }
}

/** Watches the three fakes a PagerDuty war room touches; `follow` each incident before its webhook goes out. */
export function watchWarRoom(fakes: { jira: JiraFake; slack: SlackFake; pagerduty: PagerDutyFake }): WarRoomWatch {
  const byLabel = new Map<string, WarRoomTrace>();
  const byChannelName = new Map<string, WarRoomTrace>();
  const byChannelId = new Map<string, WarRoomTrace>();
  const byKey = new Map<string, WarRoomTrace>();
  const byIncident = new Map<string, WarRoomTrace>();
  const settle = new Map<WarRoomTrace, () => void>();
  const shared: VendorCall[] = [];

  const reached = (trace: WarRoomTrace | undefined, part: Part, at: number) => {
    if (!trace || trace.at[part] !== undefined) return;
    trace.at[part] = at;
    const last = (parts: readonly Part[]) =>
      parts.every((name) => trace.at[name] !== undefined) ? Math.max(...parts.map((name) => trace.at[name] as number)) : undefined;
    trace.readyAt ??= last(READY_PARTS);
    trace.furnishedAt ??= last(FURNISHED_PARTS);
    if (trace.furnishedAt !== undefined) settle.get(trace)?.();
  };
  const note = (trace: WarRoomTrace | undefined, call: VendorCall) => (trace ? trace.calls.push(call) : shared.push(call));

  onAnswer(fakes.jira.requests, (record, arrivedAt, answeredAt) => {
    const call: VendorCall = {
      vendor: 'jira',
      what: record.operation ?? `${record.method} ${record.path}`,
      arrivedAt,
      answeredAt,
      ok: record.status < 300,
    };
    const label = jiraLabel(record);
    const trace = label ? byLabel.get(label) : undefined;
    note(trace, call);
    if (call.ok && record.operation === 'createIssue') reached(trace, 'ticket', answeredAt);
  });

  onAnswer(fakes.slack.requests, (record, arrivedAt, answeredAt) => {
    const ok = record.status === 200 && (record.body as { ok?: unknown } | undefined)?.ok === true;
    const call: VendorCall = { vendor: 'slack', what: record.method, arrivedAt, answeredAt, ok };
    let trace =
      record.method === 'conversations.create' ? byChannelName.get(record.args.name ?? '') : byChannelId.get(record.args.channel ?? '');
    const metadata = record.method === 'chat.postMessage' ? slackMetadata(record) : undefined;
    if (!trace && metadata?.event_type === SLACK_EVENT_TYPES.announcement) {
      trace = byKey.get(String(metadata.event_payload?.incident_key ?? ''));
    }
    if (trace && metadata?.event_type === SLACK_EVENT_TYPES.announcement) call.what = 'chat.postMessage (announce)';
    note(trace, call);
    if (!trace || !ok) return;
    switch (record.method) {
      case 'conversations.create': {
        const id = (record.body as { channel?: { id?: string } }).channel?.id;
        if (id) {
          trace.channelId = id;
          byChannelId.set(id, trace);
        }
        return reached(trace, 'channel', answeredAt);
      }
      case 'conversations.invite':
        return reached(trace, 'invite', answeredAt);
      case 'conversations.setTopic':
        return reached(trace, 'topic', answeredAt);
      case 'pins.add':
        return reached(trace, 'pin', answeredAt);
      case 'chat.postMessage':
        if (metadata?.event_type === SLACK_EVENT_TYPES.summary) return reached(trace, 'summary', answeredAt);
        if (metadata?.event_type === SLACK_EVENT_TYPES.announcement) return reached(trace, 'announce', answeredAt);
        return;
    }
  });

  onAnswer(fakes.pagerduty.requests, (record: PagerDutyRequest, arrivedAt, answeredAt) => {
    const notes = /^\/incidents\/([^/]+)\/notes$/.exec(record.path);
    const what = notes
      ? `${record.method} notes`
      : /^\/users\/[^/]+$/.test(record.path)
        ? `${record.method} users`
        : `${record.method} ${record.path}`;
    const call: VendorCall = { vendor: 'pagerduty', what, arrivedAt, answeredAt, ok: record.status < 300 };
    const trace = notes ? byIncident.get(decodeURIComponent(notes[1] ?? '')) : undefined;
    note(trace, call);
    if (call.ok && notes && record.method === 'POST') reached(trace, 'note', answeredAt);
  });

  return {
    shared,
    follow(incidentId, channelTemplate) {
      const key = incidentKey('pagerduty', incidentId);
      let done!: () => void;
      const trace: WarRoomTrace = {
        incidentId,
        key,
        label: ticketLabel(key),
        channelName: channelName(channelTemplate, incidentId),
        sentAt: performance.now(),
        calls: [],
        at: {},
        furnished: new Promise<void>((resolveDone) => (done = resolveDone)),
      };
      settle.set(trace, done);
      byLabel.set(trace.label, trace);
      byChannelName.set(trace.channelName, trace);
      byKey.set(key, trace);
      byIncident.set(incidentId, trace);
      return trace;
    },
  };
}

/** The longest run of `calls` made one after another: each arrived after the one before it was answered. */
export function longestChain(calls: readonly VendorCall[]): VendorCall[] {
  const sorted = [...calls].sort((a, b) => a.arrivedAt - b.arrivedAt);
  const chains: VendorCall[][] = [];
  sorted.forEach((call, index) => {
    let before: VendorCall[] = [];
    for (let earlier = 0; earlier < index; earlier++) {
      const chain = chains[earlier] ?? [];
      if ((sorted[earlier] as VendorCall).answeredAt <= call.arrivedAt && chain.length > before.length) before = chain;
    }
    chains[index] = [...before, call];
  });
  return chains.reduce<VendorCall[]>((longest, chain) => (chain.length > longest.length ? chain : longest), []);
}
