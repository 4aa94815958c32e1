import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMonitors, type StatusPageMonitor } from '../src/config.js';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../src/activities/errors.js';
import { createStatusCastActivities, type StatusCastDeps } from '../src/activities/statuscast.js';
import type { StatusPageRef, StepInput } from '../src/activities/step.js';
import { startStatusCastFake, type StatusCastFake } from './fakes/statuscast.js';
import { everything, failureOf, withRetries } from './activity-failures.js';
import { fixtureJson } from './samples.js';

const createRequest = fixtureJson('statuscast-v4-incident-create-request.json');
const createResponse = fixtureJson('statuscast-v4-incident-create-response.json');
const closeRequest = fixtureJson('statuscast-v4-incident-close-request.json');

/** The samples' monitor: checkout errors, published at once and closed when resolved. */
const checkout: StatusPageMonitor = {
  name: 'Checkout',
  incidentType: 'ServiceUnavailable',
  affectedComponents: [20609],
  componentStatus: 'DegradedPerformance',
  subject: '{title}',
  message: 'We are investigating elevated error rates affecting {service} ({severity}, ref {key}).',
  author: 'automation@example.com',
  notifyEmployees: ['oncall@example.com'],
  waitMs: 0,
  combineAlerts: false,
  autoPublish: true,
  autoClose: true,
  closingComment: 'The issue has been resolved and {service} is operating normally.',
};
/** Reviewed by a human before anyone sees it, and closed by a human too. */
const ordersDb: StatusPageMonitor = {
  ...checkout,
  name: 'orders-db',
  affectedComponents: [20610],
  subject: 'Delays placing orders',
  combineAlerts: true,
  waitMs: 120_000,
  autoPublish: false,
  autoClose: false,
};

function incident(overrides: Partial<StepInput> = {}): StepInput {
  return {
    key: 'victorops-2231',
    workflowId: 'incident-victorops-2231',
    source: 'victorops',
    externalId: '2231',
    title: 'Checkout errors for some customers',
    severity: 'critical',
    service: 'checkout',
    status: 'triggered',
    links: [],
    responders: [],
    assignees: [],
    refs: {},
    triggeredAt: '2026-03-14T09:30:00.000Z',
    ...overrides,
  };
}

let sc: StatusCastFake;

beforeAll(async () => {
  sc = await startStatusCastFake();
});

afterAll(async () => {
  await sc?.stop();
});

beforeEach(() => {
  sc.reset();
});

const settings = (overrides: Partial<{ apiToken: string; monitors: StatusPageMonitor[] }> = {}) => ({
  url: sc.url,
  apiToken: sc.apiToken,
  monitors: [checkout, ordersDb],
  ...overrides,
});
const activities = (deps: Omit<StatusCastDeps, 'settings'> = {}, overrides: Parameters<typeof settings>[0] = {}) =>
  createStatusCastActivities({ settings: settings(overrides), ...deps });
const operations = () => sc.requests.map((request) => `${request.operation ?? request.path} ${request.status}`);

describe('StatusCast fake', () => {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${sc.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${sc.apiToken}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as any) : undefined };
  };

  it('accepts the sample create request and answers in the sample response shape', async () => {
    const created = await call('POST', '/api/v4/incident', createRequest);
    expect(created.status).toBe(200);
    expect(Object.keys(created.body).sort()).toEqual(Object.keys(createResponse).sort());
    expect(Object.keys(created.body.posts[0]).sort()).toEqual(Object.keys(createResponse.posts[0]).sort());
    expect(created.body).toMatchObject({
      id: createResponse.id,
      status: 'InProgress',
      title: createRequest.title,
      externalId: createRequest.externalId,
      shortUrl: createResponse.shortUrl,
      affectedComponents: createResponse.affectedComponents,
    });

    const closed = await call('PUT', '/api/v4/incident', closeRequest);
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'Closed', endDate: closeRequest.posts[0].date });
    expect(closed.body.posts.map((post: { postType: string }) => post.postType)).toEqual(['Investigating', 'Closed']);
    expect(sc.responseProblems).toEqual([]);
  });

  it('refuses what StatusCast would refuse, with a JSON error naming the field', async () => {
    const badPostType = await call('POST', '/api/v4/incident', {
      ...createRequest,
      posts: [{ ...createRequest.posts[0], postType: 'Resolved' }],
    });
    expect(badPostType.status).toBe(400);
    expect(Object.keys(badPostType.body.errors)).toEqual(['posts[0].postType']);

    const refusals = await Promise.all([
      call('POST', '/api/v4/incident', { ...createRequest, incidentType: 'Outage' }),
      call('POST', '/api/v4/incident', { ...createRequest, posts: [{ ...createRequest.posts[0], newComponentStatus: 'Down' }] }),
      call('POST', '/api/v4/incident', { ...createRequest, title: undefined }),
      call('POST', '/api/v4/incident', { ...createRequest, author: 'someone@example.com' }),
      call('POST', '/api/v4/incident', { ...createRequest, affectedComponents: [99999] }),
      call('POST', '/api/v4/incidents', { pageSize: 500 }),
    ]);
    expect(refusals.map((refusal) => [refusal.status, Object.keys(refusal.body.errors)[0]])).toEqual([
      [400, 'incidentType'],
      [400, 'posts[0].newComponentStatus'],
      [400, 'title'],
      [400, '$'],
      [400, 'affectedComponents'],
      [400, 'pageSize'],
    ]);
    expect(refusals[4]!.body.errors.affectedComponents).toEqual(['Component 99999 does not exist.']);

    expect((await call('PUT', '/api/v4/incident', { ...closeRequest, id: 424242 })).status).toBe(404);
    expect((await call('GET', '/api/v4/incident/424242')).status).toBe(404);
    expect((await call('GET', '/api/v4/incident/abc')).status).toBe(400);
    expect((await call('DELETE', '/api/v4/incidents')).status).toBe(405);
    expect((await call('POST', '/api/v4/incident', createRequest, { authorization: '' })).status).toBe(401);
    expect((await call('POST', '/api/v4/incident', createRequest, { authorization: `Bearer ${sc.apiToken}x` })).status).toBe(401);
    expect((await call('POST', '/api/v4/incident', createRequest, { authorization: `Token ${sc.apiToken}` })).status).toBe(401);
    expect((await call('POST', '/api/v4/incident', createRequest, { 'content-type': 'text/plain' })).status).toBe(415);
    expect(sc.incidents.size).toBe(0);
  });

  it('keeps an unpublished incident as a Draft and notifies no one', async () => {
    const draft = await call('POST', '/api/v4/incident', { ...createRequest, isPublished: false });
    expect(draft.body.status).toBe('Draft');
    expect(sc.incidents.get(draft.body.id)?.notifications).toEqual([]);
  });
});

describe('statusPagePlan', () => {
  it("answers the monitor's timers and switches for the incident's service, matched without regard to case", async () => {
    expect(await activities().statusPagePlan(incident({ service: 'ORDERS-DB' }))).toEqual({
      monitor: 'orders-db',
      waitMs: 120_000,
      combineAlerts: true,
      autoPublish: false,
      autoClose: false,
    });
  });

  it('answers undefined for a service without a monitor, an incident without a service and without settings', async () => {
    expect(await activities().statusPagePlan(incident({ service: 'payments' }))).toBeUndefined();
    expect(await activities().statusPagePlan(incident({ service: undefined }))).toBeUndefined();
    expect(await createStatusCastActivities().statusPagePlan(incident())).toBeUndefined();
    expect(sc.requests).toEqual([]);
  });
});

describe('postStatusPage', () => {
  it("publishes one StatusCast incident in the sample's shape, with the monitor's subject and message filled in", async () => {
    const outcome = await activities().postStatusPage(incident());
    expect(outcome).toEqual({
      status: 'done',
      ref: String(createResponse.id),
      url: createResponse.shortUrl,
      detail: `StatusCast incident ${createResponse.id} published`,
    });
    expect(operations()).toEqual(['searchIncidents 200', 'createIncident 200']);
    const search = sc.requests[0]!;
    expect(search.body).toMatchObject({ externalId: 'victorops-2231', incidentStatusBy: 'All' });

    const sent = sc.requests[1]!;
    expect(sent.headers.authorization).toBe(`Bearer ${sc.apiToken}`);
    expect(sent.body).toEqual({
      incidentType: 'ServiceUnavailable',
      title: 'Checkout errors for some customers',
      isPublished: true,
      externalId: 'victorops-2231',
      posts: [
        {
          text: 'We are investigating elevated error rates affecting checkout (critical, ref victorops-2231).',
          date: '2026-03-14T09:30:00.000Z',
          externalId: 'victorops-2231-post-1',
          isPublished: true,
          postType: 'Investigating',
          newComponentStatus: 'DegradedPerformance',
        },
      ],
      affectedComponents: [20609],
      sendNotifications: true,
    });
    // Every field sent is one the sample sends too.
    expect(Object.keys(sent.body as object).filter((key) => !(key in createRequest))).toEqual([]);

    const created = sc.incidents.get(createResponse.id)!;
    expect(created).toMatchObject({ status: 'InProgress', externalId: 'victorops-2231', affectedComponents: [20609] });
    expect(created.notifications).toEqual([{ reason: 'created' }]);
    expect(sc.responseProblems).toEqual([]);
  });

  it('creates one incident when StatusCast applies the create but answers 500: the retry finds it by externalId', async () => {
    sc.faults.set('createIncident', { applyThenFail: 1 });
    const { result, failures } = await withRetries(() => activities().postStatusPage(incident()));
    expect(failures.map((failure) => failure.type)).toEqual([UNAVAILABLE]);
    expect(sc.incidents.size).toBe(1);
    const [only] = sc.incidents.values();
    expect(result).toMatchObject({ status: 'done', ref: String(only!.id), url: createResponse.shortUrl });
    expect(result.detail).toBe(`StatusCast incident ${only!.id} published (an earlier attempt created it)`);
    expect(operations()).toEqual(['searchIncidents 200', 'createIncident 500', 'searchIncidents 200']);
  });

  it("creates nothing new when called again, and keeps one incident per externalId (a combined monitor's ref)", async () => {
    const ref: StatusPageRef = { monitor: 'orders-db', externalId: 'statuspage-orders-db-3f2a', incidents: 1 };
    const first = await activities().postStatusPage(incident({ statusPage: ref }));
    const again = await activities().postStatusPage(incident({ key: 'victorops-2232', statusPage: { ...ref, incidents: 2 } }));
    expect(again.status === 'done' && again.ref).toBe(first.status === 'done' && first.ref);
    expect(sc.incidents.size).toBe(1);
    expect([...sc.incidents.values()][0]!.externalId).toBe('statuspage-orders-db-3f2a');
  });

  it('saves a draft and notifies no one when auto-publish is off', async () => {
    const outcome = await activities().postStatusPage(incident({ service: 'orders-db' }));
    expect(outcome).toMatchObject({
      status: 'done',
      detail: `StatusCast incident ${createResponse.id} saved as a draft (auto-publish off)`,
    });
    const draft = sc.incidents.get(createResponse.id)!;
    expect(draft).toMatchObject({ status: 'Draft', title: 'Delays placing orders', affectedComponents: [20610] });
    expect(draft.posts[0]!.isPublished).toBe(false);
    expect(draft.notifications).toEqual([]);
    expect(sc.requests[1]!.body).toMatchObject({ isPublished: false, sendNotifications: false });
  });

  it('opens incidents StatusCast accepts from the example monitors file: one published, one a draft', async () => {
    const monitors = loadMonitors(fileURLToPath(new URL('../examples/monitors.yaml', import.meta.url)));
    const fromExample = activities({}, { monitors });
    const published = await fromExample.postStatusPage(incident({ service: 'checkout' }));
    const draft = await fromExample.postStatusPage(incident({ key: 'victorops-2232', service: 'orders-db' }));
    expect([published.detail, draft.detail]).toEqual([
      `StatusCast incident ${createResponse.id} published`,
      `StatusCast incident ${createResponse.id + 1} saved as a draft (auto-publish off)`,
    ]);
    expect(sc.incidents.get(createResponse.id + 1)!.posts[0]!.text).toBe(
      'Some orders are taking longer than usual to confirm (critical). We are investigating.',
    );
    expect(sc.responseProblems).toEqual([]);
  });

  it('skips, saying why, for a service without a monitor and without settings; nothing is sent', async () => {
    expect(await activities().postStatusPage(incident({ service: 'payments' }))).toEqual({
      status: 'skipped',
      detail: 'no status-page monitor for service "payments"',
    });
    expect(await createStatusCastActivities().postStatusPage(incident())).toEqual({
      status: 'skipped',
      detail: 'not configured (StatusCast)',
    });
    expect(sc.requests).toEqual([]);
  });

  it("fails for good, in StatusCast's words, when it refuses the monitor's component", async () => {
    const broken = { ...checkout, affectedComponents: [99999] };
    const failure = await failureOf(activities({}, { monitors: [broken] }).postStatusPage(incident()));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain('affectedComponents: Component 99999 does not exist.');
    expect(failure.message).toContain('(HTTP 400)');
    expect(sc.incidents.size).toBe(0);
  });

  it('turns a 429 into rateLimited with the Retry-After delay, and creates on the next attempt', async () => {
    sc.faults.set('*', { rateLimit: { count: 1, retryAfterSeconds: 7 } });
    const failure = await failureOf(activities().postStatusPage(incident()));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nonRetryable: false, nextRetryDelay: 7000 });
    expect(sc.incidents.size).toBe(0);
    expect((await activities().postStatusPage(incident())).status).toBe('done');
    expect(sc.incidents.size).toBe(1);
  });

  it('waits 30 s after a 429 without Retry-After (StatusCast documents none)', async () => {
    const tooMany: typeof fetch = async () => new Response(null, { status: 429 });
    const failure = await failureOf(activities({ fetch: tooMany }).postStatusPage(incident()));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 30_000 });
  });

  it('fails for good on a refused token and never shows the token, even when StatusCast echoes it', async () => {
    const revoked = `${sc.apiToken}-revoked`;
    const refused = await failureOf(activities({}, { apiToken: revoked }).postStatusPage(incident()));
    expect(refused).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(refused.message).toBe('StatusCast: look up incident victorops-2231: Unauthorized (HTTP 401); check STATUSCAST_API_TOKEN');
    expect(everything(refused)).not.toContain(revoked);
    expect(everything(refused)).not.toContain(sc.apiToken);

    const echoing: typeof fetch = async (_url, init) => {
      const sent = new Headers(init?.headers).get('authorization') ?? '';
      return Response.json({ message: `token '${sent.replace('Bearer ', '')}' is not valid for ${sent}` }, { status: 403 });
    };
    const echoed = await failureOf(activities({ fetch: echoing }).postStatusPage(incident()));
    expect(echoed).toMatchObject({ type: NON_RETRYABLE });
    expect(echoed.message).toContain("token '<redacted>' is not valid");
    expect(everything(echoed)).not.toContain(sc.apiToken);
    expect(sc.incidents.size).toBe(0);
  });

  it('answers 5xx and timeouts as unavailable, so Temporal retries', async () => {
    sc.faults.set('*', { errorRate: 1 });
    expect((await failureOf(activities().postStatusPage(incident()))).type).toBe(UNAVAILABLE);
    sc.faults.set('*', { hang: true });
    const slow = await failureOf(activities({ timeoutMs: 150 }).postStatusPage(incident()));
    expect(slow).toMatchObject({ type: UNAVAILABLE, nonRetryable: false });
    expect(slow.message).toMatch(/no answer within 150 ms/);
    expect(everything(slow)).not.toContain(sc.apiToken);
  });
});

describe('closeStatusPage', () => {
  const opened = async (service = 'checkout'): Promise<StepInput> => {
    const outcome = await activities().postStatusPage(incident({ service }));
    if (outcome.status !== 'done') throw new Error(outcome.detail);
    sc.requests.length = 0;
    return incident({ service, status: 'resolved', statusPage: { monitor: service, externalId: 'victorops-2231', id: outcome.ref } });
  };

  it('closes with the closing comment once; a second close finds it closed and posts nothing', async () => {
    const input = await opened();
    const first = await activities().closeStatusPage(input);
    const second = await activities().closeStatusPage(input);
    expect(first).toEqual({
      status: 'done',
      ref: String(createResponse.id),
      url: createResponse.shortUrl,
      detail: `StatusCast incident ${createResponse.id} closed`,
    });
    expect(second).toMatchObject({ status: 'done', detail: `StatusCast incident ${createResponse.id} already closed` });
    expect(operations()).toEqual(['getIncident 200', 'updateIncident 200', 'getIncident 200']);

    const closed = sc.incidents.get(createResponse.id)!;
    expect(closed.status).toBe('Closed');
    expect(closed.endDate).not.toBeNull();
    expect(closed.posts.map((post) => [post.postType, post.text])).toEqual([
      ['Investigating', 'We are investigating elevated error rates affecting checkout (critical, ref victorops-2231).'],
      ['Closed', 'The issue has been resolved and checkout is operating normally.'],
    ]);
    const sent = sc.requests[1]!.body as typeof closeRequest;
    expect(sent).toMatchObject({ id: createResponse.id, sendNotifications: true });
    expect(sent.posts).toEqual([
      {
        text: closed.posts[1]!.text,
        date: expect.any(String),
        isPublished: true,
        postType: 'Closed',
        newComponentStatus: 'Available',
        externalId: 'victorops-2231-closed',
      },
    ]);
    // The sample's fields, plus our post externalId.
    expect(Object.keys(sent).sort()).toEqual(Object.keys(closeRequest).sort());
    expect(closed.notifications).toEqual([{ reason: 'created' }, { reason: 'updated', postType: 'Closed' }]);
  });

  it('posts one Closed post when StatusCast applies the close but answers 500', async () => {
    const input = await opened();
    sc.faults.set('updateIncident', { applyThenFail: 1 });
    const { result, failures } = await withRetries(() => activities().closeStatusPage(input));
    expect(failures.map((failure) => failure.type)).toEqual([UNAVAILABLE]);
    expect(result).toMatchObject({ status: 'done', detail: `StatusCast incident ${createResponse.id} already closed` });
    expect(sc.incidents.get(createResponse.id)!.posts.filter((post) => post.postType === 'Closed')).toHaveLength(1);
  });

  it('leaves the incident open for a human and sends nothing when auto-close is off', async () => {
    const input = await opened('orders-db');
    expect(await activities().closeStatusPage(input)).toEqual({
      status: 'skipped',
      detail: `auto-close is off: StatusCast incident ${createResponse.id} is left open for a human`,
    });
    expect(sc.requests).toEqual([]);
    expect(sc.incidents.get(createResponse.id)!.status).toBe('Draft');
  });

  it('skips, saying why, when no StatusCast incident was created, and without settings', async () => {
    const skipped = await activities().closeStatusPage(incident({ statusPage: { monitor: 'checkout', externalId: 'victorops-2231' } }));
    expect(skipped).toEqual({ status: 'skipped', detail: 'no StatusCast incident to close: none was created' });
    expect(await createStatusCastActivities().closeStatusPage(incident())).toEqual({
      status: 'skipped',
      detail: 'not configured (StatusCast)',
    });
    expect(sc.requests).toEqual([]);
  });

  it('fails for good when StatusCast does not know the incident', async () => {
    const failure = await failureOf(
      activities().closeStatusPage(incident({ statusPage: { monitor: 'checkout', externalId: 'victorops-2231', id: '424242' } })),
    );
    expect(failure).toMatchObject({ type: NON_RETRYABLE });
    expect(failure.message).toBe('StatusCast: read incident 424242: Not Found: Incident 424242 was not found. (HTTP 404)');
  });
});

describe('updateStatusPage', () => {
  it('adds one Informational post per new alert count on a combined incident, never twice for the same count', async () => {
    const ref: StatusPageRef = { monitor: 'checkout', externalId: 'statuspage-checkout-9c1e', incidents: 1 };
    const created = await activities().postStatusPage(incident({ statusPage: ref }));
    if (created.status !== 'done') throw new Error(created.detail);
    const joined = (incidents: number) =>
      incident({ key: `victorops-22${30 + incidents}`, statusPage: { ...ref, id: created.ref, incidents } });

    const second = await activities().updateStatusPage(joined(2));
    const repeat = await activities().updateStatusPage(joined(2));
    await activities().updateStatusPage(joined(3));
    expect(second).toMatchObject({ status: 'done', ref: created.ref, detail: `StatusCast incident ${created.ref} now covers 2 alerts` });
    expect(repeat).toMatchObject({ status: 'done', detail: `update already on StatusCast incident ${created.ref} (an earlier attempt)` });

    const page = sc.incidents.get(Number(created.ref))!;
    expect(page.posts.map((post) => [post.postType, post.text, post.externalId])).toEqual([
      ['Investigating', expect.any(String), 'statuspage-checkout-9c1e-post-1'],
      ['Informational', 'Another alert for checkout joined this incident; it now covers 2 alerts.', 'statuspage-checkout-9c1e-update-2'],
      ['Informational', 'Another alert for checkout joined this incident; it now covers 3 alerts.', 'statuspage-checkout-9c1e-update-3'],
    ]);
    // Subscribers heard of the incident once; more alerts are shown, not sent.
    expect(page.notifications).toEqual([{ reason: 'created' }]);
  });

  it('posts nothing on a closed incident', async () => {
    const created = await activities().postStatusPage(incident());
    if (created.status !== 'done') throw new Error(created.detail);
    const statusPage = { monitor: 'checkout', externalId: 'victorops-2231', id: created.ref, incidents: 2 };
    await activities().closeStatusPage(incident({ statusPage }));
    expect(await activities().updateStatusPage(incident({ statusPage }))).toEqual({
      status: 'skipped',
      detail: `StatusCast incident ${created.ref} is closed: no update posted`,
    });
    expect(sc.incidents.get(Number(created.ref))!.posts.map((post) => post.postType)).toEqual(['Investigating', 'Closed']);
  });
});
