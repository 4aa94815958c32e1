import { describe, expect, it } from 'vitest';
import type { ActorNote, IncidentEvent } from '../src/shared/incident.js';
import {
  Incident,
  LIST_LIMIT,
  REPEATS_ON_TIMELINE,
  SEEN_EVENT_LIMIT,
  TIMELINE_LIMIT,
  type Effect,
  type LegacyCarried,
} from '../src/workflows/incident-state.js';

// The incident's rules without Temporal: an event sequence in, the state and the effects out.

const KEY = 'pagerduty-q1inc0001';
let clock = Date.parse('2026-03-14T09:00:00.000Z');
const now = () => new Date((clock += 1000));
let ids = 0;

function event(kind: IncidentEvent['kind'], extra: Partial<IncidentEvent> = {}): IncidentEvent {
  ids += 1;
  return {
    source: 'pagerduty',
    externalId: 'Q1INC0001',
    key: KEY,
    kind,
    eventId: `evt-${ids}`,
    title: 'checkout-api: 5xx above 5%',
    severity: 'critical',
    links: [],
    actor: 'PagerDuty (checkout-api)',
    occurredAt: new Date(clock).toISOString(),
    ...extra,
  };
}

function fresh(): Incident {
  return Incident.start({ key: KEY, workflowId: `incident-${KEY}`, source: 'pagerduty', externalId: 'Q1INC0001' }, now);
}

type Step = IncidentEvent | { act: 'acknowledge' | 'resolve'; note: ActorNote };

/** Plays a sequence; returns the incident and the effects of each step. */
function play(...steps: Step[]): { incident: Incident; effects: Effect[][] } {
  const incident = fresh();
  const effects = steps.map((step) => ('act' in step ? incident.act(step.act, step.note) : incident.receive(step)));
  return { incident, effects };
}

const kinds = (effects: Effect[]) =>
  effects.map((effect) => (effect.kind === 'searchAttributes' ? `sa:${effect.status ?? effect.severity}` : effect.kind));
const last = (incident: Incident) => incident.state.timeline.at(-1);

describe('an incident, event by event', () => {
  it.each<[string, Step[], { status: string; effects: string[][]; last: Record<string, unknown> }]>([
    [
      'a trigger opens the war room',
      [event('trigger')],
      { status: 'triggered', effects: [['sa:critical', 'openWarRoom', 'watch']], last: { what: 'trigger from pagerduty', outcome: 'ok' } },
    ],
    [
      'an acknowledge that arrives first opens the room and acknowledges',
      [event('acknowledge', { actor: 'Dana' })],
      {
        status: 'acknowledged',
        effects: [['sa:critical', 'openWarRoom', 'watch', 'sa:acknowledged', 'announce']],
        last: { what: 'acknowledge from pagerduty', actor: 'Dana', outcome: 'ok' },
      },
    ],
    [
      'a second acknowledge changes nothing',
      [event('trigger'), event('acknowledge'), event('acknowledge')],
      {
        status: 'acknowledged',
        effects: [['sa:critical', 'openWarRoom', 'watch'], ['sa:acknowledged', 'announce'], []],
        last: { outcome: 'ignored', detail: 'already acknowledged' },
      },
    ],
    [
      'a resolve before anything was opened closes nothing out',
      [event('update', { title: 'from an update' }), event('resolve')],
      {
        status: 'resolved',
        effects: [['sa:critical'], ['sa:resolved']],
        last: { what: 'close out', outcome: 'skipped', detail: 'resolved before anything was opened' },
      },
    ],
    [
      'a reopen while open goes back to triggered without telling anyone',
      [event('trigger'), event('acknowledge'), event('reopen')],
      {
        status: 'triggered',
        effects: [
          ['sa:critical', 'openWarRoom', 'watch'],
          ['sa:acknowledged', 'announce'],
          ['sa:triggered', 'watch'],
        ],
        last: { what: 'reopen from pagerduty', outcome: 'ok' },
      },
    ],
    [
      'an acknowledge after the resolve is ignored',
      [event('trigger'), event('resolve'), event('acknowledge')],
      {
        status: 'resolved',
        effects: [['sa:critical', 'openWarRoom', 'watch'], ['sa:resolved'], []],
        last: { what: 'acknowledge from pagerduty', outcome: 'ignored', detail: 'incident is resolved' },
      },
    ],
    [
      'a new alert after the resolve reopens the incident in the same room',
      [event('trigger'), event('resolve'), event('trigger')],
      {
        status: 'triggered',
        effects: [['sa:critical', 'openWarRoom', 'watch'], ['sa:resolved'], ['sa:triggered', 'announce', 'watch']],
        last: { what: 'trigger from pagerduty', outcome: 'ok', detail: 'reopened after resolve' },
      },
    ],
    [
      'a note is recorded and changes nothing else',
      [event('trigger'), event('annotate', { note: 'rolled back', actor: 'Dana' })],
      {
        status: 'triggered',
        effects: [['sa:critical', 'openWarRoom', 'watch'], []],
        last: { what: 'annotate from pagerduty', actor: 'Dana', detail: 'rolled back' },
      },
    ],
  ])('%s', (_name, steps, expected) => {
    const { incident, effects } = play(...steps);
    expect(incident.status).toBe(expected.status);
    expect(effects.map(kinds)).toEqual(expected.effects);
    expect(last(incident)).toMatchObject(expected.last);
  });

  it('counts each resolve, a reopened one again, so each gets its own postmortem; a refused resolve counts nothing', () => {
    const { incident } = play(event('trigger'), event('resolve'), event('resolve'), event('trigger'), {
      act: 'resolve',
      note: { by: 'ana', via: 'api' },
    });
    expect(incident.state.resolves).toBe(2);
    expect(incident.refusal('resolve')).toBe('already resolved');
    expect(fresh().state.resolves).toBeUndefined();
  });

  it('drops a repeated delivery: same event id, no effect, no timeline entry', () => {
    const trigger = event('trigger');
    const { incident, effects } = play(trigger, trigger, { ...trigger });
    expect(effects.map(kinds)).toEqual([['sa:critical', 'openWarRoom', 'watch'], [], []]);
    expect(incident.state.timeline).toHaveLength(1);
    expect(incident.state.repeatCount).toBe(0);
  });

  it('counts new alerts for an open incident as repeats, and writes only the first few on the timeline', () => {
    const { incident, effects } = play(event('trigger'), ...Array.from({ length: 25 }, () => event('trigger', { severity: 'warning' })));
    expect(incident.state.repeatCount).toBe(25);
    expect(effects.slice(1).every((list) => list.length === 0)).toBe(true);
    expect(incident.state.timeline.filter((entry) => entry.detail?.startsWith('repeated alert'))).toHaveLength(REPEATS_ON_TIMELINE);
    expect(incident.state.severity).toBe('warning');
  });

  it('recognises the echo of a status warroom pushed to the source tool', () => {
    const { incident } = play(event('trigger'), { act: 'acknowledge', note: { by: 'dana', via: 'slack' } });
    const announced = incident.state.timeline.at(-1);
    expect(announced).toMatchObject({ what: 'acknowledge from slack', actor: 'dana', outcome: 'ok' });
    incident.pushedStatus('acknowledged');
    incident.receive(event('acknowledge', { actor: 'Dana (via PagerDuty)' }));
    expect(last(incident)).toMatchObject({ outcome: 'ignored', detail: "echo of warroom's own change" });
    expect(incident.state.acknowledgedBy).toBe('dana');
  });

  it('names where an acknowledge came from in the change it announces', () => {
    const { effects } = play(event('trigger'), { act: 'acknowledge', note: { by: 'dana', note: 'on it', via: 'slack' } });
    expect(effects[1]).toContainEqual({
      kind: 'announce',
      change: { status: 'acknowledged', actor: 'dana', note: 'on it', origin: 'slack' },
    });
  });

  it('ignores an event addressed to another incident, and says so', () => {
    const { incident, effects } = play(event('trigger'), event('resolve', { key: 'pagerduty-other' }));
    expect(effects[1]).toEqual([]);
    expect(incident.status).toBe('triggered');
    expect(last(incident)).toMatchObject({
      what: 'resolve for another incident',
      outcome: 'ignored',
      detail: 'addressed to pagerduty-other',
    });
  });

  it('says why an acknowledge or resolve would change nothing', () => {
    const incident = fresh();
    incident.receive(event('trigger'));
    expect(incident.refusal('acknowledge')).toBeUndefined();
    incident.act('acknowledge', { by: 'dana' });
    expect(incident.refusal('acknowledge')).toBe('already acknowledged');
    expect(incident.refusal('resolve')).toBeUndefined();
    incident.act('resolve', { by: 'dana' });
    expect(incident.refusal('acknowledge')).toBe('already resolved');
    expect(incident.refusal('resolve')).toBe('already resolved');
    incident.close();
    expect(incident.refusal('resolve')).toBe('the incident is closed');
  });

  it('holds events while it closes out and applies them after, in order', () => {
    const { incident } = play(event('trigger'), event('resolve'));
    incident.holdEvents();
    expect(incident.receive(event('annotate', { note: 'late note' }))).toEqual([]);
    expect(incident.receive(event('trigger'))).toEqual([]);
    expect(incident.status).toBe('resolved');
    const released = incident.releaseEvents();
    expect(kinds(released)).toEqual(['sa:triggered', 'announce', 'watch']);
    expect(incident.state.timeline.slice(-2)).toMatchObject([
      { what: 'annotate from pagerduty', outcome: 'ignored', detail: 'incident is resolved' },
      { what: 'trigger from pagerduty', outcome: 'ok', detail: 'reopened after resolve' },
    ]);
  });

  it('keeps a new alert that reaches a closed run for the next run, and nothing else', () => {
    const { incident } = play(event('trigger'), event('resolve'));
    incident.holdEvents();
    const held = event('trigger');
    incident.receive(held);
    incident.close();
    const after = event('reopen');
    incident.receive(after);
    incident.receive(event('annotate'));
    incident.act('acknowledge', { by: 'dana', via: 'signal' });
    expect(incident.late).toEqual([held, after]);
    expect(incident.status).toBe('resolved');
    expect(last(incident)).toMatchObject({ outcome: 'ignored', detail: 'the incident is closed' });
  });
});

describe('escalation and reminders', () => {
  it('escalates once per opening, only while nobody has acknowledged, and keeps its deadline when asked again', () => {
    const { incident } = play(event('trigger'));
    const wait = incident.escalationDue(300_000);
    expect(wait).toBeGreaterThan(298_000);
    // A continued run asks again later: the same deadline, less time left.
    expect(incident.escalationDue(300_000)!).toBeLessThan(wait!);
    expect(kinds(incident.escalate())).toEqual(['escalate']);
    expect(last(incident)).toMatchObject({ what: 'escalate', outcome: 'ok', detail: 'nobody acknowledged within 5 min' });
    expect(incident.escalate()).toEqual([]);
    expect(incident.escalationDue(300_000)).toBeUndefined();
    expect(incident.state.escalation).toMatchObject({ count: 1, escalated: true });
  });

  it('does not escalate an incident acknowledged meanwhile, from a webhook or a person', () => {
    for (const acknowledge of [event('acknowledge'), { act: 'acknowledge' as const, note: { by: 'Dana' } }]) {
      const { incident } = play(event('trigger'));
      incident.escalationDue(300_000);
      if ('act' in acknowledge) incident.act(acknowledge.act, acknowledge.note);
      else incident.receive(acknowledge);
      expect(incident.escalate()).toEqual([]);
      expect(incident.state.timeline.some((entry) => entry.what === 'escalate')).toBe(false);
    }
  });

  it('starts a new wait after a reopen, counting escalations across openings', () => {
    const { incident } = play(event('trigger'));
    incident.escalationDue(60_000);
    incident.escalate();
    incident.receive(event('resolve'));
    expect(kinds(incident.receive(event('trigger')))).toContain('watch');
    expect(incident.escalationDue(60_000)).toBeGreaterThan(58_000);
    incident.escalate();
    expect(incident.state.escalation).toMatchObject({ count: 2, escalated: true });
  });

  it('asks the room at each interval unless an update came since the last reminder', () => {
    const { incident } = play(event('trigger'));
    expect(incident.reminderDue(1_800_000)).toBeGreaterThan(1_790_000);
    expect(kinds(incident.remind())).toEqual(['remind']);
    incident.state.lastUpdateAt = now().toISOString();
    expect(incident.remind()).toEqual([]);
    // The clock restarted at the reminder that was skipped; no update since: the next one asks.
    expect(kinds(incident.remind())).toEqual(['remind']);
  });
});

describe('steps on the record', () => {
  it('raises one alert per failing step until a success clears it, and says which failure a success recovered from', () => {
    const incident = fresh();
    expect(incident.stepFailed('jiraTicket', 'open Jira ticket', 'Jira: 400')).toBe(true);
    incident.alertRaised('jiraTicket');
    expect(incident.stepFailed('jiraTicket', 'open Jira ticket', 'Jira: 400 again')).toBe(false);
    expect(incident.failedSteps()).toEqual([['jiraTicket', { what: 'open Jira ticket', error: 'Jira: 400 again', alert: 'open' }]]);
    const recovered = incident.stepSettled('jiraTicket', 'open Jira ticket', {
      status: 'done',
      ref: 'RLY-1',
      url: 'https://jira.example.com/browse/RLY-1',
    });
    expect(recovered).toMatchObject({ alert: 'open' });
    expect(incident.failedSteps()).toEqual([]);
    expect(incident.state.links).toContainEqual({ label: 'open Jira ticket', url: 'https://jira.example.com/browse/RLY-1' });
    expect(incident.state.timeline.map((entry) => entry.outcome)).toEqual(['failed', 'failed', 'ok']);
  });
});

describe('bounded state', () => {
  it(`keeps the last ${TIMELINE_LIMIT} timeline entries and counts the older ones`, () => {
    const { incident } = play(event('trigger'), ...Array.from({ length: 1000 }, (_, i) => event('annotate', { note: `note ${i}` })));
    expect(incident.state.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(incident.state.olderEntries).toBe(1001 - TIMELINE_LIMIT);
    expect(incident.state.timeline.at(-1)).toMatchObject({ detail: 'note 999' });
  });

  it('carries a small state through continue-as-new after 10,000 repeat alerts, each with new links, responders and details', () => {
    const incident = fresh();
    incident.receive(event('trigger'));
    for (let i = 0; i < 10_000; i += 1) {
      incident.receive(
        event('trigger', {
          eventId: `repeat-${i}-${'x'.repeat(20)}`,
          links: [{ label: `graph ${i}`, url: `https://prometheus.example.com/graph?g0=${i}` }],
          responders: [`oncall-${i}@example.com`],
          assignees: [`PUSER${i}`],
          details: { [`label_${i}`]: `value ${i}` },
        }),
      );
    }
    const carried = incident.carry();
    const bytes = Buffer.byteLength(JSON.stringify(carried));
    console.log(`[bounded state] after 10,000 repeat alerts the continue-as-new input is ${(bytes / 1024).toFixed(1)} KiB`);
    expect(incident.state.repeatCount).toBe(10_000);
    expect(carried.seenEventIds).toHaveLength(SEEN_EVENT_LIMIT);
    expect(incident.state.links).toHaveLength(LIST_LIMIT);
    expect(incident.state.responders).toHaveLength(LIST_LIMIT);
    expect(Object.keys(incident.state.details ?? {})).toHaveLength(LIST_LIMIT);
    expect(carried.assignees).toHaveLength(LIST_LIMIT);
    expect(bytes).toBeLessThan(128 * 1024);

    // The next run still drops a redelivery of a recent event, and continues the count.
    const next = Incident.resume(JSON.parse(JSON.stringify(carried)), now);
    expect(next.receive(event('trigger', { eventId: `repeat-9999-${'x'.repeat(20)}` }))).toEqual([]);
    expect(next.state.repeatCount).toBe(10_000);
  });

  it('stays bounded through a week of reminders at 30 min, with an update between some of them', () => {
    const incident = fresh();
    incident.receive(event('trigger'));
    let asked = 0;
    // 336 intervals of 30 min; the clock here moves 1 s a call, so each reminder is simply the next call.
    for (let i = 0; i < 336; i += 1) {
      if (i % 3 === 0) incident.state.lastUpdateAt = now().toISOString();
      if (incident.remind().length === 0) continue;
      asked += 1;
      incident.stepSettled('slackReminder', 'ask the room for a status update', { status: 'done', ref: `17000000${i}.000100` });
      if (i === 47) {
        const bytes = Buffer.byteLength(JSON.stringify(incident.carry()));
        console.log(
          `[bounded state] after 12 hours of reminders (${asked} asked) the continue-as-new input is ${(bytes / 1024).toFixed(1)} KiB`,
        );
      }
    }
    // Every third interval had an update before it: that reminder was not sent.
    expect(asked).toBe(224);
    expect(incident.state.timeline.length).toBeLessThanOrEqual(TIMELINE_LIMIT);
    expect(Buffer.byteLength(JSON.stringify(incident.carry()))).toBeLessThan(128 * 1024);
  });

  it('continues a run that warroom 0.1 carried, trimming its timeline', () => {
    const old = fresh();
    old.receive(event('trigger'));
    old.receive(event('acknowledge', { eventId: 'ack-1' }));
    const legacy: LegacyCarried = {
      state: {
        ...old.state,
        timeline: Array.from({ length: 500 }, (_, i) => ({ at: 'x', actor: 'a', what: `entry ${i}`, outcome: 'ok' as const })),
      },
      seenEventIds: ['ack-1'],
      warRoomOpened: true,
      refs: {},
      assignees: ['PUSR001'],
    };
    const incident = Incident.resume(legacy, now);
    expect(incident.opened).toBe(true);
    expect(incident.state.timeline).toHaveLength(TIMELINE_LIMIT);
    expect(incident.state.olderEntries).toBe(200);
    expect(incident.assigneeIds()).toEqual(['PUSR001']);
    expect(incident.receive(event('acknowledge', { eventId: 'ack-1' }))).toEqual([]);
    expect(incident.carry()).toMatchObject({ version: 2, opened: true });
  });
});

describe('status updates (`/incident note`)', () => {
  it('records a note as its author, from where it came, and remembers it as the latest status update', () => {
    const { incident } = play(event('trigger'));
    const answer = incident.note({ by: 'dana.oncall', note: 'rolled back the deploy', via: 'slack', id: 'n1' });
    expect(last(incident)).toMatchObject({
      actor: 'dana.oncall',
      what: 'note from slack',
      outcome: 'ok',
      detail: 'rolled back the deploy',
    });
    expect(incident.state).toMatchObject({ lastUpdateAt: last(incident)?.at, lastUpdateBy: 'dana.oncall' });
    expect(answer).toEqual({
      key: KEY,
      workflowId: `incident-${KEY}`,
      repeat: false,
      lastUpdateAt: last(incident)?.at,
      lastUpdateBy: 'dana.oncall',
    });
  });

  it('records a repeat of a note id once, refuses it as an update, and keeps that across continue-as-new', () => {
    const { incident } = play(event('trigger'));
    incident.note({ by: 'dana.oncall', note: 'rolled back', id: 'n1' });
    const entries = incident.state.timeline.length;
    expect(incident.noteRefusal({ id: 'n1' })).toBe('this update was recorded already');
    expect(incident.note({ by: 'dana.oncall', note: 'rolled back', id: 'n1' })).toMatchObject({ repeat: true });
    expect(incident.state.timeline).toHaveLength(entries);
    const next = Incident.resume(JSON.parse(JSON.stringify(incident.carry())), now);
    expect(next.noteRefusal({ id: 'n1' })).toBe('this update was recorded already');
    expect(next.state.lastUpdateBy).toBe('dana.oncall');
    // Without an id every note is its own; a note after resolve still goes on the record.
    expect(next.noteRefusal({})).toBeUndefined();
    next.act('resolve', { by: 'sam', via: 'api' });
    expect(next.noteRefusal()).toBeUndefined();
  });

  it('skips the next reminder after a note, and asks again at the one after', () => {
    const { incident } = play(event('trigger'));
    expect(kinds(incident.remind())).toEqual(['remind']);
    incident.note({ by: 'dana.oncall', note: 'failing over', via: 'slack', id: 'n1' });
    expect(incident.remind()).toEqual([]);
    expect(kinds(incident.remind())).toEqual(['remind']);
  });

  it('refuses a note once the run has closed', () => {
    const { incident } = play(event('trigger'), { act: 'resolve', note: { by: 'sam' } });
    incident.close();
    expect(incident.noteRefusal()).toBe('the incident is closed');
  });

  it('keeps the Slack ids of people to invite, once each, within the list limit', () => {
    const { incident } = play(
      event('trigger', { slackResponders: ['U0DANA'] }),
      event('trigger', { slackResponders: ['U0DANA', 'U0SAM'] }),
      event('trigger', { slackResponders: Array.from({ length: LIST_LIMIT }, (_, i) => `U${i}`) }),
    );
    expect(incident.state.slackResponders?.slice(0, 2)).toEqual(['U0DANA', 'U0SAM']);
    expect(incident.state.slackResponders).toHaveLength(LIST_LIMIT);
    expect(play(event('trigger')).incident.state.slackResponders).toBeUndefined();
  });
});
