import proto from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postmortemFilename } from '../src/activities/jira.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentEvent, IncidentState } from '../src/shared/incident.js';
import { incidentEventSignal } from '../src/shared/messages.js';
import type { Postmortem } from '../src/shared/postmortem.js';
import { POSTMORTEM_V1 } from '../src/workflows/incident.js';
import { eventually } from './eventually.js';
import type { JiraFake, JiraFakeComment } from './fakes/jira.js';
import { startHarness, uniqueId, type Harness } from './harness.js';

// Issue 12, part 4: on resolve the incident's record goes on its Jira ticket, once per resolve, and
// `GET /incidents/:key/timeline` answers the same document.

const API_TOKEN = 'api-token-for-the-postmortem-tests';
const UI = 'http://localhost:8233';
const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };
const PAGERDUTY_LINK = { label: 'PagerDuty incident #4711', url: 'https://example-co.pagerduty.com/incidents/Q1INC0001' };

let h: Harness;
let jira: JiraFake;

beforeAll(async () => {
  h = await startHarness({
    fakes: { slack: { seed: 12 }, configure: ['jira', 'slack'] },
    env: {
      WARROOM_API_TOKEN: API_TOKEN,
      TEMPORAL_UI_URL: UI,
      // Long enough that a reopen lands before the archive; no test waits for it.
      SLACK_ARCHIVE_DELAY: '2m',
    },
  });
  jira = h.fakes.jira;
});

afterEach(() => {
  h.fakes.heal();
});

afterAll(async () => {
  await h?.stop();
});

/** Opens an API incident with a link to its alerting tool's page; answers its key. */
async function open(extra: Record<string, unknown> = {}, idempotencyKey?: string, id = uniqueId('pm-')): Promise<string> {
  const body = JSON.stringify({ id, title: 'checkout-api: 5xx rate above 5%', severity: 'critical', links: [PAGERDUTY_LINK], ...extra });
  const answer = await h.post('/incidents', body, idempotencyKey ? { ...api, 'idempotency-key': idempotencyKey } : api);
  expect(answer.status).toBe(202);
  return incidentKey('api', id);
}

async function until(key: string, what: string, check: (state: IncidentState) => boolean, timeoutMs = 60_000): Promise<IncidentState> {
  return eventually(
    `${key}: ${what}`,
    async () => {
      const state = await h.state(key);
      return check(state) && state;
    },
    { timeoutMs },
  );
}

const roomReady = (state: IncidentState) =>
  ['jiraTicket', 'slackChannel', 'slackSummary', 'slackPin'].every((step) => state.steps[step]?.status === 'done');

async function act(key: string, action: 'acknowledge' | 'resolve', by: string, note?: string) {
  const answer = await h.post(`/incidents/${key}/${action}`, JSON.stringify({ by, note }), api);
  expect(answer.status).toBe(200);
}

/** The run's postmortems on the ticket: comments carrying the marker, by resolve. */
function postmortems(key: string): JiraFakeComment[] {
  const issue = jira.issuesWithLabel(`warroom-${key}`)[0];
  return (issue?.comments ?? []).filter((comment) => JSON.stringify(comment.body).includes(`warroom:postmortem:${workflowIdFor(key)}:`));
}

function text(node: unknown): string {
  if (!node || typeof node !== 'object') return '';
  const { text: own, content, marks } = node as { text?: string; content?: unknown[]; marks?: Array<{ attrs?: { href?: string } }> };
  return [own ?? '', ...(marks ?? []).map((mark) => mark.attrs?.href ?? ''), ...(content ?? []).map(text)].join(' ');
}

/** The patch id a marker event records, if it is a patch marker. */
function patchOf(event: proto.temporal.api.history.v1.IHistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id : undefined;
}

/** What events weigh as Temporal stores and limits them: encoded protobuf bytes. */
function weight(events: proto.temporal.api.history.v1.IHistoryEvent[]): number {
  return events.reduce((sum, event) => sum + proto.temporal.api.history.v1.HistoryEvent.encode(event).finish().length, 0);
}

describe('the postmortem timeline', () => {
  it('goes on the ticket once after the close-out, with times in UTC, actors, every step, durations and links, as GET answers it', async () => {
    const key = await open();
    await until(key, 'war room ready', roomReady);
    await act(key, 'acknowledge', 'dana@example.com');
    await act(key, 'resolve', 'dana@example.com', 'rolled back 4.2.1');
    const state = await until(key, 'postmortem written', (s) => s.steps.postmortem?.status === 'done');

    const written = postmortems(key);
    expect(written).toHaveLength(1);
    const body = text(written[0]!.body);
    const ticket = state.steps.jiraTicket!.ref!;
    for (const expected of [
      'Postmortem timeline: checkout-api: 5xx rate above 5%',
      'Time to acknowledge:',
      'Time to resolve:',
      `by dana@example.com`,
      'dana@example.com: acknowledged and resolved',
      'close the Jira ticket (ok)',
      'tell the channel: resolved (ok)',
      'resolve from api (ok): rolled back 4.2.1',
      ticket,
      state.steps.slackChannel!.url!,
      PAGERDUTY_LINK.url,
      `${UI}/namespaces/default/workflows/${workflowIdFor(key)}`,
      `warroom:postmortem:${workflowIdFor(key)}:`,
    ]) {
      expect(body).toContain(expected);
    }
    expect(body).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // It was written after every other close-out step had settled, so it tells their outcomes.
    const entries = state.timeline.map((entry) => entry.what);
    expect(entries.indexOf('write the postmortem timeline on the Jira ticket')).toBeGreaterThan(entries.indexOf('close the Jira ticket'));
    expect(state.steps.postmortem!.detail).toMatch(new RegExp(`^postmortem on ${ticket} \\(\\d+ entries, \\d+ characters\\)$`));

    const json = await h.get(`/incidents/${key}/timeline`, api);
    expect(json.status).toBe(200);
    const document = json.body as Postmortem;
    expect(document).toMatchObject({
      key,
      status: 'resolved',
      resolve: 1,
      acknowledgedBy: 'dana@example.com',
      resolvedBy: 'dana@example.com',
      links: {
        room: { url: state.steps.slackChannel!.url },
        alert: [PAGERDUTY_LINK],
        ticket: { label: ticket },
        run: { url: `${UI}/namespaces/default/workflows/${workflowIdFor(key)}` },
      },
      olderEntries: 0,
    });
    expect(document.timeToAcknowledge!.ms).toBeGreaterThanOrEqual(0);
    expect(document.timeToResolve!.ms).toBeGreaterThanOrEqual(document.timeToAcknowledge!.ms);
    expect(document.timeline.every((entry) => entry.at.endsWith('Z'))).toBe(true);
    expect(document.timeline.map((entry) => entry.what)).toContain('write the postmortem timeline on the Jira ticket');

    const response = await fetch(`${h.baseUrl}/incidents/${key}/timeline?format=markdown`, { headers: api });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    const markdown = await response.text();
    expect(markdown).toMatch(/^# Postmortem timeline: checkout-api: 5xx rate above 5%\n/);
    expect(markdown).toContain('| Time (UTC) | Actor | Step | Outcome | Detail |');
    expect(markdown).toContain(`- Jira ticket: [${ticket}]`);

    expect(jira.refusals()).toEqual([]);
    expect(jira.responseProblems).toEqual([]);
    expect(jira.v2Requests()).toEqual([]);

    // What the step adds to the incident's history: the patch marker and its activity's three events.
    const history = await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'writePostmortem')!;
    const ofStep = (id: unknown) => Number(id ?? 0) === Number(scheduled.eventId);
    const own = events.filter(
      (event) =>
        event === scheduled ||
        ofStep(event.activityTaskStartedEventAttributes?.scheduledEventId) ||
        ofStep(event.activityTaskCompletedEventAttributes?.scheduledEventId) ||
        patchOf(event) === POSTMORTEM_V1,
    );
    expect(own).toHaveLength(4);
    process.stdout.write(
      `[postmortem] ${state.timeline.length} timeline entries: the step's own ${own.length} events weigh ${weight(own)} bytes ` +
        `(its input ${weight([scheduled])}), of a history of ${events.length} events, ${weight(events)} bytes\n`,
    );
  });

  it('answers 404 for an unknown incident and 400 naming the field for an unknown format', async () => {
    expect(await h.get(`/incidents/api-${uniqueId().toLowerCase()}/timeline`, api)).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('no incident') },
    });
    expect(await h.get('/incidents/NOT%20A%20KEY/timeline', api)).toMatchObject({ status: 404 });
    expect(await h.get(`/incidents/api-x/timeline?format=pdf`, api)).toEqual({
      status: 400,
      body: { error: 'format must be one of json, markdown', field: 'format' },
    });
    expect(await h.get(`/incidents/api-x/timeline?format=json&format=markdown`, api)).toMatchObject({
      status: 400,
      body: { field: 'format' },
    });
    expect(await h.get(`/incidents/api-x/timeline`)).toMatchObject({ status: 401 });
  });

  it('writes one postmortem when Jira applied the comment but answered 500, and the activity was retried', async () => {
    const key = await open();
    await until(key, 'war room ready', roomReady);
    // The resolve comment and the postmortem each land, then fail: both retries must find theirs.
    jira.faults.set('addComment', { applyThenFail: 2 });
    await act(key, 'resolve', 'dana@example.com');
    const state = await until(key, 'postmortem written', (s) => s.steps.postmortem?.status === 'done');

    const issue = jira.issuesWithLabel(`warroom-${key}`)[0]!;
    const failed = jira.requests.filter(
      (request) => request.operation === 'addComment' && request.fault === 'applyThenFail' && request.path.includes(issue.key),
    );
    expect(failed.map((request) => JSON.stringify(request.body).includes('warroom:postmortem:'))).toEqual([false, true]);
    expect(postmortems(key)).toHaveLength(1);
    expect(issue.comments).toHaveLength(2);
    expect(state.steps.postmortem!.detail).toBe(`postmortem already on ${issue.key}`);
    expect(state.failures?.postmortem).toBeUndefined();
  });

  it("attaches a long record as Markdown, with one comment pointing at it, when it would pass Jira's comment limit", async () => {
    const key = await open();
    await until(key, 'war room ready', roomReady);
    const handle = h.client.workflow.getHandle(workflowIdFor(key));
    const note = (index: number): IncidentEvent => ({
      source: 'api',
      externalId: key.slice('api-'.length),
      key,
      kind: 'annotate',
      eventId: `note-${index}`,
      actor: 'dana@example.com',
      occurredAt: new Date().toISOString(),
      links: [],
      note: `note ${index}: ${'checked replica lag and connection pool saturation; '.repeat(5)}`,
    });
    for (let index = 0; index < 120; index += 1) await handle.signal(incidentEventSignal, note(index));
    await until(key, '120 notes on the timeline', (s) => s.timeline.filter((entry) => entry.what === 'annotate from api').length === 120);
    await act(key, 'resolve', 'dana@example.com');
    const state = await until(key, 'postmortem written', (s) => s.steps.postmortem?.status === 'done');

    const issue = jira.issuesWithLabel(`warroom-${key}`)[0]!;
    const filename = postmortemFilename(key, (await handle.describe()).runId, 1);
    expect(issue.attachments.map((file) => file.filename)).toEqual([filename]);
    const markdown = issue.attachments[0]!.text;
    expect(markdown).toContain('note 119: checked replica lag');
    expect(markdown.split('\n').filter((line) => line.includes('| annotate from api |'))).toHaveLength(120);
    const pointers = postmortems(key);
    expect(pointers).toHaveLength(1);
    expect(text(pointers[0]!.body)).toContain(filename);
    expect(state.steps.postmortem!.detail).toContain(`attached to ${issue.key} as ${filename}`);
    const upload = jira.requests.find((request) => request.operation === 'addAttachment')!;
    expect(upload.status).toBe(200);
    expect(jira.refusals()).toEqual([]);
  });

  it('writes a second postmortem when the incident is reopened and resolved again', async () => {
    const id = uniqueId('pm-');
    const key = await open({}, undefined, id);
    await until(key, 'war room ready', roomReady);
    await act(key, 'resolve', 'dana@example.com');
    await until(key, 'first postmortem written', (s) => s.steps.postmortem?.status === 'done');
    // The alert fires again before the room is archived: the same run reopens in the same room.
    await open({}, 'second-trigger', id);
    await until(key, 'reopened', (s) => s.status === 'triggered');
    await act(key, 'resolve', 'ana@example.com', 'for good this time');
    const written = (s: IncidentState) => s.timeline.filter((entry) => entry.what === 'write the postmortem timeline on the Jira ticket');
    const state = await until(key, 'second postmortem written', (s) => s.resolves === 2 && written(s).length === 2);

    const [first, second] = postmortems(key).map((comment) => text(comment.body));
    expect(first).toMatch(/:resolve-1\b/);
    expect(second).toMatch(/:resolve-2\b/);
    expect(second).toContain('resolved (resolve 2)');
    expect(second).toContain('reopened after resolve');
    expect(second).toContain('by ana@example.com');
    expect(written(state).map((entry) => entry.outcome)).toEqual(['ok', 'ok']);
    expect(postmortems(key)).toHaveLength(2);
    expect((await h.get(`/incidents/${key}/timeline`, api)).body).toMatchObject({ resolve: 2, resolvedBy: 'ana@example.com' });
  });
});
