import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { grafanaSource, normaliseGrafana } from '../src/sources/grafana.js';
import { sourceLabel, SOURCE_REGISTRY } from '../src/sources/index.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixtureJson } from './samples.js';

const TOKEN = 'grafana-token-for-tests';
const bearer = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
const NOW = new Date('2026-03-14T10:00:00.000Z');

/** The vendor sample (Grafana's documented body), as Grafana posts it for a firing group. */
const firing = () => fixtureJson('grafana-webhook-firing.json');

/** The same group once every alert ended: what Grafana sends next when `send resolved` is on (its default). */
function resolvedOf(body: Record<string, any>) {
  return {
    ...body,
    status: 'resolved',
    state: 'ok',
    title: body.title.replace(/^\[FIRING:\d+\]/, '[RESOLVED]'),
    alerts: body.alerts.map((alert: Record<string, unknown>) => ({ ...alert, status: 'resolved', endsAt: '2026-03-14T09:58:03+02:00' })),
  };
}

const eventOf = (value: unknown) => {
  const normalised = normaliseGrafana(value, NOW);
  if (!('event' in normalised)) throw new Error(`not an event: ${JSON.stringify(normalised)}`);
  return normalised.event;
};

describe('Grafana webhook contact point (payload version 1)', () => {
  it("normalises a firing group into a trigger of the group's incident: title, severity, service, links, details", () => {
    const body = firing();
    const event = eventOf(body);
    expect(event).toMatchObject({
      source: 'grafana',
      externalId: `1/${body.groupKey}`,
      key: incidentKey('grafana', `1/${body.groupKey}`),
      kind: 'trigger',
      title: 'orders-db memory above 90%',
      severity: 'warning',
      service: 'orders-db',
      actor: 'Grafana',
      occurredAt: '2026-03-14T07:51:03.157Z',
      links: [
        { label: 'Grafana', url: 'https://grafana.example.com/' },
        { label: 'Alert rule', url: 'https://grafana.example.com/alerting/grafana/1afz29v7z/view?orgId=1' },
        { label: 'Dashboard', url: 'https://grafana.example.com/d/orders-db?orgId=1' },
        { label: 'Panel', url: 'https://grafana.example.com/d/orders-db?orgId=1&viewPanel=4' },
      ],
      details: {
        receiver: 'warroom',
        org_id: '1',
        alertname: 'High memory usage',
        folder: 'Platform',
        runbook_url: 'https://runbooks.example.com/orders-db-memory',
        alerts_firing: '1',
        alerts_resolved: '0',
      },
    });
    // A valid key and channel-safe id however braces and quotes fill the group key.
    expect(event.key).toMatch(/^grafana-[a-z0-9_-]{1,64}$/);
  });

  it('keeps one incident per group and organisation: the resolved body has the same key, another org another one', () => {
    const body = firing();
    const opened = eventOf(body);
    const resolved = eventOf(resolvedOf(body));
    expect(resolved).toMatchObject({ key: opened.key, kind: 'resolve', occurredAt: '2026-03-14T07:58:03.000Z' });
    expect(resolved.severity).toBeUndefined();
    expect(eventOf({ ...body, orgId: 2 }).key).not.toBe(opened.key);
    expect(eventOf({ ...body, groupKey: `${body.groupKey}x` }).key).not.toBe(opened.key);
  });

  it("gives a re-send of an unchanged group the same delivery id, and a change of the group's state a new one", () => {
    const body = firing();
    expect(eventOf(firing()).eventId).toBe(eventOf(body).eventId);
    const changed = firing();
    changed.alerts.push({ ...changed.alerts[0], fingerprint: 'd00d', labels: { ...changed.alerts[0].labels, instance: 'orders-db-1' } });
    expect(eventOf(changed).eventId).not.toBe(eventOf(body).eventId);
    expect(eventOf(resolvedOf(body)).eventId).not.toBe(eventOf(body).eventId);
  });

  it("titles the incident from the summary, else Grafana's title without its count, else the alert name, else the group labels", () => {
    const body = firing();
    const without = (edit: (copy: Record<string, any>) => void) => {
      const copy = firing();
      edit(copy);
      return eventOf(copy).title;
    };
    expect(eventOf(body).title).toBe('orders-db memory above 90%');
    expect(without((copy) => delete copy.commonAnnotations.summary)).toBe('High memory usage Platform (orders-db warning blue)');
    expect(
      without((copy) => {
        delete copy.commonAnnotations.summary;
        delete copy.title;
      }),
    ).toBe('High memory usage');
    expect(
      without((copy) => {
        delete copy.commonAnnotations.summary;
        delete copy.title;
        delete copy.commonLabels.alertname;
      }),
    ).toBe('alertname=High memory usage, grafana_folder=Platform');
  });

  it('leaves out the links Grafana sends empty, and the severity when no label gives one', () => {
    const body = firing();
    body.alerts[0] = { ...body.alerts[0], dashboardURL: '', panelURL: '', generatorURL: '' };
    delete body.commonLabels.severity;
    const event = eventOf(body);
    expect(event.links).toEqual([{ label: 'Grafana', url: 'https://grafana.example.com/' }]);
    expect(event.severity).toBeUndefined();
    expect(eventOf({ ...firing(), commonLabels: { ...firing().commonLabels, severity: 'P1' } }).severity).toBe('critical');
  });

  it("answers Grafana's test notification as ignored, and names the field of a malformed body", () => {
    const test = firing();
    test.alerts = [{ ...test.alerts[0], labels: { alertname: 'TestAlert', instance: 'Grafana' }, values: null }];
    expect(normaliseGrafana(test)).toEqual({ ignored: expect.stringContaining('test notification') });
    const field = (edit: (copy: Record<string, any>) => void) => {
      const copy = firing();
      edit(copy);
      const normalised = normaliseGrafana(copy);
      return 'invalid' in normalised ? normalised.invalid.field : normalised;
    };
    expect(field((copy) => (copy.version = '4'))).toBe('version');
    expect(field((copy) => delete copy.groupKey)).toBe('groupKey');
    expect(field((copy) => (copy.status = 'pending'))).toBe('status');
    expect(field((copy) => (copy.alerts = []))).toBe('alerts');
    expect(field((copy) => delete copy.alerts[0].fingerprint)).toBe('alerts.0.fingerprint');
    expect(field((copy) => (copy.alerts[0].startsAt = 'yesterday'))).toBe('alerts.0.startsAt');
  });

  it('is one registry entry: its route, its label and its bearer token', () => {
    expect(SOURCE_REGISTRY).toContain(grafanaSource);
    expect(grafanaSource.path).toBe('/webhooks/grafana');
    expect(sourceLabel('grafana')).toBe('Grafana');
    expect(grafanaSource.authenticate?.({ authorization: `Bearer ${TOKEN}` }, { token: TOKEN })).toEqual({ ok: true });
    expect(grafanaSource.authenticate?.({ authorization: 'Bearer nope' }, { token: TOKEN })).toMatchObject({ ok: false, status: 401 });
    expect(grafanaSource.authenticate?.({}, { token: undefined })).toEqual({ ok: true });
  });
});

describe('POST /webhooks/grafana', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { GRAFANA_WEBHOOK_TOKEN: TOKEN } });
  });

  afterAll(async () => {
    await h?.stop();
  });

  /** The sample for a fresh notification group. */
  const group = () => {
    const body = firing();
    body.groupKey = `{}/{__grafana_receiver__="warroom"}:{alertname="${uniqueId('GF')}"}`;
    return { body, key: incidentKey('grafana', `1/${body.groupKey}`) };
  };

  it('opens one incident per group, drops a re-send, and resolves it on resolved', async () => {
    const { body, key } = group();
    expect(await h.post('/webhooks/grafana', JSON.stringify(body), bearer)).toEqual({
      status: 202,
      body: { key, workflowId: workflowIdFor(key), outcome: 'started' },
    });
    // Grafana's repeat_interval: the same group again is the same delivery, on the same incident.
    expect(await h.post('/webhooks/grafana', JSON.stringify(body), bearer)).toMatchObject({ status: 202, body: { key } });
    const opened = await eventually(`${key} opened`, async () => {
      const current = await h.state(key);
      return current.steps.timelinePost && current;
    });
    expect(opened).toMatchObject({ source: 'grafana', title: 'orders-db memory above 90%', severity: 'warning', service: 'orders-db' });
    expect(opened.repeatCount).toBe(0);
    expect(opened.timeline.filter((entry) => entry.what === 'trigger from grafana')).toHaveLength(1);

    expect(await h.post('/webhooks/grafana', JSON.stringify(resolvedOf(body)), bearer)).toMatchObject({ status: 202, body: { key } });
    const result = await h.client.workflow.getHandle(workflowIdFor(key)).result();
    expect(result).toMatchObject({
      key,
      status: 'resolved',
      resolvedBy: 'Grafana',
      resolvedAt: '2026-03-14T07:58:03.000Z',
      repeatCount: 0,
    });
    expect(await h.listedRuns(key)).toBe(1);
  });

  it('refuses a missing or wrong token with 401 and starts nothing', async () => {
    const { body, key } = group();
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json', authorization: 'Bearer not-the-token' },
      { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
    ]) {
      const answer = await fetch(`${h.baseUrl}/webhooks/grafana`, { method: 'POST', body: JSON.stringify(body), headers });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(await h.exists(key)).toBe(false);
  });

  it('answers a malformed body with 400 naming the field, and starts nothing', async () => {
    const { body, key } = group();
    expect(await h.post('/webhooks/grafana', JSON.stringify({ ...body, version: '4' }), bearer)).toMatchObject({
      status: 400,
      body: { field: 'version' },
    });
    const noFingerprint = structuredClone(body);
    delete noFingerprint.alerts[0].fingerprint;
    expect(await h.post('/webhooks/grafana', JSON.stringify(noFingerprint), bearer)).toEqual({
      status: 400,
      body: { error: expect.any(String), field: 'alerts.0.fingerprint' },
    });
    expect(await h.post('/webhooks/grafana', '{"receiver": ', bearer)).toMatchObject({ status: 400, body: { field: 'body' } });
    expect(await h.exists(key)).toBe(false);
  });

  it('ignores a resolved group it never opened, and the test notification', async () => {
    const { body, key } = group();
    expect(await h.post('/webhooks/grafana', JSON.stringify(resolvedOf(body)), bearer)).toMatchObject({
      status: 200,
      body: { ignored: expect.stringContaining('no open incident') },
    });
    body.alerts = [{ ...body.alerts[0], labels: { alertname: 'TestAlert', instance: 'Grafana' } }];
    expect(await h.post('/webhooks/grafana', JSON.stringify(body), bearer)).toMatchObject({
      status: 200,
      body: { ignored: expect.any(String) },
    });
    expect(await h.exists(key)).toBe(false);
  });
});
