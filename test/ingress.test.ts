import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { freePort } from '../src/temporal/dev-server.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { resolveSignal } from '../src/shared/messages.js';
import { bundleWorkflows } from '../src/worker.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixture, fixtureJson } from './samples.js';
import { signPagerDuty, signVictorOps } from './signing.js';

const PD_SECRET = 'pd-secret-for-ingress-tests';
const VO_KEY = 'vo-key-for-ingress-tests';
const VO_URL = 'https://warroom.example.net/webhooks/victorops';
const VO_TOKEN = 'vo-token-for-ingress-tests';
const API_TOKEN = 'api-token-for-ingress-tests';
const AM_TOKEN = 'am-token-for-ingress-tests';

let bundle: WorkflowBundleOption;
let h: Harness;

beforeAll(async () => {
  bundle = await bundleWorkflows();
  h = await startHarness({
    workflowBundle: bundle,
    env: {
      PAGERDUTY_WEBHOOK_SECRET: `old-secret,${PD_SECRET}`,
      VICTOROPS_WEBHOOK_KEY: VO_KEY,
      VICTOROPS_WEBHOOK_URL: VO_URL,
      VICTOROPS_WEBHOOK_TOKEN: VO_TOKEN,
      WARROOM_API_TOKEN: API_TOKEN,
      ALERTMANAGER_WEBHOOK_TOKEN: AM_TOKEN,
    },
  });
});

afterAll(async () => {
  await h?.stop();
});

/** A PagerDuty v3 body from the samples, for a fresh incident id, signed with the test secret. */
function pagerDuty(file: string, incidentId: string, eventId = uniqueId('EV')) {
  const body = fixtureJson(file);
  body.event.id = eventId;
  if (body.event.data.type === 'incident') body.event.data.id = incidentId;
  else body.event.data.incident.id = incidentId;
  const raw = JSON.stringify(body);
  return { raw, headers: { 'content-type': 'application/json', ...signPagerDuty(raw, PD_SECRET) } };
}

function postPagerDuty(file: string, incidentId: string, eventId?: string) {
  const { raw, headers } = pagerDuty(file, incidentId, eventId);
  return h.post('/webhooks/pagerduty', raw, headers);
}

/** The escalation sample for a fresh incident number, signed as VictorOps would. */
function escalation(number: string) {
  const raw = fixture('victorops-escalation.form-urlencoded.txt').toString().replace('incident=2231', `incident=${number}`);
  return { raw, headers: { 'content-type': 'application/x-www-form-urlencoded', ...signVictorOps(raw, VO_KEY, VO_URL) } };
}

function outgoing(file: string, number: string) {
  const body = fixtureJson(file);
  body['INCIDENT.INCIDENT_ID'] = number;
  body['STATE.INCIDENT_NAME'] = number;
  return JSON.stringify(body);
}

const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };

describe('PagerDuty', () => {
  it('takes an incident from trigger through acknowledge to resolve on one run', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const triggered = await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    expect(triggered).toEqual({ status: 202, body: { key, workflowId: workflowIdFor(key), outcome: 'started' } });

    const acked = await postPagerDuty('pagerduty-v3-incident-acknowledged.json', id);
    expect(acked).toMatchObject({ status: 202, body: { outcome: 'signaled' } });
    const acknowledged = await eventually(`${key} acknowledged`, async () => {
      const state = await h.state(key);
      return state.status === 'acknowledged' && state;
    });
    expect(acknowledged.acknowledgedBy).toBe('Dana Oncall');

    expect(await postPagerDuty('pagerduty-v3-incident-resolved.json', id)).toMatchObject({ status: 202 });
    const result = await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(result).toMatchObject({ key, status: 'resolved', title: 'checkout-api: 5xx rate above 5% for 10 minutes' });
    expect(result.timeline.map((entry: { what: string }) => entry.what)).toEqual(
      expect.arrayContaining(['trigger from pagerduty', 'acknowledge from pagerduty', 'resolve from pagerduty', 'open Jira ticket']),
    );
    expect(await h.listedRuns(key)).toBe(1);
  });

  it('records every war-room step as skipped: not configured, never as done', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    const state = await eventually(`${key}'s war room settled`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost?.status === 'skipped' && current;
    });
    for (const step of ['jiraTicket', 'slackChannel', 'statusPage'] as const) {
      expect(state.steps[step]).toEqual({ status: 'skipped', detail: expect.stringMatching(/^not configured/) });
    }
    expect(state.steps.timelinePost).toMatchObject({ status: 'skipped' });
    expect(state.timeline.filter((entry) => entry.outcome === 'ok' && entry.actor === 'warroom')).toEqual([]);
  });

  it('makes one run from five concurrent identical webhooks', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const { raw, headers } = pagerDuty('pagerduty-v3-incident-triggered.json', id, uniqueId('EV'));
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.post('/webhooks/pagerduty', raw, headers)));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.filter((answer) => answer.body.outcome === 'started')).toHaveLength(1);
    const state = await eventually(`${key}'s war room under way`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost && current;
    });
    expect(state.timeline.filter((entry) => entry.what === 'trigger from pagerduty')).toHaveLength(1);
    expect(state.repeatCount).toBe(0);
    expect(await eventually(`one run of ${key} listed`, async () => (await h.runCount(key)) === 1)).toBe(true);
  });

  it('counts a new alert for an open incident as a repeat, not a new incident', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    expect(await postPagerDuty('pagerduty-v3-incident-triggered.json', id)).toMatchObject({ body: { outcome: 'signaled' } });
    const state = await eventually(`${key}'s repeat counted`, async () => {
      const current = await h.state(key);
      return current.repeatCount === 1 && current;
    });
    expect(state.timeline.filter((entry) => entry.what === 'trigger from pagerduty')).toHaveLength(2);
  });

  it('records a note on the open incident and ignores notes for incidents it does not know', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    expect(await postPagerDuty('pagerduty-v3-incident-annotated.json', id)).toMatchObject({ status: 202 });
    await eventually(`the note on ${key}'s timeline`, async () =>
      (await h.state(key)).timeline.some((entry) => entry.detail?.startsWith('Rolled back')),
    );
    const stranger = uniqueId('PD');
    expect(await postPagerDuty('pagerduty-v3-incident-annotated.json', stranger)).toMatchObject({
      status: 200,
      body: { ignored: expect.stringContaining('no open incident') },
    });
    expect(await h.exists(incidentKey('pagerduty', stranger))).toBe(false);
  });

  it('answers pings with 200 ignored and starts nothing', async () => {
    const raw = fixture('pagerduty-v3-pagey-ping.json');
    const answer = await h.post('/webhooks/pagerduty', raw, { 'content-type': 'application/json', ...signPagerDuty(raw, PD_SECRET) });
    expect(answer).toEqual({ status: 200, body: { ignored: 'event type pagey.ping is not acted on' } });
  });

  it('starts a new run for a trigger that arrives after the incident was resolved', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    await postPagerDuty('pagerduty-v3-incident-resolved.json', id);
    await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(await postPagerDuty('pagerduty-v3-incident-triggered.json', id)).toMatchObject({ body: { outcome: 'started' } });
    expect(await eventually(`two runs of ${key} listed`, async () => (await h.runCount(key)) === 2)).toBe(true);
  });

  it('refuses a resolve for an incident that is not open without starting a run', async () => {
    const id = uniqueId('PD');
    const answer = await postPagerDuty('pagerduty-v3-incident-resolved.json', id);
    expect(answer).toMatchObject({ status: 200, body: { ignored: expect.stringContaining('no open incident') } });
    expect(await h.exists(incidentKey('pagerduty', id))).toBe(false);
  });
});

describe('VictorOps', () => {
  it('opens from a signed escalation webhook, acknowledges and resolves from outgoing webhooks', async () => {
    const number = String(Math.floor(Math.random() * 1e9));
    const key = incidentKey('victorops', number);
    const { raw, headers } = escalation(number);
    expect(await h.post('/webhooks/victorops', raw, headers)).toMatchObject({ status: 202, body: { key, outcome: 'started' } });

    const token = { 'content-type': 'application/json', 'x-warroom-token': VO_TOKEN };
    expect(await h.post('/webhooks/victorops', outgoing('victorops-outgoing-acknowledged.json', number), token)).toMatchObject({
      status: 202,
    });
    await eventually(`${key} acknowledged`, async () => (await h.state(key)).status === 'acknowledged');
    expect(
      await h.post(`/webhooks/victorops?token=${VO_TOKEN}`, outgoing('victorops-outgoing-resolved.json', number), {
        'content-type': 'application/json',
      }),
    ).toMatchObject({ status: 202 });
    const result = await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(result).toMatchObject({
      status: 'resolved',
      resolvedBy: 'dana.oncall',
      acknowledgedBy: 'dana.oncall',
      title: 'orders-db replication lag > 300s',
    });
  });

  it('refuses an escalation webhook with a bad signature and an outgoing webhook without the token', async () => {
    const number = String(Math.floor(Math.random() * 1e9));
    const { raw } = escalation(number);
    const forged = await h.post('/webhooks/victorops', raw, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-victorops-signature': 'AAAA',
    });
    expect(forged).toMatchObject({ status: 401 });
    const unsigned = await h.post('/webhooks/victorops', outgoing('victorops-outgoing-triggered.json', number));
    expect(unsigned).toMatchObject({ status: 401 });
    expect(await h.exists(incidentKey('victorops', number))).toBe(false);
  });
});

describe('Alertmanager', () => {
  const bearer = { 'content-type': 'application/json', authorization: `Bearer ${AM_TOKEN}` };
  /** A sample notification for a fresh alert group, as Alertmanager would post it. */
  const notification = (file: string, group: string) => {
    const body = fixtureJson(file);
    body.groupKey = `{}:{alertname="${group}"}`;
    return { raw: JSON.stringify(body), key: incidentKey('alertmanager', body.groupKey) };
  };

  it('opens one incident per group, drops a re-send, counts a change as a repeat and resolves on resolved', async () => {
    const group = uniqueId('AM');
    const firing = notification('alertmanager-v4-firing.json', group);
    const { key } = firing;
    expect(await h.post('/webhooks/alertmanager', firing.raw, bearer)).toEqual({
      status: 202,
      body: { key, workflowId: workflowIdFor(key), outcome: 'started' },
    });
    const opened = await eventually(`${key} opened`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost && current;
    });
    expect(opened).toMatchObject({
      source: 'alertmanager',
      title: 'Checkout 5xx above 5% for 10 minutes',
      severity: 'critical',
      service: 'checkout-api',
      repeatCount: 0,
    });

    // group_interval / repeat_interval: the same group state again is the same delivery.
    expect(await h.post('/webhooks/alertmanager', firing.raw, bearer)).toMatchObject({ status: 202 });
    const partly = notification('alertmanager-v4-partly-resolved.json', group);
    expect(await h.post('/webhooks/alertmanager', partly.raw, bearer)).toMatchObject({ status: 202, body: { key, outcome: 'signaled' } });
    // Signals apply in order: once the partly resolved state shows, the re-send before it was applied too.
    const repeated = await eventually(`${key} shows the partly resolved group`, async () => {
      const current = await h.state(key);
      return current.details?.alerts_resolved === '1' && current;
    });
    expect(repeated.repeatCount).toBe(1);
    expect(repeated.timeline.filter((entry) => entry.what === 'trigger from alertmanager')).toHaveLength(2);

    const resolved = notification('alertmanager-v4-resolved.json', group);
    expect(await h.post('/webhooks/alertmanager', resolved.raw, bearer)).toMatchObject({ status: 202, body: { key } });
    const result = await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(result).toMatchObject({
      key,
      status: 'resolved',
      resolvedBy: 'Alertmanager',
      resolvedAt: '2026-03-14T09:41:11.402Z',
      repeatCount: 1,
    });
    expect(await h.listedRuns(key)).toBe(1);
  });

  it('refuses a missing or wrong token with 401 and a Bearer challenge, and a wrong version with 400, starting nothing', async () => {
    const { raw, key } = notification('alertmanager-v4-firing.json', uniqueId('AM'));
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json', authorization: 'Bearer not-the-token' },
    ]) {
      const answer = await fetch(`${h.baseUrl}/webhooks/alertmanager`, { method: 'POST', body: raw, headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(await answer.json()).toEqual({ error: expect.any(String) });
    }
    const version3 = JSON.stringify({ ...JSON.parse(raw), version: '3' });
    expect(await h.post('/webhooks/alertmanager', version3, bearer)).toMatchObject({ status: 400, body: { field: 'version' } });
    const noFingerprint = JSON.parse(raw);
    delete noFingerprint.alerts[0].fingerprint;
    expect(await h.post('/webhooks/alertmanager', JSON.stringify(noFingerprint), bearer)).toMatchObject({
      status: 400,
      body: { field: 'alerts.0.fingerprint' },
    });
    expect(await h.post('/webhooks/alertmanager', raw, { ...bearer, 'content-type': 'text/plain' })).toMatchObject({ status: 415 });
    expect(await h.exists(key)).toBe(false);
  });

  it('ignores a resolved group it never opened', async () => {
    const { raw, key } = notification('alertmanager-v4-resolved.json', uniqueId('AM'));
    expect(await h.post('/webhooks/alertmanager', raw, bearer)).toMatchObject({
      status: 200,
      body: { ignored: expect.stringContaining('no open incident') },
    });
    expect(await h.exists(key)).toBe(false);
  });
});

describe('generic API', () => {
  it('opens, acknowledges and resolves an incident, and GET shows its timeline', async () => {
    const id = uniqueId('api-');
    const key = incidentKey('api', id);
    const opened = await h.post(
      '/incidents',
      JSON.stringify({ id, title: 'Search latency', severity: 'warning', responders: ['sre@example.com'] }),
      api,
    );
    expect(opened).toEqual({ status: 202, body: { key, workflowId: workflowIdFor(key), outcome: 'started' } });

    const listed = await eventually(`${key} listed by GET /incidents`, async () => {
      const answer = await h.get('/incidents', api);
      return answer.body.incidents.find((incident: { key: string }) => incident.key === key);
    });
    expect(listed).toMatchObject({ key, title: 'Search latency', source: 'api', severity: 'warning' });

    expect(await h.post(`/incidents/${key}/acknowledge`, JSON.stringify({ by: 'ana@example.com' }), api)).toMatchObject({
      status: 200,
      body: { outcome: 'acknowledged', incident: { status: 'acknowledged', acknowledgedBy: 'ana@example.com' } },
    });
    expect((await h.state(key)).acknowledgedBy).toBe('ana@example.com');
    expect(await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'ana@example.com', note: 'rolled back' }), api)).toMatchObject({
      status: 200,
    });
    await h.client.workflow.getHandle(workflowIdFor(key)).result();

    const shown = await h.get(`/incidents/${key}`, api);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ key, status: 'resolved', resolvedBy: 'ana@example.com', responders: ['sre@example.com'] });
    expect(shown.body.timeline).toEqual(
      expect.arrayContaining([expect.objectContaining({ what: 'resolve from api', actor: 'ana@example.com', detail: 'rolled back' })]),
    );
  });

  it('accepts acknowledge and resolve with an empty body', async () => {
    const id = uniqueId('api-');
    const key = incidentKey('api', id);
    await h.post('/incidents', JSON.stringify({ id, title: 'Queue backlog' }), api);
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    expect(await h.post(`/incidents/${key}/acknowledge`, '', auth)).toMatchObject({ status: 200 });
    expect(await h.post(`/incidents/${key}/resolve`, '', auth)).toMatchObject({ status: 200 });
    expect(await h.client.workflow.getHandle(workflowIdFor(key)).result()).toMatchObject({ status: 'resolved', resolvedBy: 'API' });
  });

  it('resolves on a Temporal signal from another service', async () => {
    const id = uniqueId('api-');
    const key = incidentKey('api', id);
    await h.post('/incidents', JSON.stringify({ id, title: 'Disk full' }), api);
    await h.client.workflow.getHandle(workflowIdFor(key)).signal(resolveSignal, { by: 'deploy-bot', note: 'auto-remediated' });
    expect(await h.client.workflow.getHandle(workflowIdFor(key)).result()).toMatchObject({ status: 'resolved', resolvedBy: 'deploy-bot' });
  });

  it('treats a retried POST with the same Idempotency-Key as one delivery', async () => {
    const id = uniqueId('api-');
    const key = incidentKey('api', id);
    const headers = { ...api, 'idempotency-key': uniqueId('idem-') };
    await h.post('/incidents', JSON.stringify({ id, title: 'first' }), headers);
    await h.post('/incidents', JSON.stringify({ id, title: 'first again' }), headers);
    const state = await eventually(`${key}'s war room under way`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost && current;
    });
    expect(state.repeatCount).toBe(0);
  });
});

describe('bad input', () => {
  const ghost = uniqueId('bad-');
  const body = JSON.stringify({ id: ghost, title: 'x' });
  const pdSample = fixture('pagerduty-v3-incident-triggered.json');

  it.each([
    ['malformed JSON', '/incidents', `{"id": "${ghost}", "title": `, api, 400, 'body'],
    ['a missing field', '/incidents', JSON.stringify({ id: ghost }), api, 400, 'title'],
    ['a wrong type', '/incidents', JSON.stringify({ id: ghost, title: 7 }), api, 400, 'title'],
    ['a missing token', '/incidents', body, { 'content-type': 'application/json' }, 401, undefined],
    ['a wrong token', '/incidents', body, { 'content-type': 'application/json', authorization: 'Bearer nope' }, 401, undefined],
    ['a wrong content type', '/incidents', body, { ...api, 'content-type': 'text/xml' }, 415, undefined],
    ['no content type', '/incidents', body, { authorization: api.authorization }, 415, undefined],
    ['a PagerDuty body without signature', '/webhooks/pagerduty', pdSample, { 'content-type': 'application/json' }, 401, undefined],
    [
      'a PagerDuty body with a wrong signature',
      '/webhooks/pagerduty',
      pdSample,
      { 'content-type': 'application/json', 'x-pagerduty-signature': 'v1=00' },
      401,
      undefined,
    ],
    ['a PagerDuty body as form', '/webhooks/pagerduty', pdSample, { 'content-type': 'application/x-www-form-urlencoded' }, 415, undefined],
  ])('answers %s on %s with the right status and starts nothing', async (_name, path, payload, headers, status, field) => {
    const answer = await h.post(path, payload, headers as Record<string, string>);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toEqual(expect.any(String));
    if (field) expect(answer.body.field).toBe(field);
    expect(await h.exists(incidentKey('api', ghost))).toBe(false);
    expect(await h.exists(incidentKey('pagerduty', 'Q1INC0001'))).toBe(false);
  });

  it('answers a PagerDuty body that fails validation with 400 naming the field, signed or not', async () => {
    const id = uniqueId('PD');
    const parsed = JSON.parse(pagerDuty('pagerduty-v3-incident-triggered.json', id).raw);
    parsed.event.data.title = 42;
    const raw = JSON.stringify(parsed);
    const answer = await h.post('/webhooks/pagerduty', raw, { 'content-type': 'application/json', ...signPagerDuty(raw, PD_SECRET) });
    expect(answer).toMatchObject({ status: 400, body: { field: 'event.data.title' } });
    expect(await h.exists(incidentKey('pagerduty', id))).toBe(false);
  });

  it('answers a body over 1 MiB with 413', async () => {
    const huge = JSON.stringify({ id: uniqueId('big-'), title: 'x'.repeat(1024 * 1024 + 10) });
    const answer = await h.post('/incidents', huge, api);
    expect(answer.status).toBe(413);
    expect(await h.get('/healthz')).toMatchObject({ status: 200 });
  });

  it('answers unknown incident keys with 404', async () => {
    const key = incidentKey('api', uniqueId('ghost-'));
    expect(await h.get(`/incidents/${key}`, api)).toMatchObject({ status: 404 });
    expect(await h.post(`/incidents/${key}/resolve`, '{}', api)).toMatchObject({ status: 404 });
    expect(await h.post(`/incidents/${key}/acknowledge`, '{}', api)).toMatchObject({ status: 404 });
    expect(await h.get('/incidents/NOT A KEY', api)).toMatchObject({ status: 404 });
    expect(await h.exists(key)).toBe(false);
  });

  it('answers a resolve with a malformed body with 400 and leaves the incident open', async () => {
    const id = uniqueId('api-');
    const key = incidentKey('api', id);
    await h.post('/incidents', JSON.stringify({ id, title: 'stays open' }), api);
    expect(await h.post(`/incidents/${key}/resolve`, '{"by": 5}', api)).toMatchObject({ status: 400, body: { field: 'by' } });
    expect(await h.post(`/incidents/${key}/resolve`, '{', api)).toMatchObject({ status: 400 });
    const state = await eventually(`${key}'s war room under way`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost && current;
    });
    expect(state.status).toBe('triggered');
  });
});

describe('operations', () => {
  it('serves health, readiness and metrics counted by source and outcome', async () => {
    expect(await h.get('/healthz')).toEqual({ status: 200, body: { ok: true } });
    expect(await h.get('/readyz')).toMatchObject({ status: 200, body: { temporal: 'reachable' } });
    await h.post('/incidents', JSON.stringify({ id: uniqueId('m-'), title: 'metrics' }), api);
    const metrics = await h.get('/metrics');
    expect(metrics.body).toMatch(/warroom_webhooks_total\{source="api",outcome="started"\} [1-9]/);
    expect(metrics.body).toMatch(/warroom_webhooks_total\{source="pagerduty",outcome="unauthorized"\} [1-9]/);
    expect(metrics.body).toMatch(/warroom_webhook_duration_seconds_bucket/);
  });

  it('answers 503 while Temporal is unreachable, keeps serving, and starts nothing', async () => {
    const deadPort = await freePort();
    const down = await startHarness({
      worker: false,
      apiTemporalAddress: `127.0.0.1:${deadPort}`,
      env: { PAGERDUTY_WEBHOOK_SECRET: PD_SECRET },
    });
    try {
      const id = uniqueId('PD');
      const { raw, headers } = pagerDuty('pagerduty-v3-incident-triggered.json', id);
      const answer = await down.post('/webhooks/pagerduty', raw, headers);
      expect(answer).toEqual({ status: 503, body: { error: 'Temporal is unavailable; retry later' } });
      expect(await down.post('/incidents', JSON.stringify({ id: 'x', title: 'y' }))).toMatchObject({ status: 503 });
      expect(await down.get('/readyz')).toMatchObject({ status: 503, body: { temporal: 'unreachable' } });
      expect(await down.get('/healthz')).toMatchObject({ status: 200 });
      expect(await h.exists(incidentKey('pagerduty', id))).toBe(false);
      // Calls abandoned at the deadline keep retrying for a moment; they settle before the connection closes.
      const count = (text: string) => down.logs.filter((line) => line.includes(text)).length;
      await eventually(
        'every abandoned call settled',
        async () => count('"name":"AcceptTimeoutError"') === count('temporal answered after the deadline'),
      );
    } finally {
      await down.stop();
    }
  });

  it('keeps secrets out of workflow histories and logs', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    await postPagerDuty('pagerduty-v3-incident-triggered.json', id);
    await h.post(`/incidents/${key}/resolve`, JSON.stringify({ by: 'tester' }), api);
    await h.client.workflow.getHandle(workflowIdFor(key)).result();
    const history = JSON.stringify(await h.client.workflow.getHandle(workflowIdFor(key)).fetchHistory());
    const logs = h.logs.join('');
    for (const secret of [PD_SECRET, VO_KEY, VO_TOKEN, API_TOKEN, AM_TOKEN]) {
      expect(history).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(logs).toContain(key);
  });
});
