import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../src/activities/errors.js';
import { createPagerDutyActivities, failureDedupKey, type PagerDutyDeps } from '../src/activities/pagerduty.js';
import type { ChangeAction, StepInput } from '../src/activities/step.js';
import { createVictorOpsActivities } from '../src/activities/victorops.js';
import { normaliseVictorOps, OWN_MONITORING_TOOL } from '../src/sources/victorops.js';
import { loadSpec, SPEC_VERDICT, SPECS_PRESENT } from './fakes/openapi.js';
import { startPagerDutyFake, type PagerDutyFake } from './fakes/pagerduty.js';
import { startPagerDutyEventsFake, type PagerDutyEventsFake } from './fakes/pagerduty-events.js';
import { startVictorOpsFake, type VictorOpsFake } from './fakes/victorops.js';
import { everything, failureOf, withRetries } from './activity-failures.js';
import { fixtureJson } from './samples.js';

const eventsSpec = loadSpec('pagerduty-events-v2.openapi.json');
const voEntity = fixtureJson<Record<string, string>>('victorops-rest-recovery.json').entity_id!;
const jiraUrl = 'https://example.atlassian.net/browse/OPS-812';
const slackUrl = 'https://example.slack.com/archives/C0INC2231';
const statusPageUrl = 'https://status.example.com/incidents/50211';
const runUrl = 'http://localhost:8233/namespaces/default/workflows/incident-pagerduty-q1inc0001';

/** A PagerDuty incident as the workflow passes it once ticket and channel exist. */
function pagerDutyIncident(externalId: string, overrides: Partial<StepInput> = {}): StepInput {
  return {
    key: `pagerduty-${externalId.toLowerCase()}`,
    workflowId: `incident-pagerduty-${externalId.toLowerCase()}`,
    source: 'pagerduty',
    externalId,
    title: 'checkout-api: 5xx rate above 5% for 10 minutes',
    status: 'triggered',
    links: [],
    responders: [],
    assignees: [],
    refs: {},
    ticket: { key: 'OPS-812', url: jiraUrl },
    channel: { id: 'C0INC2231', name: 'inc-4711-checkout-5xx', url: slackUrl },
    runUrl,
    ...overrides,
  };
}

function victorOpsIncident(overrides: Partial<StepInput> = {}): StepInput {
  return pagerDutyIncident('2231', {
    key: 'victorops-2231',
    workflowId: 'incident-victorops-2231',
    source: 'victorops',
    details: { entity_id: voEntity },
    ...overrides,
  });
}

/** A fetch that answers every call with one canned response. */
function answering(status: number, body: unknown, headers: Record<string, string> = {}): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

let pd: PagerDutyFake;
let events: PagerDutyEventsFake;
let vo: VictorOpsFake;

beforeAll(async () => {
  [pd, events, vo] = await Promise.all([startPagerDutyFake(), startPagerDutyEventsFake(), startVictorOpsFake()]);
});

afterAll(async () => {
  await Promise.all([pd?.stop(), events?.stop(), vo?.stop()]);
});

beforeEach(() => {
  pd.reset();
  events.reset();
  vo.reset();
});

const rest = () => ({ apiToken: pd.apiToken, fromEmail: pd.fromEmail, apiUrl: pd.url });
const eventSettings = () => ({ eventsUrl: events.url, routingKey: events.routingKey, changeRoutingKey: events.changeRoutingKey });
const pagerDuty = (deps: Partial<PagerDutyDeps> = {}) => createPagerDutyActivities({ pagerduty: rest(), events: eventSettings(), ...deps });

describe('PagerDuty Events API fake', () => {
  const post = (path: string, body: unknown, contentType = 'application/json') =>
    fetch(`${events.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (response) => ({
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, any>,
    }));
  const withKey = (name: string, key = events.routingKey): Record<string, any> => ({ ...fixtureJson(name), routing_key: key });

  it('accepts the documented sample trigger, acknowledge, resolve and change event and walks one alert through them', async () => {
    const success = Object.keys(fixtureJson('pagerduty-events-v2-response-202.json')).sort();
    for (const name of ['trigger', 'acknowledge', 'resolve']) {
      const answer = await post('/v2/enqueue', withKey(`pagerduty-events-v2-${name}-request.json`));
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(fixtureJson('pagerduty-events-v2-response-202.json'));
      expect(Object.keys(answer.body).sort()).toEqual(success);
    }
    const change = await post('/v2/change/enqueue', withKey('pagerduty-change-event-request.json', events.changeRoutingKey));
    expect(change).toMatchObject({ status: 202, body: { status: 'success' } });

    const alert = events.alerts.get('vo-incident-2231');
    expect(alert).toMatchObject({ status: 'resolved', triggers: 1, acknowledges: 1, resolves: 1, opened: 1, keyName: 'routingKey' });
    expect(alert!.history.map((entry) => entry.action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(events.changeEvents).toHaveLength(1);
    expect(events.requests.map((request) => request.spec)).toEqual([SPEC_VERDICT, SPEC_VERDICT, SPEC_VERDICT, SPEC_VERDICT]);
    expect(events.responseProblems).toEqual([]);
  });

  it("refuses unknown and malformed routing keys and an acknowledge without dedup_key, in PagerDuty's 400 shape", async () => {
    const refusal = Object.keys(fixtureJson('pagerduty-events-v2-response-400.json')).sort();
    const sample = withKey('pagerduty-events-v2-trigger-request.json');

    const unknown = await post('/v2/enqueue', { ...sample, routing_key: 'f'.repeat(32) });
    expect(unknown).toMatchObject({ status: 400, body: { status: 'invalid event', errors: ['Invalid routing key'] } });
    expect(Object.keys(unknown.body).sort()).toEqual(refusal);
    const short = await post('/v2/enqueue', { ...sample, routing_key: 'abc' });
    expect(short.body.errors).toContain(fixtureJson('pagerduty-events-v2-response-400.json').errors[0]);
    const noDedup = await post('/v2/enqueue', { routing_key: events.routingKey, event_action: 'resolve' });
    expect(noDedup).toMatchObject({ status: 400, body: { errors: ["'dedup_key' is missing or blank"] } });
    const longDedup = await post('/v2/enqueue', { ...sample, dedup_key: 'd'.repeat(256) });
    expect(longDedup.status).toBe(400);
    const longSummary = await post('/v2/enqueue', { ...sample, payload: { ...sample.payload, summary: 's'.repeat(1025) } });
    expect(longSummary.status).toBe(400);
    const notJson = await post('/v2/enqueue', '{"routing_key":');
    expect(notJson).toMatchObject({ status: 400, body: { status: 'Unrecognized object', errors: ['JSON parse error'] } });

    expect(events.alerts.size).toBe(0);
    expect(events.responseProblems).toEqual([]);
  });

  it.skipIf(!SPECS_PRESENT)('refuses what the spec forbids: an unknown severity and a change event without summary', async () => {
    const sample = withKey('pagerduty-events-v2-trigger-request.json');
    const badSeverity = await post('/v2/enqueue', { ...sample, payload: { ...sample.payload, severity: 'fatal' } });
    expect(badSeverity.status).toBe(400);
    expect(badSeverity.body.errors[0]).toMatch(/severity/);
    const noSummary = await post('/v2/change/enqueue', { routing_key: events.changeRoutingKey, payload: { source: 'warroom' } });
    expect(noSummary.status).toBe(400);
    expect(noSummary.body.errors[0]).toMatch(/summary/);
    expect(events.changeEvents).toEqual([]);
  });

  it('answers 202 to an acknowledge or resolve of an alert it never saw, and changes nothing', async () => {
    for (const action of ['acknowledge', 'resolve']) {
      const answer = await post('/v2/enqueue', { routing_key: events.routingKey, event_action: action, dedup_key: 'never-triggered' });
      expect(answer).toMatchObject({ status: 202, body: { status: 'success', dedup_key: 'never-triggered' } });
    }
    expect(events.alerts.size).toBe(0);
  });
});

describe('syncPagerDuty', () => {
  it('acknowledges then resolves a PagerDuty incident changed in Slack, one PUT each, and a retried resolve writes nothing', async () => {
    const incident = pd.addIncident();
    const acked = await pagerDuty().syncPagerDuty(
      pagerDutyIncident(incident.id, { status: 'acknowledged', actor: 'Dana Oncall', origin: 'slack' }),
    );
    expect(acked.status).toBe('done');
    const resolveInput = pagerDutyIncident(incident.id, {
      status: 'resolved',
      actor: 'Dana Oncall',
      origin: 'slack',
      note: 'rolled back 4711',
    });
    const resolved = await pagerDuty().syncPagerDuty(resolveInput);
    expect(resolved.status).toBe('done');
    const retried = await pagerDuty().syncPagerDuty(resolveInput);
    expect(retried).toEqual({ status: 'done', detail: 'already resolved in PagerDuty' });

    expect(incident.changes.map((change) => `${change.status} ${change.by}`)).toEqual([
      `acknowledged ${pd.fromEmail}`,
      `resolved ${pd.fromEmail}`,
    ]);
    expect(incident.resolution).toMatch(/Dana Oncall via Slack/);
    expect(incident.resolution).toMatch(/rolled back 4711/);
    expect(pd.requests.map((request) => `${request.method} ${request.operationId} ${request.spec} ${request.status}`)).toEqual([
      `GET getIncident ${SPEC_VERDICT} 200`,
      `PUT updateIncident ${SPEC_VERDICT} 200`,
      `GET getIncident ${SPEC_VERDICT} 200`,
      `PUT updateIncident ${SPEC_VERDICT} 200`,
      `GET getIncident ${SPEC_VERDICT} 200`,
    ]);
    const puts = pd.requests.filter((request) => request.method === 'PUT');
    expect(puts.map((request) => request.headers.from)).toEqual([pd.fromEmail, pd.fromEmail]);
    expect(puts.map((request) => request.body)).toEqual([
      { incident: { type: 'incident_reference', status: 'acknowledged' } },
      { incident: { type: 'incident_reference', status: 'resolved', resolution: incident.resolution } },
    ]);
    expect(pd.responseProblems).toEqual([]);
  });

  it('resolves exactly once when PagerDuty applies the PUT but answers 500, and the activity is retried', async () => {
    const incident = pd.addIncident({ status: 'acknowledged' });
    pd.faults.set('updateIncident', { applyThenFail: 1 });
    const { result, failures } = await withRetries(() =>
      pagerDuty().syncPagerDuty(pagerDutyIncident(incident.id, { status: 'resolved', actor: 'Dana Oncall', origin: 'victorops' })),
    );
    expect(failures.map((failure) => failure.type)).toEqual([UNAVAILABLE]);
    expect(result).toEqual({ status: 'done', detail: 'already resolved in PagerDuty' });
    expect(incident.changes.map((change) => change.status)).toEqual(['resolved']);
  });

  it('never reopens a resolved incident with a late acknowledge', async () => {
    const incident = pd.addIncident({ status: 'resolved' });
    const outcome = await pagerDuty().syncPagerDuty(
      pagerDutyIncident(incident.id, { status: 'acknowledged', actor: 'Lee', origin: 'slack' }),
    );
    expect(outcome).toEqual({ status: 'done', detail: 'already resolved in PagerDuty' });
    expect(incident.status).toBe('resolved');
    expect(pd.requests.map((request) => request.method)).toEqual(['GET']);
  });

  it('counts "Incident Already Resolved" as done when someone resolves it between the read and the write', async () => {
    const incident = pd.addIncident();
    const raceFetch: typeof fetch = async (url, init) => {
      const response = await fetch(url, init);
      if (init?.method === 'GET') incident.status = 'resolved';
      return response;
    };
    const outcome = await pagerDuty({ fetch: raceFetch }).syncPagerDuty(
      pagerDutyIncident(incident.id, { status: 'resolved', actor: 'Dana', origin: 'api' }),
    );
    expect(outcome).toEqual({ status: 'done', detail: 'already resolved in PagerDuty' });
    expect(pd.requests.map((request) => `${request.method} ${request.status}`)).toEqual(['GET 200', 'PUT 400']);
  });

  it('tells PagerDuty nothing about its own change, other sources, a triggered incident, or with sync off', async () => {
    const incident = pd.addIncident();
    const fromPagerDuty = await pagerDuty().syncPagerDuty(pagerDutyIncident(incident.id, { status: 'resolved', origin: 'pagerduty' }));
    expect(fromPagerDuty).toEqual({ status: 'skipped', detail: 'the resolve came from PagerDuty itself' });
    expect((await pagerDuty().syncPagerDuty(victorOpsIncident({ status: 'resolved', origin: 'slack' }))).detail).toMatch(
      /victorops incidents have no PagerDuty incident/,
    );
    expect((await pagerDuty().syncPagerDuty(pagerDutyIncident(incident.id, { origin: 'slack' }))).detail).toMatch(
      /the incident is triggered/,
    );
    const off = await pagerDuty({ sync: false }).syncPagerDuty(pagerDutyIncident(incident.id, { status: 'resolved', origin: 'slack' }));
    expect(off).toEqual({ status: 'skipped', detail: 'PagerDuty sync is off (PAGERDUTY_SYNC=false)' });
    expect(
      await createPagerDutyActivities({}).syncPagerDuty(pagerDutyIncident(incident.id, { status: 'resolved', origin: 'slack' })),
    ).toEqual({
      status: 'skipped',
      detail: 'not configured (PagerDuty)',
    });
    expect(pd.requests).toEqual([]);
  });

  it("fails for good, in PagerDuty's words, on an incident PagerDuty does not know", async () => {
    const failure = await failureOf(pagerDuty().syncPagerDuty(pagerDutyIncident('PNOSUCH', { status: 'resolved', origin: 'slack' })));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toMatch(/Not Found \(HTTP 404/);
    expect(everything(failure)).not.toContain(pd.apiToken);
  });
});

describe('syncVictorOps', () => {
  const activities = (sync = true, restUrl: string | undefined = vo.url) => createVictorOpsActivities({ restUrl, sync });

  it('sends one RECOVERY under the entity_id, tagged as warroom so its echo is ignored, naming who resolved it and where', async () => {
    const outcome = await activities().syncVictorOps(victorOpsIncident({ status: 'resolved', actor: 'Dana Oncall', origin: 'slack' }));
    expect(outcome.status).toBe('done');
    expect(vo.count(voEntity, 'RECOVERY')).toBe(1);
    expect(vo.state.alerts).toHaveLength(1);
    const fields = vo.timeline(voEntity)[0]!.fields;
    expect(fields).toMatchObject({
      message_type: 'RECOVERY',
      entity_id: voEntity,
      monitoring_tool: OWN_MONITORING_TOOL,
      ack_author: 'Dana Oncall',
      warroom_ref: 'incident-victorops-2231',
    });
    expect(fields.state_message).toMatch(/Resolved by Dana Oncall via Slack/);
    expect(fields.ack_msg).toMatch(/Dana Oncall via Slack/);

    // VictorOps echoes the RECOVERY through its outgoing webhook with the alert's fields: warroom ignores it.
    const echo = {
      ...fixtureJson('victorops-outgoing-resolved.json'),
      'ALERT.monitoring_tool': fields.monitoring_tool,
      'ALERT.entity_id': voEntity,
    };
    const normalised = normaliseVictorOps({
      body: Buffer.from(JSON.stringify(echo)),
      headers: { 'content-type': 'application/json' },
      query: {},
    });
    expect(normalised).toEqual({ ignored: 'echo of a post warroom made itself' });
  });

  it('acknowledges with ACKNOWLEDGEMENT, and leaves the sample incident acknowledged', async () => {
    await fetch(vo.url, { method: 'POST', body: JSON.stringify(fixtureJson('victorops-rest-critical.json')) });
    const outcome = await activities().syncVictorOps(victorOpsIncident({ status: 'acknowledged', actor: 'Lee', origin: 'api' }));
    expect(outcome.status).toBe('done');
    expect(vo.count(voEntity, 'ACKNOWLEDGEMENT')).toBe(1);
    expect(vo.state.entities.get(voEntity)?.phase).toBe('acknowledged');
    expect(vo.timeline(voEntity)[1]!.fields.state_message).toMatch(/Acknowledged by Lee via the warroom API/);
  });

  it('sends nothing with sync off, for its own change, for other sources, without an entity_id or a REST URL', async () => {
    const resolved = { status: 'resolved' as const, origin: 'slack' };
    expect(await activities(false).syncVictorOps(victorOpsIncident(resolved))).toEqual({
      status: 'skipped',
      detail: 'VictorOps sync is off (VICTOROPS_SYNC=false)',
    });
    expect(await activities().syncVictorOps(victorOpsIncident({ ...resolved, origin: 'victorops' }))).toEqual({
      status: 'skipped',
      detail: 'the resolve came from VictorOps itself',
    });
    expect((await activities().syncVictorOps(pagerDutyIncident('Q1', resolved))).detail).toMatch(
      /pagerduty incidents have no VictorOps incident/,
    );
    expect((await activities().syncVictorOps(victorOpsIncident({ ...resolved, details: {} }))).detail).toMatch(/no VictorOps entity_id/);
    expect((await activities().syncVictorOps(victorOpsIncident({ origin: 'slack' }))).detail).toMatch(/the incident is triggered/);
    expect(await createVictorOpsActivities({ sync: true }).syncVictorOps(victorOpsIncident(resolved))).toEqual({
      status: 'skipped',
      detail: 'not configured (VictorOps REST endpoint)',
    });
    expect(vo.requests).toEqual([]);
  });

  it('fails for good on VictorOps\' {"result":"failure"}, and never shows the REST URL or its key', async () => {
    const input = victorOpsIncident({ status: 'resolved', actor: 'Dana', origin: 'slack' });
    const refused = createVictorOpsActivities({
      restUrl: vo.url,
      sync: true,
      fetch: answering(200, fixtureJson('victorops-rest-response-failure.json')),
    });
    const failures = [await failureOf(refused.syncVictorOps(input))];
    expect(failures[0]).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failures[0]!.message).toMatch(/Missing fields: message_type/);
    failures.push(await failureOf(activities(true, vo.url.replace(vo.apiKey, `${vo.apiKey}-revoked`)).syncVictorOps(input)));
    vo.faults.set('alert', { hang: true });
    failures.push(await failureOf(createVictorOpsActivities({ restUrl: vo.url, sync: true, timeoutMs: 150 }).syncVictorOps(input)));
    vo.faults.set('alert', { rateLimit: { count: 1, retryAfterSeconds: 4 } });
    failures.push(await failureOf(activities().syncVictorOps(input)));

    expect(failures.map((failure) => failure.type)).toEqual([NON_RETRYABLE, NON_RETRYABLE, UNAVAILABLE, RATE_LIMITED]);
    expect(failures[3]!.nextRetryDelay).toBe(4000);
    for (const failure of failures) {
      expect(everything(failure)).not.toContain(vo.apiKey);
      expect(everything(failure)).not.toContain(vo.url);
    }
  });
});

describe('sendChangeEvent', () => {
  const expectations: Array<[ChangeAction, RegExp]> = [
    ['ticket', /^warroom opened Jira ticket OPS-812 for checkout-api: .* \(pagerduty-q1inc0001\)$/],
    ['room', /^warroom opened Slack channel #inc-4711-checkout-5xx for checkout-api: .* \(pagerduty-q1inc0001\)$/],
    ['statusPage', /^warroom posted a status page incident for checkout-api: .* \(pagerduty-q1inc0001\)$/],
    ['resolved', /^checkout-api: .* \(pagerduty-q1inc0001\) resolved by Dana Oncall via Slack; warroom closed it out$/],
  ];

  const publicRunUrl = 'https://temporal.example.com/namespaces/default/workflows/incident-pagerduty-q1inc0001';
  const changed = (change: ChangeAction, overrides: Partial<StepInput> = {}) =>
    pagerDutyIncident('Q1INC0001', {
      change,
      status: change === 'resolved' ? 'resolved' : 'triggered',
      actor: 'Dana Oncall',
      origin: 'slack',
      links: [{ label: 'post status page', url: statusPageUrl }],
      ...overrides,
    });

  it.each(expectations)('reports %s as one change event saying what warroom did, with links to it', async (change, summary) => {
    const outcome = await pagerDuty().sendChangeEvent(changed(change));
    expect(outcome.status).toBe('done');
    expect(events.changeEvents).toHaveLength(1);
    const [request] = events.requests;
    expect(request).toMatchObject({ path: '/v2/change/enqueue', status: 202, spec: SPEC_VERDICT });
    const body = request!.body as Record<string, any>;
    expect(body.routing_key).toBe(events.changeRoutingKey);
    expect(Object.keys(body).sort()).toEqual(['links', 'payload', 'routing_key']);
    expect(body.payload.summary).toMatch(summary);
    expect(body.payload.source).toBe('warroom');
    expect(Date.parse(body.payload.timestamp)).not.toBeNaN();
    expect(body.payload.custom_details).toMatchObject({
      incident_key: 'pagerduty-q1inc0001',
      source: 'pagerduty',
      external_id: 'Q1INC0001',
      action: change,
    });
    expect(body.links.map((link: { href: string }) => link.href)).toEqual([jiraUrl, slackUrl, statusPageUrl, runUrl]);
    expect(JSON.stringify(outcome)).not.toContain(events.changeRoutingKey);
    expect(events.responseProblems).toEqual([]);
  });

  it.skipIf(!SPECS_PRESENT)('sends, for each of the four actions, a body the Events API spec accepts as sent', async () => {
    for (const [change] of expectations) await pagerDuty().sendChangeEvent(changed(change, { runUrl: publicRunUrl }));
    expect(events.requests).toHaveLength(4);
    for (const request of events.requests) {
      expect(eventsSpec.check({ method: 'POST', path: request.path, headers: request.headers, body: request.body })).toMatchObject({
        ok: true,
        operationId: 'createChangeEvent',
      });
    }
  });

  it('keeps the summary within 1024 characters for a very long title', async () => {
    await pagerDuty().sendChangeEvent(pagerDutyIncident('Q1', { change: 'ticket', title: '🔥'.repeat(2000) }));
    const summary = events.changeEvents[0]!.payload.summary as string;
    expect(summary.length).toBeLessThanOrEqual(1024);
    expect(summary).not.toMatch(LONE_SURROGATE);
    expect(summary).toContain('(pagerduty-q1)');
  });

  it('says "not configured" without PAGERDUTY_CHANGE_ROUTING_KEY and sends nothing', async () => {
    const outcome = await pagerDuty({ events: { eventsUrl: events.url, routingKey: events.routingKey } }).sendChangeEvent(
      pagerDutyIncident('Q1', { change: 'ticket' }),
    );
    expect(outcome).toEqual({ status: 'skipped', detail: 'not configured (PagerDuty change events)' });
    expect(events.requests).toEqual([]);
  });
});

describe('raiseFailureAlert and resolveFailureAlert', () => {
  const failure = { step: 'jiraTicket', what: 'open Jira ticket', error: 'Jira: field labels: bad label (HTTP 400)' };
  const failed = (overrides: Partial<StepInput> = {}) => pagerDutyIncident('Q1INC0001', { failure, ...overrides });
  const dedupKey = 'warroom-pagerduty-q1inc0001-jiraTicket';

  it('triggers one alert per incident and step and resolves it with the same dedup_key', async () => {
    const raised = await pagerDuty().raiseFailureAlert(failed());
    expect(raised).toMatchObject({ status: 'done', ref: dedupKey });
    expect(raised.detail).toContain(dedupKey);
    const alert = events.alerts.get(dedupKey);
    expect(alert).toMatchObject({ status: 'triggered', keyName: 'routingKey', opened: 1 });
    expect(alert!.lastPayload).toMatchObject({
      summary: `warroom could not open Jira ticket for checkout-api: 5xx rate above 5% for 10 minutes (pagerduty-q1inc0001): ${failure.error}`,
      severity: 'error',
      source: 'warroom',
      component: 'jiraTicket',
      custom_details: { incident_key: 'pagerduty-q1inc0001', step: 'jiraTicket', error: failure.error },
    });
    expect(alert!.lastTrigger).toMatchObject({ client: 'warroom', client_url: runUrl, dedup_key: dedupKey });
    expect((alert!.lastTrigger.links as Array<{ href: string }>).map((link) => link.href)).toContain(runUrl);

    const resolved = await pagerDuty().resolveFailureAlert(failed());
    expect(resolved).toMatchObject({ status: 'done', ref: dedupKey });
    expect(events.alerts.size).toBe(1);
    expect(events.alerts.get(dedupKey)).toMatchObject({ status: 'resolved', triggers: 1, resolves: 1, opened: 1 });
    expect(events.alerts.get(dedupKey)!.history.map((entry) => entry.action)).toEqual(['trigger', 'resolve']);
    expect(events.requests.every((request) => request.spec === SPEC_VERDICT && request.status === 202)).toBe(true);
    expect(events.responseProblems).toEqual([]);
  });

  it('keeps one alert when the raise is retried, including after PagerDuty applied it and answered 500', async () => {
    events.faults.set('createV2Event', { applyThenFail: 1 });
    const { failures } = await withRetries(() => pagerDuty().raiseFailureAlert(failed()));
    expect(failures.map((item) => item.type)).toEqual([UNAVAILABLE]);
    await pagerDuty().raiseFailureAlert(failed());
    expect(events.alerts.size).toBe(1);
    expect(events.alerts.get(dedupKey)).toMatchObject({ status: 'triggered', triggers: 3, opened: 1 });
  });

  it('keeps the dedup_key within 255 and the summary within 1024 characters, cut without breaking a character', async () => {
    const key = `pagerduty-${'k'.repeat(300)}`;
    const outcome = await pagerDuty().raiseFailureAlert(failed({ key, failure: { ...failure, error: `${'💥'.repeat(700)} end` } }));
    expect(outcome.status).toBe('done');
    const [alert] = [...events.alerts.values()];
    expect(alert!.dedupKey.length).toBeLessThanOrEqual(255);
    expect(alert!.dedupKey).toBe(failureDedupKey(key, 'jiraTicket'));
    expect(failureDedupKey(key, 'jiraTicket')).not.toBe(failureDedupKey(key, 'slackChannel'));
    const summary = alert!.lastPayload.summary as string;
    expect(summary.length).toBeLessThanOrEqual(1024);
    expect(summary).not.toMatch(LONE_SURROGATE);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('turns a 429 into rateLimited with the Retry-After delay, or the documented 30 s without one', async () => {
    events.faults.set('createV2Event', { rateLimit: { count: 1, retryAfterSeconds: 7 } });
    expect(await failureOf(pagerDuty().raiseFailureAlert(failed()))).toMatchObject({
      type: RATE_LIMITED,
      nonRetryable: false,
      nextRetryDelay: 7000,
    });
    events.retryAfterHeader = false;
    events.faults.set('createV2Event', { rateLimit: { count: 1, retryAfterSeconds: 7 } });
    expect(await failureOf(pagerDuty().resolveFailureAlert(failed()))).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 30_000 });
    expect(events.alerts.size).toBe(0);
  });

  it("fails for good on a 400 with PagerDuty's errors, and is unavailable on a 5xx or no answer", async () => {
    const unknownKey = 'a'.repeat(32);
    const refused = await failureOf(pagerDuty({ events: { eventsUrl: events.url, routingKey: unknownKey } }).raiseFailureAlert(failed()));
    expect(refused).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(refused.message).toMatch(/Event object is invalid: Invalid routing key \(HTTP 400\)/);
    events.faults.set('*', { errors: 1 });
    expect((await failureOf(pagerDuty().raiseFailureAlert(failed()))).type).toBe(UNAVAILABLE);
    events.faults.set('*', { hang: true });
    const slow = await failureOf(pagerDuty({ timeoutMs: 150 }).raiseFailureAlert(failed()));
    expect(slow).toMatchObject({ type: UNAVAILABLE });
    expect(slow.message).toMatch(/no answer within 150 ms/);
  });

  it('never shows a routing key, even when PagerDuty echoes it back', async () => {
    const echoed = answering(400, {
      status: 'invalid event',
      message: 'Event object is invalid',
      errors: [`unknown routing_key ${events.routingKey}`],
    });
    const failures = [
      await failureOf(pagerDuty({ fetch: echoed }).raiseFailureAlert(failed())),
      await failureOf(
        pagerDuty({ fetch: answering(503, { status: 'error', message: `change key ${events.changeRoutingKey} down` }) }).sendChangeEvent(
          failed({ change: 'room' }),
        ),
      ),
      await failureOf(pagerDuty({ events: { eventsUrl: events.url, routingKey: 'b'.repeat(32) } }).resolveFailureAlert(failed())),
    ];
    expect(failures.map((item) => item.type)).toEqual([NON_RETRYABLE, UNAVAILABLE, NON_RETRYABLE]);
    for (const item of failures) {
      for (const key of [events.routingKey, events.changeRoutingKey, 'b'.repeat(32)]) expect(everything(item)).not.toContain(key);
    }
    expect(failures[0]!.message).toContain('<redacted>');
    const done = await pagerDuty().raiseFailureAlert(failed());
    expect(JSON.stringify(done)).not.toContain(events.routingKey);
  });

  it('says "not configured" without PAGERDUTY_ROUTING_KEY and sends nothing', async () => {
    const unconfigured = pagerDuty({ events: { eventsUrl: events.url, changeRoutingKey: events.changeRoutingKey } });
    expect(await unconfigured.raiseFailureAlert(failed())).toEqual({
      status: 'skipped',
      detail: 'not configured (PagerDuty failure alerts)',
    });
    expect(await unconfigured.resolveFailureAlert(failed())).toEqual({
      status: 'skipped',
      detail: 'not configured (PagerDuty failure alerts)',
    });
    expect(events.requests).toEqual([]);
  });
});
