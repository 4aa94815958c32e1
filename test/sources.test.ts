import { describe, expect, it } from 'vitest';
import { incidentKey, KEY_PATTERN } from '../src/shared/ids.js';
import { normalisePagerDuty, verifyPagerDutySignature } from '../src/sources/pagerduty.js';
import type { InboundRequest } from '../src/sources/source.js';
import { normaliseVictorOps, unquote, verifyVictorOps, victorOpsSignature } from '../src/sources/victorops.js';
import { alertmanagerSource, normaliseAlertmanager, severityOfLabel } from '../src/sources/alertmanager.js';
import { normaliseGeneric } from '../src/sources/generic.js';
import { originLabel, SOURCE_REGISTRY, sourceLabel } from '../src/sources/index.js';
import { fixture, fixtureJson } from './samples.js';

const vectors = fixtureJson('signature-test-vectors.json');

function request(body: string | Buffer, contentType: string, headers: Record<string, string> = {}, query = {}): InboundRequest {
  return { body: Buffer.from(body), headers: { 'content-type': contentType, ...headers }, query };
}

describe('PagerDuty v3 webhooks', () => {
  it('normalises incident.triggered into a trigger with title, severity, service, link and assignees', () => {
    const result = normalisePagerDuty(fixtureJson('pagerduty-v3-incident-triggered.json'));
    expect(result).toEqual({
      event: {
        source: 'pagerduty',
        externalId: 'Q1INC0001',
        key: 'pagerduty-q1inc0001',
        kind: 'trigger',
        eventId: '01EXAMPLETRIGGER0000000001',
        title: 'checkout-api: 5xx rate above 5% for 10 minutes',
        severity: 'critical',
        service: 'checkout-api',
        links: [{ label: 'PagerDuty incident #4711', url: 'https://example-co.pagerduty.com/incidents/Q1INC0001' }],
        assignees: ['PUSR001'],
        actor: 'PagerDuty (checkout-api)',
        occurredAt: '2026-03-14T09:26:53.114Z',
      },
    });
  });

  it('maps acknowledged and resolved to the same incident key with the person as actor', () => {
    const ack = normalisePagerDuty(fixtureJson('pagerduty-v3-incident-acknowledged.json'));
    const resolved = normalisePagerDuty(fixtureJson('pagerduty-v3-incident-resolved.json'));
    expect(ack).toMatchObject({ event: { kind: 'acknowledge', key: 'pagerduty-q1inc0001', actor: 'Dana Oncall' } });
    expect(resolved).toMatchObject({ event: { kind: 'resolve', key: 'pagerduty-q1inc0001' } });
  });

  it('reads incident.annotated as a note on the incident it references', () => {
    expect(normalisePagerDuty(fixtureJson('pagerduty-v3-incident-annotated.json'))).toMatchObject({
      event: {
        kind: 'annotate',
        key: 'pagerduty-q1inc0001',
        note: 'Rolled back deploy 2026.03.14-2; error rate recovering.',
        actor: 'Dana Oncall',
      },
    });
  });

  it('ignores pagey.ping and event types it does not act on', () => {
    expect(normalisePagerDuty(fixtureJson('pagerduty-v3-pagey-ping.json'))).toEqual({
      ignored: 'event type pagey.ping is not acted on',
    });
    const other = fixtureJson('pagerduty-v3-incident-triggered.json');
    other.event.event_type = 'service.updated';
    expect(normalisePagerDuty(other)).toHaveProperty('ignored');
  });

  it.each([
    ['priority_updated', 'update'],
    ['escalated', 'update'],
    ['reassigned', 'update'],
    ['reopened', 'reopen'],
  ])('maps incident.%s to %s', (type, kind) => {
    const body = fixtureJson('pagerduty-v3-incident-triggered.json');
    body.event.event_type = `incident.${type}`;
    expect(normalisePagerDuty(body)).toMatchObject({ event: { kind } });
  });

  it('names the failing field of a malformed body', () => {
    const body = fixtureJson('pagerduty-v3-incident-triggered.json');
    delete body.event.data.title;
    expect(normalisePagerDuty(body)).toEqual({ invalid: { field: 'event.data.title', message: expect.any(String) } });
    expect(normalisePagerDuty({ event: { id: 'x' } })).toMatchObject({ invalid: { field: 'event.event_type' } });
  });

  it('accepts the published signature vector and refuses a wrong secret or a changed body', () => {
    const body = fixture('pagerduty-v3-incident-triggered.json');
    const { secret, header_single: single } = vectors.pagerduty_v3;
    expect(verifyPagerDutySignature(body, single, [secret])).toEqual({ ok: true });
    expect(verifyPagerDutySignature(body, single, ['another-secret'])).toMatchObject({ ok: false, status: 401 });
    const tampered = Buffer.concat([body, Buffer.from(' ')]);
    expect(verifyPagerDutySignature(tampered, single, [secret])).toMatchObject({ ok: false, status: 401 });
  });

  it('accepts a rotating header under either secret, and refuses when no value matches', () => {
    const body = fixture('pagerduty-v3-incident-triggered.json');
    const {
      header_rotating: rotating,
      rotation_secrets: [current, previous],
    } = vectors.pagerduty_v3;
    expect(verifyPagerDutySignature(body, rotating, [current])).toEqual({ ok: true });
    expect(verifyPagerDutySignature(body, rotating, [previous])).toEqual({ ok: true });
    expect(verifyPagerDutySignature(body, rotating, ['nope', 'still-nope'])).toMatchObject({ ok: false });
    const onlyWrong = rotating.split(',')[1];
    expect(verifyPagerDutySignature(body, onlyWrong, [current])).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses a missing, empty or non-v1 signature when a secret is set, and skips the check when none is', () => {
    const body = fixture('pagerduty-v3-incident-triggered.json');
    for (const header of [undefined, '', 'v0=abc', 'sha256=abc']) {
      expect(verifyPagerDutySignature(body, header, ['s'])).toMatchObject({ ok: false, status: 401 });
    }
    expect(verifyPagerDutySignature(body, 'v1=' + 'a'.repeat(64).slice(0, 10), ['s'])).toMatchObject({ ok: false });
    expect(verifyPagerDutySignature(body, undefined, [])).toEqual({ ok: true });
  });
});

describe('VictorOps webhooks', () => {
  const escalation = fixture('victorops-escalation.form-urlencoded.txt');
  const form = 'application/x-www-form-urlencoded';

  it('normalises the escalation webhook, stripping the JSON quotes around alert values', () => {
    const result = normaliseVictorOps(request(escalation, form));
    expect(result).toMatchObject({
      event: {
        source: 'victorops',
        externalId: '2231',
        key: 'victorops-2231',
        kind: 'trigger',
        title: 'orders-db replication lag > 300s',
        severity: 'critical',
        service: 'prometheus-prod',
        links: [{ label: 'Runbook', url: 'https://wiki.example.net/runbooks/orders-db-lag' }],
        occurredAt: '2026-03-14T09:26:52.000Z',
        details: { entity_id: 'orders-db/replication-lag', routing_key: 'database' },
      },
    });
  });

  it('verifies the escalation signature vector over the configured URL and sorted fields', () => {
    const { auth_key: key, webhook_url_as_configured: url } = vectors.victorops_escalation;
    const signature = vectors.victorops_escalation['X-VictorOps-Signature'];
    const auth = { key, url };
    expect(verifyVictorOps(request(escalation, form, { 'x-victorops-signature': signature }), auth)).toEqual({ ok: true });
    expect(verifyVictorOps(request(escalation, form), auth)).toMatchObject({ ok: false, status: 401 });
    expect(
      verifyVictorOps(request(escalation, form, { 'x-victorops-signature': signature }), { ...auth, url: url.slice(0, -1) }),
    ).toMatchObject({ ok: false });
    const tampered = Buffer.from(escalation.toString().replace('incident=2231', 'incident=2232'));
    expect(verifyVictorOps(request(tampered, form, { 'x-victorops-signature': signature }), auth)).toMatchObject({ ok: false });
  });

  it('computes signatures independent of field order', () => {
    const fields: [string, string][] = [
      ['b', '2'],
      ['a', '1'],
    ];
    expect(victorOpsSignature('k', 'https://x/', fields)).toBe(victorOpsSignature('k', 'https://x/', [...fields].reverse()));
  });

  it.each([
    ['victorops-outgoing-triggered.json', 'trigger', 'VictorOps'],
    ['victorops-outgoing-acknowledged.json', 'acknowledge', 'dana.oncall'],
    ['victorops-outgoing-resolved.json', 'resolve', 'dana.oncall'],
    ['victorops-outgoing-template-rendered-triggered.json', 'trigger', 'VictorOps'],
  ])('normalises the outgoing webhook %s as %s by %s', (file, kind, actor) => {
    expect(normaliseVictorOps(request(fixture(file), 'application/json'))).toMatchObject({
      event: { key: 'victorops-2231', kind, actor, title: 'orders-db replication lag > 300s' },
    });
  });

  it('reads the StatusCast-style { monitorName, state } form, strict or with unquoted keys', () => {
    const strict = normaliseVictorOps(request(fixture('statuscast-victorops-webhook.json'), 'application/json'));
    const relaxed = normaliseVictorOps(request('{ monitorName: "prometheus-prod", state: "OK" }', 'application/json'));
    expect(strict).toMatchObject({ event: { kind: 'trigger', service: 'prometheus-prod', severity: 'critical' } });
    expect(relaxed).toMatchObject({ event: { kind: 'resolve', service: 'prometheus-prod' } });
    expect('event' in strict && 'event' in relaxed && strict.event.key === relaxed.event.key).toBe(true);
  });

  it('ignores chat messages and names what is wrong with unknown shapes', () => {
    expect(normaliseVictorOps(request(fixture('victorops-outgoing-chat-rendered.json'), 'application/json'))).toHaveProperty('ignored');
    expect(normaliseVictorOps(request('{"hello":"world"}', 'application/json'))).toMatchObject({ invalid: { field: 'body' } });
    expect(normaliseVictorOps(request('[1,2]', 'application/json'))).toMatchObject({ invalid: { field: 'body' } });
    expect(normaliseVictorOps(request('{"STATE.CURRENT_ALERT_PHASE":"UNACKED"}', 'application/json'))).toMatchObject({
      invalid: { field: 'INCIDENT.INCIDENT_ID' },
    });
    expect(normaliseVictorOps(request('summary=&message=', form))).toMatchObject({ invalid: { field: 'incident' } });
  });

  it('ignores the echo of a post warroom made itself', () => {
    const body = fixtureJson('victorops-outgoing-acknowledged.json');
    body['ALERT.monitoring_tool'] = 'warroom';
    expect(normaliseVictorOps(request(JSON.stringify(body), 'application/json'))).toEqual({
      ignored: 'echo of a post warroom made itself',
    });
  });

  it('requires the shared token on JSON webhooks when one is configured', () => {
    const body = fixture('victorops-outgoing-triggered.json');
    const auth = { token: 'vo-shared-token' };
    expect(verifyVictorOps(request(body, 'application/json'), auth)).toMatchObject({ ok: false, status: 401 });
    expect(verifyVictorOps(request(body, 'application/json', {}, { token: 'wrong' }), auth)).toMatchObject({ ok: false });
    expect(verifyVictorOps(request(body, 'application/json', {}, { token: 'vo-shared-token' }), auth)).toEqual({ ok: true });
    expect(verifyVictorOps(request(body, 'application/json', { 'x-warroom-token': 'vo-shared-token' }), auth)).toEqual({ ok: true });
  });

  it('unquotes exactly one layer of JSON quoting', () => {
    expect(unquote('"a"')).toBe('a');
    expect(unquote('"say \\"hi\\""')).toBe('say "hi"');
    expect(unquote('31')).toBe('31');
    expect(unquote('"')).toBe('"');
  });
});

describe('generic API body', () => {
  it('normalises a minimal and a full body', () => {
    expect(normaliseGeneric({ id: 'DB-42', title: 'db down' }, 'd1')).toMatchObject({
      event: { source: 'api', key: 'api-db-42', kind: 'trigger', eventId: 'api-d1', actor: 'API', links: [] },
    });
    const full = normaliseGeneric(
      {
        id: 'x',
        title: 't',
        severity: 'warning',
        service: 's',
        links: [{ label: 'l', url: 'https://e.x/' }],
        responders: ['a@b.co'],
        details: { k: 'v' },
      },
      'd2',
    );
    expect(full).toMatchObject({ event: { severity: 'warning', responders: ['a@b.co'], details: { k: 'v' } } });
  });

  it.each([
    [{ title: 't' }, 'id'],
    [{ id: 'x' }, 'title'],
    [{ id: 'x', title: 't', severity: 'sev1' }, 'severity'],
    [{ id: 'x', title: 't', responders: ['not-an-email'] }, 'responders.0'],
    [{ id: 'x', title: 't', links: [{ label: 'l', url: 'javascript:alert(1)' }] }, 'links.0.url'],
    [{ id: 'x', title: 't', unexpected: true }, ''],
    [{ id: 7, title: 't' }, 'id'],
  ])('refuses %j naming the field', (body, field) => {
    const result = normaliseGeneric(body, 'd');
    expect(result).toHaveProperty('invalid');
    if (field) expect(result).toMatchObject({ invalid: { field } });
  });
});

describe('Alertmanager webhooks (version 4)', () => {
  const firing = fixtureJson('alertmanager-v4-firing.json');
  const partlyResolved = fixtureJson('alertmanager-v4-partly-resolved.json');
  const resolved = fixtureJson('alertmanager-v4-resolved.json');
  const groupKey = '{}/{severity="critical"}:{alertname="CheckoutErrorRate"}';
  const eventOf = (body: unknown) => {
    const result = normaliseAlertmanager(body);
    if (!('event' in result)) throw new Error(`expected an event, got ${JSON.stringify(result)}`);
    return result.event;
  };
  const eventIdOf = (body: unknown) => eventOf(body).eventId;
  const edited = (edit: (body: Record<string, any>) => void) => {
    const body = structuredClone(firing);
    edit(body);
    return body;
  };

  it("normalises a firing group into a trigger of the group's incident, with title, severity, service, links and details", () => {
    expect(eventOf(firing)).toEqual({
      source: 'alertmanager',
      externalId: groupKey,
      key: incidentKey('alertmanager', groupKey),
      kind: 'trigger',
      eventId: expect.stringMatching(/^alertmanager-firing-[0-9a-f]{32}$/),
      title: 'Checkout 5xx above 5% for 10 minutes',
      severity: 'critical',
      service: 'checkout-api',
      links: [
        { label: 'Alertmanager', url: 'http://alertmanager.example.com:9093' },
        { label: 'Alert source', url: 'http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_5xx%3Aratio5m+%3E+0.05&g0.tab=1' },
      ],
      actor: 'Alertmanager',
      occurredAt: '2026-03-14T09:20:11.402Z',
      details: {
        receiver: 'warroom',
        alertname: 'CheckoutErrorRate',
        group_labels: 'alertname=CheckoutErrorRate',
        runbook_url: 'https://runbooks.example.com/checkout-errors',
        alerts_firing: '2',
        alerts_resolved: '0',
      },
    });
    expect(eventOf(firing).key).toMatch(KEY_PATTERN);
  });

  it('keeps one incident per group: the partly resolved and the resolved body have the same key', () => {
    expect(eventOf(partlyResolved)).toMatchObject({
      kind: 'trigger',
      key: eventOf(firing).key,
      details: { alerts_firing: '1', alerts_resolved: '1' },
    });
    expect(eventOf(resolved)).toMatchObject({
      kind: 'resolve',
      key: eventOf(firing).key,
      actor: 'Alertmanager',
      occurredAt: '2026-03-14T09:41:11.402Z',
    });
  });

  it("gives a re-send of an unchanged group the same delivery id, whatever the order or the annotations' values", () => {
    const id = eventIdOf(firing);
    expect(eventIdOf(structuredClone(firing))).toBe(id);
    expect(eventIdOf(edited((body) => body.alerts.reverse()))).toBe(id);
    // Annotations templated with $value change on every evaluation; the group's state did not.
    expect(eventIdOf(edited((body) => (body.alerts[0].annotations.description = '5xx ratio is 9.9% on checkout-7f9c:8080')))).toBe(id);
    expect(eventIdOf(JSON.parse(JSON.stringify(firing, null, 2)))).toBe(id);
  });

  it("gives every change of the group's state a new delivery id", () => {
    const ids = [
      eventIdOf(firing),
      eventIdOf(partlyResolved),
      eventIdOf(resolved),
      eventIdOf(edited((body) => body.alerts.pop())),
      eventIdOf(edited((body) => body.alerts.push({ ...body.alerts[0], fingerprint: 'ffff000011112222' }))),
      eventIdOf(edited((body) => (body.alerts[1].startsAt = '2026-03-14T10:02:41.402Z'))),
      eventIdOf(edited((body) => (body.alerts[1].fingerprint = '0c47e2aa51b9d8e7'))),
      eventIdOf(edited((body) => (body.truncatedAlerts = 3))),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('titles the incident from the summary, else the alert name, else the group labels, else a default', () => {
    const noSummary = edited((body) => delete body.commonAnnotations.summary);
    expect(eventOf(noSummary).title).toBe('CheckoutErrorRate');
    const noName = edited((body) => {
      delete body.commonAnnotations.summary;
      delete body.commonLabels.alertname;
      body.groupLabels = { cluster: 'eu-1', team: 'payments' };
    });
    expect(eventOf(noName).title).toBe('cluster=eu-1, team=payments');
    const bare = edited((body) => {
      body.commonAnnotations = {};
      body.commonLabels = {};
      body.groupLabels = {};
    });
    expect(eventOf(bare).title).toBe(`alertmanager incident ${groupKey}`);
  });

  it.each([
    ['page', 'critical'],
    ['CRITICAL', 'critical'],
    ['P1', 'critical'],
    ['error', 'error'],
    ['high', 'error'],
    ['major', 'error'],
    ['warning', 'warning'],
    ['warn', 'warning'],
    ['medium', 'warning'],
    ['info', 'info'],
    ['low', 'info'],
    ['none', 'info'],
    ['sev-unknown', undefined],
    ['constructor', undefined],
  ])('maps severity label %j to %s', (label, severity) => {
    expect(severityOfLabel(label)).toBe(severity);
    expect(eventOf(edited((body) => (body.commonLabels.severity = label))).severity).toBe(severity);
  });

  it('takes the service from the service label, else the job, and leaves severity out when there is none', () => {
    const noService = edited((body) => {
      delete body.commonLabels.service;
      delete body.commonLabels.severity;
    });
    expect(eventOf(noService)).toMatchObject({ service: 'checkout' });
    expect(eventOf(noService).severity).toBeUndefined();
  });

  it('links only web URLs, each rule once, at most five', () => {
    const many = edited((body) => {
      body.externalURL = 'javascript:alert(1)';
      body.alerts = Array.from({ length: 8 }, (_, index) => ({
        ...body.alerts[0],
        fingerprint: `f${index}`,
        generatorURL: `https://prom.example.com/graph?g${index % 7}`,
      }));
      body.alerts.push(
        { ...body.alerts[0], fingerprint: 'ftp', generatorURL: 'ftp://prom.example.com/x' },
        { ...body.alerts[0], fingerprint: 'empty', generatorURL: '' },
      );
    });
    const links = eventOf(many).links;
    expect(links.map((link) => link.label)).toEqual([
      'Alert source 1',
      'Alert source 2',
      'Alert source 3',
      'Alert source 4',
      'Alert source 5',
    ]);
    expect(links.every((link) => link.url.startsWith('https://prom.example.com/'))).toBe(true);
  });

  it.each([
    [(body: Record<string, any>) => (body.version = '3'), 'version'],
    [(body: Record<string, any>) => delete body.version, 'version'],
    [(body: Record<string, any>) => delete body.groupKey, 'groupKey'],
    [(body: Record<string, any>) => (body.groupKey = ''), 'groupKey'],
    [(body: Record<string, any>) => (body.status = 'pending'), 'status'],
    [(body: Record<string, any>) => (body.alerts = []), 'alerts'],
    [(body: Record<string, any>) => (body.alerts = 'all'), 'alerts'],
    [(body: Record<string, any>) => delete body.alerts[1].fingerprint, 'alerts.1.fingerprint'],
    [(body: Record<string, any>) => (body.alerts[0].startsAt = 'yesterday'), 'alerts.0.startsAt'],
    [(body: Record<string, any>) => (body.alerts[0].status = 'active'), 'alerts.0.status'],
    [(body: Record<string, any>) => (body.commonLabels.severity = 1), 'commonLabels.severity'],
    [(body: Record<string, any>) => (body.truncatedAlerts = -1), 'truncatedAlerts'],
  ])('refuses a body that breaks the format (%#), naming %s', (edit, field) => {
    expect(normaliseAlertmanager(edited(edit))).toEqual({ invalid: { field, message: expect.any(String) } });
  });

  it('names the version it reads when another one arrives', () => {
    expect(normaliseAlertmanager(edited((body) => (body.version = '3')))).toMatchObject({
      invalid: { message: expect.stringContaining('version 4') },
    });
    expect(alertmanagerSource.normalise(request('{"version":', 'application/json'))).toMatchObject({ invalid: { field: 'body' } });
  });

  it('accepts the bearer token Alertmanager sends from http_config.authorization, and only that', () => {
    const settings = { token: 'am-token-for-source-tests' };
    const authenticate = (headers: Record<string, string>) => alertmanagerSource.authenticate?.(headers, settings);
    expect(authenticate({ authorization: 'Bearer am-token-for-source-tests' })).toEqual({ ok: true });
    const refused: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'am-token-for-source-tests' },
      { authorization: `Basic ${Buffer.from('a:am-token-for-source-tests').toString('base64')}` },
    ];
    for (const headers of refused) {
      expect(authenticate(headers)).toMatchObject({ ok: false, status: 401, challenge: 'Bearer' });
    }
    expect(alertmanagerSource.authenticate?.({}, { token: undefined })).toEqual({ ok: true });
  });
});

describe('the source registry', () => {
  it('gives every source a unique lowercase name (a key prefix) and a unique route', () => {
    const names = SOURCE_REGISTRY.map((source) => source.name);
    const paths = SOURCE_REGISTRY.map((source) => source.path);
    for (const name of names) expect(incidentKey(name, 'X1')).toMatch(KEY_PATTERN);
    for (const name of names) expect(name).toMatch(/^[a-z]+$/);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('has each environment variable declared by one source only', () => {
    const variables = SOURCE_REGISTRY.flatMap((source) => Object.keys(source.variables));
    expect(new Set(variables).size).toBe(variables.length);
  });

  it('reads sources and ways in as people name them, and anything else as itself', () => {
    expect(sourceLabel('pagerduty')).toBe('PagerDuty');
    expect(sourceLabel('victorops')).toBe('VictorOps');
    expect(sourceLabel('api')).toBe('API');
    expect(sourceLabel('alertmanager')).toBe('Alertmanager');
    expect(originLabel('pagerduty')).toBe('PagerDuty');
    expect(originLabel('slack')).toBe('Slack');
    expect(originLabel('signal')).toBe('a Temporal signal');
    expect(originLabel('api')).toBe('the warroom API');
    expect(originLabel('retry')).toBe('retry');
    expect(originLabel('deploy-bot')).toBe('deploy-bot');
    expect(sourceLabel('constructor')).toBe('constructor');
  });
});

describe('incident keys', () => {
  it('keeps plain ids readable and lower-cases them', () => {
    expect(incidentKey('pagerduty', 'Q1INC0001')).toBe('pagerduty-q1inc0001');
    expect(incidentKey('victorops', '2231')).toBe('victorops-2231');
  });

  it('makes any id safe for Slack names and Jira labels, and keeps distinct ids distinct', () => {
    const awkward = ['Foo Bar.Baz', 'a/b', 'a b', 'ünïcödé', '🔥', '   ', 'x'.repeat(120), 'x'.repeat(121), '../../etc', 'a--b'];
    const keys = awkward.map((id) => incidentKey('api', id));
    for (const key of keys) {
      expect(key).toMatch(KEY_PATTERN);
      expect(key.length).toBeLessThanOrEqual(60);
      expect(key).not.toMatch(/\s/);
    }
    expect(new Set(keys).size).toBe(keys.length);
    expect(incidentKey('api', 'a/b')).not.toBe(incidentKey('api', 'a-b'));
  });
});
