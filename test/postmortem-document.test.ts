import { describe, expect, it } from 'vitest';
import { COMMENT_LIMIT, postmortemComment, postmortemFilename, postmortemMarker } from '../src/activities/jira.js';
import type { IncidentState, TimelineEntry } from '../src/shared/incident.js';
import { DETAIL_LIMIT, postmortemMarkdown, postmortemOf, postmortemRecord, utcIso, utcText } from '../src/shared/postmortem.js';
import { spanText } from '../src/shared/text.js';
import { isAdfDocument } from './fakes/jira.js';
import { incidentState } from './states.js';

// The postmortem document is rendered from the state alone; the API and the Jira step share it.

const RUN = 'http://localhost:8233/namespaces/default/workflows/incident-pagerduty-q1inc0001';

/** A PagerDuty incident acknowledged 3 min 7 s and resolved 1 h 2 min 5 s after it triggered, with its war room. */
function resolved(extra: Partial<IncidentState> = {}): IncidentState {
  return incidentState({
    key: 'pagerduty-q1inc0001',
    workflowId: 'incident-pagerduty-q1inc0001',
    source: 'pagerduty',
    externalId: 'Q1INC0001',
    title: 'checkout-api: 5xx rate above 5% for 10 minutes',
    severity: 'critical',
    service: 'checkout-api',
    status: 'resolved',
    triggeredAt: '2026-03-14T09:26:53.114Z',
    acknowledgedAt: '2026-03-14T09:30:00.114Z',
    acknowledgedBy: 'Dana Oncall',
    resolvedAt: '2026-03-14T10:28:58.114Z',
    resolvedBy: 'Dana Oncall',
    resolves: 1,
    responders: ['sam.sre@example.com'],
    links: [
      { label: 'PagerDuty incident #4711', url: 'https://example-co.pagerduty.com/incidents/Q1INC0001' },
      { label: 'open Jira ticket', url: 'https://jira.example.com/browse/RLY-7' },
      { label: 'open Slack channel', url: 'https://example.slack.com/archives/C0ROOM' },
      { label: 'post status page', url: 'https://status.example.com/incidents/4411' },
    ],
    steps: {
      jiraTicket: { status: 'done', ref: 'RLY-7', url: 'https://jira.example.com/browse/RLY-7', detail: 'created RLY-7' },
      slackChannel: {
        status: 'done',
        ref: 'C0ROOM',
        name: 'team-relay-incident-q1inc0001',
        url: 'https://example.slack.com/archives/C0ROOM',
      },
      statusPage: { status: 'done', ref: '4411', url: 'https://status.example.com/incidents/4411' },
    },
    statusPage: { monitor: 'checkout-api', combined: false },
    timeline: [
      { at: '2026-03-14T09:26:53.114Z', actor: 'PagerDuty (checkout-api)', what: 'trigger from pagerduty', outcome: 'ok' },
      { at: '2026-03-14T09:26:54.000Z', actor: 'warroom', what: 'open Jira ticket', outcome: 'ok', detail: 'created RLY-7' },
      { at: '2026-03-14T09:30:00.114Z', actor: 'Dana Oncall', what: 'acknowledge from pagerduty', outcome: 'ok' },
      { at: '2026-03-14T10:28:58.114Z', actor: 'Dana Oncall', what: 'resolve from pagerduty', outcome: 'ok', detail: 'rolled back 4.2.1' },
      { at: '2026-03-14T10:28:59.000Z', actor: 'warroom', what: 'close the Jira ticket', outcome: 'failed', detail: 'Jira: 500 | retry' },
    ],
    ...extra,
  });
}

describe('the postmortem document', () => {
  it('measures time to acknowledge and to resolve from the trigger', () => {
    const document = postmortemOf(resolved());
    expect(document.timeToAcknowledge).toEqual({ ms: 187_000, text: '3 min 7 s' });
    expect(document.timeToResolve).toEqual({ ms: 3_725_000, text: '1 h 2 min' });
    expect(document.resolve).toBe(1);
  });

  it('says "not acknowledged" and "not resolved" for an open incident, and measures nothing it cannot', () => {
    const open = postmortemOf(
      resolved({ status: 'triggered', acknowledgedAt: undefined, acknowledgedBy: undefined, resolvedAt: undefined }),
    );
    expect(open.timeToAcknowledge).toBeUndefined();
    expect(open.timeToResolve).toBeUndefined();
    expect(open.resolve).toBeUndefined();
    const markdown = postmortemMarkdown(open);
    expect(markdown).toContain('**Time to acknowledge:** not acknowledged');
    expect(markdown).toContain('**Time to resolve:** not resolved');
    // A source clock behind the trigger's gives no figure rather than a negative one.
    const skewed = postmortemOf(resolved({ acknowledgedAt: '2026-03-14T09:20:00.000Z' }));
    expect(skewed.timeToAcknowledge).toBeUndefined();
    expect(postmortemMarkdown(skewed)).toContain('**Time to acknowledge:** not measurable');
  });

  it('states every time in UTC, whatever offset the source sent', () => {
    const document = postmortemOf(
      resolved({
        acknowledgedAt: '2026-03-14T11:30:00.114+02:00',
        timeline: [{ at: '2026-03-14T05:26:53.114-04:00', actor: 'PagerDuty', what: 'trigger from pagerduty', outcome: 'ok' }],
      }),
    );
    expect(document.acknowledgedAt).toBe('2026-03-14T09:30:00.114Z');
    expect(document.timeline[0]!.at).toBe('2026-03-14T09:26:53.114Z');
    const markdown = postmortemMarkdown(document);
    expect(markdown).toContain('**Acknowledged:** 2026-03-14 09:30:00 UTC by Dana Oncall');
    expect(markdown).toContain('| 2026-03-14 09:26:53 UTC | PagerDuty |');
    expect(utcIso('not a time')).toBe('not a time');
    expect(utcText('2026-03-14T09:26:53Z')).toBe('2026-03-14 09:26:53 UTC');
  });

  it('names the actors, who acknowledged and resolved, and the responders', () => {
    const document = postmortemOf(resolved());
    expect(document.actors).toEqual([
      { name: 'PagerDuty (checkout-api)', entries: 1, did: [] },
      { name: 'warroom', entries: 2, did: [] },
      { name: 'Dana Oncall', entries: 2, did: ['acknowledged', 'resolved'] },
    ]);
    const markdown = postmortemMarkdown(document);
    expect(markdown).toContain('- Dana Oncall: acknowledged and resolved; 2 entries');
    expect(markdown).toContain('- Responders brought in: sam.sre@example.com');
  });

  it('lists every timeline entry with its step, outcome and detail', () => {
    const markdown = postmortemMarkdown(postmortemOf(resolved()));
    const rows = markdown.split('\n').filter((line) => /^\| 2026/.test(line));
    expect(rows).toHaveLength(5);
    expect(rows[3]).toBe('| 2026-03-14 10:28:58 UTC | Dana Oncall | resolve from pagerduty | ok | rolled back 4.2.1 |');
    // A pipe in a detail stays inside its cell.
    expect(rows[4]).toBe('| 2026-03-14 10:28:59 UTC | warroom | close the Jira ticket | failed | Jira: 500 \\| retry |');
  });

  it("says honestly how many earlier entries are only in the run's history, and links the run", () => {
    const document = postmortemOf(resolved({ olderEntries: 412 }), { runUrl: RUN });
    expect(document.olderEntries).toBe(412);
    const markdown = postmortemMarkdown(document);
    expect(markdown).toContain(`_412 earlier entries are in the run's history. [incident-pagerduty-q1inc0001](<${RUN}>)_`);
    expect(postmortemMarkdown(postmortemOf(resolved({ olderEntries: 1 })))).toContain("1 earlier entry is in the run's history.");
    expect(postmortemMarkdown(postmortemOf(resolved()))).not.toContain('earlier');
  });

  it("links the room, the alerting tool's incident, the status page, the ticket and the Temporal run", () => {
    const document = postmortemOf(resolved(), { runUrl: RUN });
    expect(document.links).toEqual({
      room: { label: '#team-relay-incident-q1inc0001', url: 'https://example.slack.com/archives/C0ROOM' },
      alert: [{ label: 'PagerDuty incident #4711', url: 'https://example-co.pagerduty.com/incidents/Q1INC0001' }],
      statusPage: { label: 'checkout-api', url: 'https://status.example.com/incidents/4411' },
      ticket: { label: 'RLY-7', url: 'https://jira.example.com/browse/RLY-7' },
      run: { label: 'incident-pagerduty-q1inc0001', url: RUN },
    });
    const markdown = postmortemMarkdown(document);
    expect(markdown).toContain('- Room: [\\#team-relay-incident-q1inc0001](<https://example.slack.com/archives/C0ROOM>)');
    expect(markdown).toContain(
      '- Alerting tool (pagerduty): [PagerDuty incident \\#4711](<https://example-co.pagerduty.com/incidents/Q1INC0001>)',
    );
    expect(markdown).toContain(`- Temporal run: [incident-pagerduty-q1inc0001](<${RUN}>)`);
    // Without TEMPORAL_UI_URL there is no run link; a link that is not http(s) is text, never a link.
    const bare = postmortemOf(resolved({ links: [{ label: 'runbook', url: 'javascript:alert(1)' }] }));
    expect(bare.links.run).toBeUndefined();
    expect(postmortemMarkdown(bare)).toContain('- Alerting tool (pagerduty): runbook');
  });

  it('renders as valid ADF with the marker as its own text node, within the comment limit for a usual incident', () => {
    const document = postmortemOf(resolved(), { runUrl: RUN });
    const marker = postmortemMarker('incident-pagerduty-q1inc0001', 'run-1', 1);
    const adf = postmortemComment(document, marker);
    expect(isAdfDocument(adf)).toBe(true);
    expect(JSON.stringify(adf).length).toBeLessThan(COMMENT_LIMIT);
    expect(adf.content.at(-1)).toEqual({ type: 'paragraph', content: [{ type: 'text', text: marker, marks: [{ type: 'code' }] }] });
    const text = JSON.stringify(adf);
    for (const expected of ['3 min 7 s', '1 h 2 min', 'rolled back 4.2.1', 'RLY-7', RUN, '2026-03-14 10:28:58 UTC']) {
      expect(text).toContain(expected);
    }
    expect(postmortemFilename('pagerduty-q1inc0001', 'run-1', 2)).toMatch(/^postmortem-pagerduty-q1inc0001-resolve-2-[0-9a-f]{8}\.md$/);
  });

  it('grows past the comment limit with a long timeline (the step then attaches it)', () => {
    const timeline: TimelineEntry[] = Array.from({ length: 300 }, (_, index) => ({
      at: new Date(Date.parse('2026-03-14T09:30:00Z') + index * 1000).toISOString(),
      actor: 'Dana Oncall',
      what: 'annotate from pagerduty',
      outcome: 'ok',
      detail: `note ${index}: ${'checked the replica lag again; '.repeat(3)}`,
    }));
    const adf = postmortemComment(postmortemOf(resolved({ timeline, olderEntries: 40 })), postmortemMarker('w', 'r', 1));
    expect(isAdfDocument(adf)).toBe(true);
    expect(JSON.stringify(adf).length).toBeGreaterThan(COMMENT_LIMIT);
  });

  it('carries only what the document needs in the step input, each detail cut at the limit', () => {
    const long = 'x'.repeat(DETAIL_LIMIT + 500);
    const state = resolved({ details: { entity_id: 'db-1' } });
    state.timeline.push({
      at: '2026-03-14T10:29:00.000Z',
      actor: 'Dana Oncall',
      what: 'annotate from pagerduty',
      outcome: 'ok',
      detail: long,
    });
    const record = postmortemRecord(state);
    expect(record.details).toBeUndefined();
    expect(record.steps.jiraTicket).toEqual({ status: 'done', ref: 'RLY-7', url: 'https://jira.example.com/browse/RLY-7' });
    expect(record.timeline.at(-1)!.detail).toHaveLength(DETAIL_LIMIT);
    expect(record.timeline.at(-1)!.detail!.endsWith('…')).toBe(true);
    expect(state.timeline.at(-1)!.detail).toBe(long);
    // The rest of the document is the same from the record as from the state.
    const fromState = postmortemOf(state, { runUrl: RUN });
    const fromRecord = postmortemOf(record, { runUrl: RUN });
    expect({ ...fromRecord, timeline: fromRecord.timeline.slice(0, -1) }).toEqual({
      ...fromState,
      timeline: fromState.timeline.slice(0, -1),
    });
  });

  it('writes spans the way people read them', () => {
    expect([0, 45_000, 60_000, 187_000, 3_600_000, 3_725_000, 86_400_000, 97_200_000].map(spanText)).toEqual([
      '0 s',
      '45 s',
      '1 min',
      '3 min 7 s',
      '1 h',
      '1 h 2 min',
      '1 d',
      '1 d 3 h',
    ]);
  });
});
