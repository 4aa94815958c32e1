import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SPEC_VERDICT, SPECS_PRESENT } from './fakes/openapi.js';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../src/activities/errors.js';
import { createPagerDutyActivities } from '../src/activities/pagerduty.js';
import type { StepInput } from '../src/activities/step.js';
import { createTimelineActivities } from '../src/activities/timeline.js';
import { startPagerDutyFake, type PagerDutyFake } from './fakes/pagerduty.js';
import { startVictorOpsFake, type VictorOpsFake } from './fakes/victorops.js';
import { failureOf, withRetries } from './activity-failures.js';
import { fixtureJson } from './samples.js';

const sampleInfo = fixtureJson<Record<string, string>>('victorops-rest-info-timeline-note.json');
const jiraUrl = sampleInfo['vo_annotate.u.Jira']!;
const slackUrl = sampleInfo['vo_annotate.u.Slack']!;

/** A VictorOps incident with its ticket and channel, as the workflow passes it once both exist. */
function victorOpsIncident(overrides: Partial<StepInput> = {}): StepInput {
  return {
    key: 'victorops-2231',
    workflowId: 'incident-victorops-2231',
    source: 'victorops',
    externalId: '2231',
    title: 'orders-db: replication lag above 30 s',
    status: 'triggered',
    links: [],
    responders: [],
    assignees: [],
    refs: {},
    details: { entity_id: sampleInfo.entity_id! },
    ticket: { key: 'OPS-812', url: jiraUrl },
    channel: { id: 'C0INC2231', name: 'inc-2231-orders-db-lag', url: slackUrl },
    ...overrides,
  };
}

function pagerDutyIncident(externalId: string, overrides: Partial<StepInput> = {}): StepInput {
  return victorOpsIncident({
    key: `pagerduty-${externalId.toLowerCase()}`,
    workflowId: `incident-pagerduty-${externalId.toLowerCase()}`,
    source: 'pagerduty',
    externalId,
    details: undefined,
    ...overrides,
  });
}

let vo: VictorOpsFake;
let pd: PagerDutyFake;

beforeAll(async () => {
  [vo, pd] = await Promise.all([startVictorOpsFake(), startPagerDutyFake()]);
});

afterAll(async () => {
  await Promise.all([vo?.stop(), pd?.stop()]);
});

beforeEach(() => {
  vo.reset();
  pd.reset();
});

const pagerdutySettings = () => ({ apiToken: pd.apiToken, fromEmail: pd.fromEmail, apiUrl: pd.url });

describe('VictorOps REST fake', () => {
  const post = (body: unknown, url = vo.url) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }));

  it('accepts the documented sample alerts and walks one entity through trigger, INFO, acknowledge and recovery', async () => {
    const entity = fixtureJson('victorops-rest-critical.json').entity_id as string;
    for (const sample of ['victorops-rest-critical.json', 'victorops-rest-acknowledgement.json', 'victorops-rest-recovery.json']) {
      const answer = await post(fixtureJson(sample));
      expect(answer).toEqual({ status: 200, body: { result: 'success', entity_id: entity } });
      expect(Object.keys(answer.body).sort()).toEqual(Object.keys(fixtureJson('victorops-rest-response-success.json')).sort());
    }
    expect(vo.state.entities.get(entity)?.phase).toBe('resolved');
    expect(vo.timeline(entity).map((alert) => alert.messageType)).toEqual(['CRITICAL', 'ACKNOWLEDGEMENT', 'RECOVERY']);

    const info = await post(sampleInfo);
    expect(info.status).toBe(200);
    expect(vo.state.entities.get(sampleInfo.entity_id!)?.phase).toBeUndefined();
  });

  it('refuses what VictorOps refuses, in its failure format, and reads unknown message types as INFO', async () => {
    const failureShape = Object.keys(fixtureJson('victorops-rest-response-failure.json')).sort();
    const missing = await post({ entity_id: 'x' });
    expect(missing).toEqual({ status: 400, body: fixtureJson('victorops-rest-response-failure.json') });

    const tooLong = await post({ message_type: 'INFO', entity_id: 'e'.repeat(513) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toMatch(/entity_id/);
    expect(Object.keys(tooLong.body).sort()).toEqual(failureShape);
    expect((await post({ message_type: 'INFO', state_message: 's'.repeat(20480) })).status).toBe(200);
    expect((await post({ message_type: 'INFO', state_message: 's'.repeat(20481) })).status).toBe(400);
    expect((await post({ message_type: 'INFO', monitoring_tool: 'm'.repeat(1025) })).status).toBe(400);

    const wrongKey = await post({ message_type: 'INFO' }, vo.url.replace(vo.apiKey, 'not-the-key'));
    expect(wrongKey.status).toBe(404);
    expect(wrongKey.body.result).toBe('failure');

    const odd = await post({ message_type: 'NOTE', entity_id: 'odd' });
    expect(odd.status).toBe(200);
    expect(vo.timeline('odd')[0]?.messageType).toBe('INFO');
  });
});

describe('PagerDuty REST fake', () => {
  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${pd.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (response) => ({
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as any,
    }));
  const good = () => ({
    authorization: `Token token=${pd.apiToken}`,
    accept: 'application/vnd.pagerduty+json;version=2',
    'content-type': 'application/json',
    from: pd.fromEmail,
  });

  it.skipIf(!SPECS_PRESENT)(
    'accepts the documented sample note, acknowledge and resolve requests and answers as the spec describes',
    async () => {
      const incident = pd.addIncident();
      const note = await call('POST', `/incidents/${incident.id}/notes`, good(), fixtureJson('pagerduty-rest-incident-note-request.json'));
      expect(note.status).toBe(200);
      expect(note.body.note.user.id).toBe('PWARBOT');
      expect(note.headers.get('ratelimit-limit')).toBe('960');
      expect(
        (await call('PUT', `/incidents/${incident.id}`, good(), fixtureJson('pagerduty-rest-incident-acknowledge-request.json'))).body
          .incident.status,
      ).toBe('acknowledged');
      expect(
        (await call('PUT', `/incidents/${incident.id}`, good(), fixtureJson('pagerduty-rest-incident-resolve-request.json'))).body.incident
          .status,
      ).toBe('resolved');
      expect(incident.changes.map((change) => change.status)).toEqual(['acknowledged', 'resolved']);
      const again = await call('PUT', `/incidents/${incident.id}`, good(), fixtureJson('pagerduty-rest-incident-resolve-request.json'));
      expect(again).toMatchObject({ status: 400, body: { error: { message: 'Incident Already Resolved', code: 1001 } } });
      expect(pd.requests.map((request) => request.spec)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(pd.responseProblems).toEqual([]);
    },
  );

  it.skipIf(!SPECS_PRESENT)(
    "refuses a missing From, a bad token, a wrong Accept and a body the spec forbids, with PagerDuty's error object",
    async () => {
      const incident = pd.addIncident();
      const notes = `/incidents/${incident.id}/notes`;
      const noteBody = fixtureJson('pagerduty-rest-incident-note-request.json');
      const { from: _from, ...noFrom } = good();

      const missingFrom = await call('POST', notes, noFrom, noteBody);
      expect(missingFrom.status).toBe(400);
      expect(missingFrom.body.error.message).toMatch(/"From" header/);
      expect((await call('POST', notes, { ...good(), from: 'not-an-address' }, noteBody)).body).toEqual({
        error: { message: 'Malformed "From" header', code: 1028 },
      });
      expect((await call('POST', notes, { ...good(), from: 'nobody@example.com' }, noteBody)).body).toEqual({
        error: { message: 'Requester User Not Found', code: 1008 },
      });
      expect(await call('GET', notes, { ...good(), authorization: 'Token token=wrong' })).toMatchObject({
        status: 401,
        body: { error: { message: 'Authentication failed', code: 2006 } },
      });
      expect((await call('GET', notes, { ...good(), authorization: `Bearer ${pd.apiToken}` })).status).toBe(401);
      expect((await call('GET', notes, { ...good(), accept: 'application/json' })).status).toBe(400);
      const badBody = await call('POST', notes, good(), { note: { text: 'no content field' } });
      expect(badBody.status).toBe(400);
      expect(badBody.body.error).toMatchObject({ message: 'Invalid Input Provided', code: 2001 });
      expect(badBody.body.error.errors[0]).toMatch(/content/);
      expect((await call('GET', `/incidents/${incident.id}/nope`, good())).status).toBe(404);
      expect(incident.notes).toEqual([]);
      expect(pd.responseProblems).toEqual([]);
    },
  );
});

describe('postTimelineNote on VictorOps', () => {
  const activities = (timeoutMs?: number) => createTimelineActivities({ victoropsRestUrl: vo.url, timeoutMs });

  it('posts one INFO under the incident entity_id with the Jira and Slack links, tagged monitoring_tool warroom', async () => {
    const outcome = await activities().postTimelineNote(victorOpsIncident());
    expect(outcome.status).toBe('done');
    expect(vo.requests).toHaveLength(1);
    const [alert] = vo.state.alerts;
    expect(alert).toMatchObject({
      entityId: sampleInfo.entity_id,
      messageType: 'INFO',
      sentMessageType: 'INFO',
      routingKey: vo.routingKey,
    });
    expect(alert!.fields).toMatchObject({
      message_type: 'INFO',
      entity_id: sampleInfo.entity_id,
      monitoring_tool: 'warroom',
      'vo_annotate.u.Jira': jiraUrl,
      'vo_annotate.u.Slack': slackUrl,
      warroom_ref: 'incident-victorops-2231',
    });
    expect(alert!.fields.state_message).toContain(jiraUrl);
    expect(alert!.fields.state_message).toContain(slackUrl);
    expect(alert!.fields.state_message).toContain('OPS-812');
    // The sample's field set, plus our echo marker: nothing VictorOps would read as a state change.
    expect(Object.keys(alert!.fields).filter((key) => !(key in sampleInfo))).toEqual(['warroom_ref']);
  });

  it('leaves an open VictorOps incident open: the post is never ACKNOWLEDGEMENT or RECOVERY', async () => {
    const critical = fixtureJson('victorops-rest-critical.json');
    await fetch(vo.url, { method: 'POST', body: JSON.stringify(critical) });
    await activities().postTimelineNote(victorOpsIncident({ details: { entity_id: critical.entity_id as string } }));
    expect(vo.state.entities.get(critical.entity_id as string)?.phase).toBe('triggered');
    expect(vo.state.alerts.map((alert) => alert.sentMessageType)).toEqual(['CRITICAL', 'INFO']);
  });

  it('skips, saying why, without an entity_id, without links, for the generic API and when not configured', async () => {
    expect((await activities().postTimelineNote(victorOpsIncident({ details: {} }))).status).toBe('skipped');
    expect(await activities().postTimelineNote(victorOpsIncident({ ticket: undefined, channel: undefined }))).toEqual({
      status: 'skipped',
      detail: 'nothing to post yet: no Jira ticket and no Slack channel',
    });
    expect((await activities().postTimelineNote(victorOpsIncident({ source: 'api' }))).detail).toMatch(/api incidents/);
    expect(await createTimelineActivities().postTimelineNote(victorOpsIncident())).toEqual({
      status: 'skipped',
      detail: 'not configured (VictorOps REST endpoint)',
    });
    expect(vo.requests).toEqual([]);
  });

  it('repeats a byte-identical INFO when VictorOps applied the post but answered 500 (it has no read-back to prevent it)', async () => {
    vo.faults.set('alert', { applyThenFail: 1 });
    const { result, failures } = await withRetries(() => activities().postTimelineNote(victorOpsIncident()));
    expect(result.status).toBe('done');
    expect(failures.map((failure) => failure.type)).toEqual([UNAVAILABLE]);
    const entries = vo.timeline(sampleInfo.entity_id!);
    expect(entries).toHaveLength(2);
    expect(entries[1]!.fields).toEqual(entries[0]!.fields);
  });

  it('turns a 429 into rateLimited with the Retry-After delay, and posts on the next attempt', async () => {
    vo.faults.set('alert', { rateLimit: { count: 1, retryAfterSeconds: 7 } });
    const failure = await failureOf(activities().postTimelineNote(victorOpsIncident()));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nonRetryable: false, nextRetryDelay: 7000 });
    expect(vo.state.alerts).toHaveLength(0);
    expect((await activities().postTimelineNote(victorOpsIncident())).status).toBe('done');
    expect(vo.state.alerts).toHaveLength(1);
  });

  it('never puts the REST API key into an error, whatever goes wrong', async () => {
    const failures: ApplicationFailure[] = [];
    const wrongKeyUrl = vo.url.replace(vo.apiKey, `${vo.apiKey}-revoked`);
    failures.push(await failureOf(createTimelineActivities({ victoropsRestUrl: wrongKeyUrl }).postTimelineNote(victorOpsIncident())));
    expect(failures[0]).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    vo.faults.set('*', { errorRate: 1 });
    failures.push(await failureOf(activities().postTimelineNote(victorOpsIncident())));
    vo.faults.set('*', { hang: true });
    failures.push(await failureOf(activities(150).postTimelineNote(victorOpsIncident())));
    const dead = await startVictorOpsFake({ apiKey: vo.apiKey });
    await dead.stop();
    failures.push(await failureOf(createTimelineActivities({ victoropsRestUrl: dead.url }).postTimelineNote(victorOpsIncident())));
    failures.push(await failureOf(activities().postTimelineNote(victorOpsIncident({ details: { entity_id: 'e'.repeat(600) } }))));

    expect(failures.map((failure) => failure.type)).toEqual([NON_RETRYABLE, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, NON_RETRYABLE]);
    for (const failure of failures) {
      const everything = `${failure.message} ${failure.stack ?? ''} ${JSON.stringify(failure.details ?? [])} ${String(failure.cause ?? '')}`;
      expect(everything).not.toContain(vo.apiKey);
      expect(everything).not.toContain(vo.url);
    }
    expect(failures[2]!.message).toMatch(/no answer within 150 ms/);
  });
});

describe('postTimelineNote on PagerDuty', () => {
  const activities = () => createTimelineActivities({ pagerduty: pagerdutySettings() });

  it('adds one note with the Jira and Slack links, as the From user, and none when called again', async () => {
    const incident = pd.addIncident();
    const input = pagerDutyIncident(incident.id);
    const first = await activities().postTimelineNote(input);
    const second = await activities().postTimelineNote(input);
    expect(first).toMatchObject({ status: 'done', ref: incident.notes[0]!.id });
    expect(second).toMatchObject({ status: 'done', ref: incident.notes[0]!.id });
    expect(second.detail).toMatch(/already/);
    expect(incident.notes).toHaveLength(1);
    expect(incident.notes[0]!.content).toContain(jiraUrl);
    expect(incident.notes[0]!.content).toContain(slackUrl);
    expect(incident.notes[0]!.user.id).toBe('PWARBOT');
    expect(pd.requests.map((request) => `${request.method} ${request.operationId} ${request.spec} ${request.status}`)).toEqual([
      `GET listIncidentNotes ${SPEC_VERDICT} 200`,
      `POST createIncidentNote ${SPEC_VERDICT} 200`,
      `GET listIncidentNotes ${SPEC_VERDICT} 200`,
    ]);
    expect(pd.requests.find((request) => request.method === 'POST')?.headers.from).toBe(pd.fromEmail);
    expect(pd.responseProblems).toEqual([]);
  });

  it('adds exactly one note when PagerDuty applies it but answers 500, and the activity is retried', async () => {
    const incident = pd.addIncident();
    pd.faults.set('createIncidentNote', { applyThenFail: 1 });
    const { result, failures } = await withRetries(() => activities().postTimelineNote(pagerDutyIncident(incident.id)));
    expect(failures.map((failure) => failure.type)).toEqual([UNAVAILABLE]);
    expect(result).toMatchObject({ status: 'done', ref: incident.notes[0]!.id });
    expect(incident.notes).toHaveLength(1);
  });

  it('posts a second note only when the links changed (the ticket arrived after Jira came back)', async () => {
    const incident = pd.addIncident();
    await activities().postTimelineNote(pagerDutyIncident(incident.id, { ticket: undefined }));
    await activities().postTimelineNote(pagerDutyIncident(incident.id));
    await activities().postTimelineNote(pagerDutyIncident(incident.id));
    expect(incident.notes.map((note) => note.content.includes('OPS-812'))).toEqual([false, true]);
  });

  it('turns a 429 into rateLimited with the ratelimit-reset delay', async () => {
    const incident = pd.addIncident();
    pd.faults.set('*', { rateLimit: { count: 1, retryAfterSeconds: 12 } });
    const failure = await failureOf(activities().postTimelineNote(pagerDutyIncident(incident.id)));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 12_000 });
  });

  it("fails for good, in PagerDuty's words, on a bad token or an unknown incident", async () => {
    const incident = pd.addIncident();
    const badToken = createTimelineActivities({ pagerduty: { ...pagerdutySettings(), apiToken: 'revoked-token' } });
    const unauthorised = await failureOf(badToken.postTimelineNote(pagerDutyIncident(incident.id)));
    expect(unauthorised).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(unauthorised.message).toMatch(/Authentication failed \(HTTP 401, code 2006\)/);
    expect(unauthorised.message).not.toContain('revoked-token');
    const missing = await failureOf(activities().postTimelineNote(pagerDutyIncident('PNOSUCH')));
    expect(missing).toMatchObject({ type: NON_RETRYABLE });
    expect(missing.message).toMatch(/Not Found \(HTTP 404/);
    const unknownFrom = createTimelineActivities({ pagerduty: { ...pagerdutySettings(), fromEmail: 'left-the-company@example.com' } });
    expect((await failureOf(unknownFrom.postTimelineNote(pagerDutyIncident(incident.id)))).message).toMatch(/Requester User Not Found/);
    expect(incident.notes).toEqual([]);
  });

  it('answers 5xx and timeouts as unavailable', async () => {
    const incident = pd.addIncident();
    pd.faults.set('*', { errorRate: 1 });
    expect((await failureOf(activities().postTimelineNote(pagerDutyIncident(incident.id)))).type).toBe(UNAVAILABLE);
    pd.faults.set('*', { hang: true });
    const slow = createTimelineActivities({ pagerduty: pagerdutySettings(), timeoutMs: 150 });
    expect((await failureOf(slow.postTimelineNote(pagerDutyIncident(incident.id)))).message).toMatch(/no answer within 150 ms/);
  });

  it('says "not configured" without PagerDuty settings', async () => {
    expect(await createTimelineActivities().postTimelineNote(pagerDutyIncident('P123'))).toEqual({
      status: 'skipped',
      detail: 'not configured (PagerDuty REST API)',
    });
  });
});

describe('assigneeEmails', () => {
  const activities = () => createPagerDutyActivities({ pagerduty: pagerdutySettings() });

  it('resolves PagerDuty assignees to e-mails and records the ids PagerDuty does not know', async () => {
    const dana = pd.addUser({ name: 'Dana Oncall', email: 'dana@example.com' });
    const lee = pd.addUser({ name: 'Lee Second', email: 'lee@example.com' });
    const found = await activities().assigneeEmails(pagerDutyIncident('Q1INC0001', { assignees: [dana.id, 'PGONE01', lee.id, dana.id] }));
    expect(found).toEqual({ emails: ['dana@example.com', 'lee@example.com'], unknown: ['PGONE01'] });
    expect(pd.requests).toHaveLength(3);
    expect(pd.requests.every((request) => request.operationId === 'getUser' && request.spec === SPEC_VERDICT)).toBe(true);
    expect(pd.requests.every((request) => request.headers.from === undefined)).toBe(true);
    expect(pd.responseProblems).toEqual([]);
  });

  it('returns an empty list without PAGERDUTY_API_TOKEN, for other sources and without assignees', async () => {
    const unconfigured = await createPagerDutyActivities().assigneeEmails(pagerDutyIncident('Q1', { assignees: ['PUSR001'] }));
    expect(unconfigured).toEqual({ emails: [], unknown: [], skipped: 'not configured (PagerDuty REST API)' });
    expect((await activities().assigneeEmails(victorOpsIncident({ assignees: ['PUSR001'] }))).emails).toEqual([]);
    expect((await activities().assigneeEmails(pagerDutyIncident('Q1'))).emails).toEqual([]);
    expect(pd.requests).toEqual([]);
  });

  it('turns a 429 on a user look-up into rateLimited', async () => {
    const dana = pd.addUser({ name: 'Dana Oncall', email: 'dana@example.com' });
    pd.faults.set('getUser', { rateLimit: { count: 1, retryAfterSeconds: 3 } });
    const failure = await failureOf(activities().assigneeEmails(pagerDutyIncident('Q1', { assignees: [dana.id] })));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 3000 });
  });

  it('keeps the existing syncPagerDuty answer: not configured without settings', async () => {
    expect(await createPagerDutyActivities().syncPagerDuty(pagerDutyIncident('Q1'))).toEqual({
      status: 'skipped',
      detail: 'not configured (PagerDuty)',
    });
  });
});
