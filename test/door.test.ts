/**
 * Issue 10, part 3: a cheaper door for repeats. A delivery this API process already had accepted
 * is answered without another Temporal call; copies in flight together share one call; nothing is
 * remembered that Temporal did not accept, and nothing past a point where the run may end. The
 * Temporal calls are counted on the client's workflow service, which the API and the SDK both call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AcceptedDeliveries, IDS_PER_INCIDENT } from '../src/accepted-deliveries.js';
import { Dispatcher } from '../src/dispatch.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import type { IncidentEvent } from '../src/shared/incident.js';
import { normalisePagerDuty } from '../src/sources/pagerduty.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';
import { fixtureJson } from './samples.js';
import { signPagerDuty } from './signing.js';

const PD_SECRET = 'pd-secret-for-door-tests';
const API_TOKEN = 'api-token-for-door-tests';
const RPCS = ['signalWithStartWorkflowExecution', 'signalWorkflowExecution'] as const;
type Rpc = (typeof RPCS)[number];

let h: Harness;
/** Every start or signal RPC made on the client, with its workflow id. */
const calls: { rpc: Rpc; workflowId: string }[] = [];
/** While set, each start or signal waits for it, then fails with `failure` if that is set. */
let gate: Promise<void> | undefined;
let failure: Error | undefined;

beforeAll(async () => {
  h = await startHarness({ env: { PAGERDUTY_WEBHOOK_SECRET: PD_SECRET, WARROOM_API_TOKEN: API_TOKEN } });
  // Signal-with-start names its workflow in `workflowId`, a signal in `workflowExecution`.
  type Request = { workflowId?: string; workflowExecution?: { workflowId?: string } };
  const service = h.client.connection.workflowService as unknown as Record<Rpc, (request: Request) => Promise<unknown>>;
  for (const rpc of RPCS) {
    const original = service[rpc];
    service[rpc] = async (request) => {
      calls.push({ rpc, workflowId: request.workflowId ?? request.workflowExecution?.workflowId ?? '' });
      await gate;
      if (failure) throw failure;
      return original(request);
    };
  }
});

afterAll(async () => {
  await h?.stop();
});

afterEach(() => {
  gate = undefined;
  failure = undefined;
  vi.restoreAllMocks();
});

/** Start and signal RPCs made for the incident so far. */
const callsFor = (key: string) => calls.filter((call) => call.workflowId === workflowIdFor(key)).length;

/** A signed PagerDuty v3 delivery from the samples, for `incidentId`, with the event id `eventId`. */
function pagerDuty(file: string, incidentId: string, eventId: string) {
  const body = fixtureJson(file);
  body.event.id = eventId;
  if (body.event.data.type === 'incident') body.event.data.id = incidentId;
  else body.event.data.incident.id = incidentId;
  const raw = JSON.stringify(body);
  return { raw, headers: { 'content-type': 'application/json', ...signPagerDuty(raw, PD_SECRET) } };
}

const TRIGGERED = 'pagerduty-v3-incident-triggered.json';
const RESOLVED = 'pagerduty-v3-incident-resolved.json';

function send(delivery: { raw: string; headers: Record<string, string> }) {
  return h.post('/webhooks/pagerduty', delivery.raw, delivery.headers);
}

/** Holds every start and signal until the returned function is called. */
function holdTemporal(): () => void {
  let open!: () => void;
  gate = new Promise<void>((resolve) => (open = resolve));
  return open;
}

/** Resolves once `copies` deliveries of `eventId` reached the door (each asks the memory first). */
function arrivals(eventId: string) {
  const has = vi.spyOn(AcceptedDeliveries.prototype, 'has');
  return (copies: number) =>
    eventually(
      `${copies} copies of ${eventId} at the door`,
      async () => has.mock.calls.filter(([, id]) => id === eventId).length >= copies,
    );
}

describe('a repeat at the door', () => {
  it('answers a delivery it already had accepted 202 repeat without a Temporal call, and counts it', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const trigger = pagerDuty(TRIGGERED, id, uniqueId('EV'));
    expect(await send(trigger)).toEqual({ status: 202, body: { key, workflowId: workflowIdFor(key), outcome: 'started' } });
    expect(callsFor(key)).toBe(1);

    for (let copy = 0; copy < 5; copy += 1) {
      expect(await send(trigger)).toEqual({ status: 202, body: { key, workflowId: workflowIdFor(key), outcome: 'repeat' } });
    }
    expect(callsFor(key)).toBe(1);
    // A new delivery for the same incident is not a repeat: it goes to the run, which counts it.
    expect(await send(pagerDuty(TRIGGERED, id, uniqueId('EV')))).toMatchObject({ status: 202, body: { outcome: 'signaled' } });
    expect(callsFor(key)).toBe(2);
    await eventually(`${key}'s new alert counted once`, async () => (await h.state(key)).repeatCount === 1);

    const metrics = await h.get('/metrics');
    expect(metrics.body).toMatch(/warroom_webhooks_total\{source="pagerduty",outcome="repeat"\} [5-9]/);
  });

  it('sends copies that arrive together as one signal-with-start, and answers them all once it is accepted', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const eventId = uniqueId('EV');
    const trigger = pagerDuty(TRIGGERED, id, eventId);
    const arrived = arrivals(eventId);
    const open = holdTemporal();
    const answers = Array.from({ length: 10 }, () => send(trigger));
    await arrived(10);
    open();
    const statuses = (await Promise.all(answers)).map((answer) => `${answer.status} ${answer.body.outcome}`);
    expect(statuses.sort()).toEqual(['202 repeat', ...Array(8).fill('202 repeat'), '202 started'].sort());
    expect(calls.filter((call) => call.workflowId === workflowIdFor(key)).map((call) => call.rpc)).toEqual([
      'signalWithStartWorkflowExecution',
    ]);
    expect(await eventually(`one run of ${key} listed`, async () => (await h.runCount(key)) === 1)).toBe(true);
  });

  it('answers every copy 503 when Temporal does not accept, remembers nothing, and sends the next one to Temporal', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const eventId = uniqueId('EV');
    const trigger = pagerDuty(TRIGGERED, id, eventId);
    const arrived = arrivals(eventId);
    const open = holdTemporal();
    failure = Object.assign(new Error('injected: Temporal is unavailable'), { code: 14 });
    const answers = Array.from({ length: 5 }, () => send(trigger));
    await arrived(5);
    open();
    expect((await Promise.all(answers)).map((answer) => answer.status)).toEqual([503, 503, 503, 503, 503]);
    expect(callsFor(key)).toBe(1);
    expect(await h.exists(key)).toBe(false);

    failure = undefined;
    gate = undefined;
    expect(await send(trigger)).toMatchObject({ status: 202, body: { outcome: 'started' } });
    expect(callsFor(key)).toBe(2);
  });

  it('sends a remembered delivery to Temporal again once a webhook resolved the incident: a new run acts on it', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const trigger = pagerDuty(TRIGGERED, id, uniqueId('EV'));
    await send(trigger);
    expect(await send(trigger)).toMatchObject({ body: { outcome: 'repeat' } });
    expect(await send(pagerDuty(RESOLVED, id, uniqueId('EV')))).toMatchObject({ status: 202, body: { outcome: 'signaled' } });
    await h.client.workflow.getHandle(workflowIdFor(key)).result();
    const before = callsFor(key);
    // The closed run's de-duplication went with it: the run decides, and a new run opens.
    expect(await send(trigger)).toMatchObject({ status: 202, body: { outcome: 'started' } });
    expect(callsFor(key)).toBe(before + 1);
  });

  it('sends a remembered delivery to Temporal again once the API resolved the incident', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const trigger = pagerDuty(TRIGGERED, id, uniqueId('EV'));
    await send(trigger);
    await eventually(`${key} open`, async () => (await h.state(key)).timeline.length > 0);
    const resolved = await h.post(`/incidents/${key}/resolve`, '{}', {
      'content-type': 'application/json',
      authorization: `Bearer ${API_TOKEN}`,
    });
    expect(resolved).toMatchObject({ status: 200, body: { outcome: 'resolved' } });
    await h.client.workflow.getHandle(workflowIdFor(key)).result();
    const before = callsFor(key);
    expect(await send(trigger)).toMatchObject({ status: 202, body: { outcome: 'started' } });
    expect(callsFor(key)).toBe(before + 1);
  });

  it('sends every repeat to Temporal without a memory', async () => {
    const id = uniqueId('PD');
    const key = incidentKey('pagerduty', id);
    const normalised = normalisePagerDuty(JSON.parse(pagerDuty(TRIGGERED, id, uniqueId('EV')).raw));
    const event = (normalised as { event: IncidentEvent }).event;
    const dispatcher = new Dispatcher(h.client, h.config.temporal.taskQueue, new AcceptedDeliveries({ capacity: 0, ttlMs: 60_000 }));
    expect(await dispatcher.dispatch(event)).toMatchObject({ outcome: 'started' });
    expect(await dispatcher.dispatch(event)).toMatchObject({ outcome: 'signaled' });
    expect(callsFor(key)).toBe(2);
  });
});

describe('the memory of accepted deliveries', () => {
  const clock = { now: 0 };
  const memory = (capacity: number, ttlMs = 60_000) => new AcceptedDeliveries({ capacity, ttlMs, now: () => clock.now });

  it('holds an id for its incident only, until its time is up', () => {
    clock.now = 1_000;
    const accepted = memory(10, 5_000);
    accepted.remember('incident-pagerduty-p1', 'EV1', accepted.begin());
    expect(accepted.has('incident-pagerduty-p1', 'EV1')).toBe(true);
    expect(accepted.has('incident-pagerduty-p2', 'EV1')).toBe(false);
    expect(accepted.has('incident-victorops-p1', 'EV1')).toBe(false);
    clock.now += 4_999;
    expect(accepted.has('incident-pagerduty-p1', 'EV1')).toBe(true);
    clock.now += 1;
    expect(accepted.has('incident-pagerduty-p1', 'EV1')).toBe(false);
    expect(accepted.size).toBe(0);
  });

  it('holds at most its capacity, letting the oldest go, and at most a tenth of the run’s ids per incident', () => {
    const accepted = memory(50);
    for (let n = 0; n < 120; n += 1) accepted.remember(`incident-api-i${n}`, 'EV', accepted.begin());
    expect(accepted.size).toBe(50);
    expect(accepted.has('incident-api-i69', 'EV')).toBe(false);
    expect(accepted.has('incident-api-i70', 'EV')).toBe(true);
    expect(accepted.has('incident-api-i119', 'EV')).toBe(true);

    const roomy = memory(10_000);
    for (let n = 0; n < IDS_PER_INCIDENT + 20; n += 1) roomy.remember('incident-api-busy', `EV${n}`, roomy.begin());
    expect(roomy.size).toBe(IDS_PER_INCIDENT);
    expect(roomy.has('incident-api-busy', 'EV19')).toBe(false);
    expect(roomy.has('incident-api-busy', 'EV20')).toBe(true);
  });

  it('forgets an incident, and what calls already under way for it learn, but not what later calls learn', () => {
    const accepted = memory(100);
    accepted.remember('incident-api-a', 'EV1', accepted.begin());
    accepted.remember('incident-api-b', 'EV1', accepted.begin());
    const underWay = accepted.begin();
    accepted.forget('incident-api-a');
    expect(accepted.has('incident-api-a', 'EV1')).toBe(false);
    expect(accepted.has('incident-api-b', 'EV1')).toBe(true);
    accepted.remember('incident-api-a', 'EV2', underWay);
    expect(accepted.has('incident-api-a', 'EV2')).toBe(false);
    accepted.remember('incident-api-a', 'EV3', accepted.begin());
    expect(accepted.has('incident-api-a', 'EV3')).toBe(true);
  });

  it('lets go of the old run’s ids when a call started a new run, and keeps the new one', () => {
    const accepted = memory(100);
    accepted.remember('incident-api-a', 'EV1', accepted.begin());
    const olderCall = accepted.begin();
    accepted.remember('incident-api-a', 'EV2', accepted.begin(), true);
    accepted.remember('incident-api-a', 'EV3', olderCall);
    expect(['EV1', 'EV2', 'EV3'].map((id) => accepted.has('incident-api-a', id))).toEqual([false, true, false]);
  });

  it('keeps nothing when turned off', () => {
    const accepted = memory(0);
    accepted.remember('incident-api-a', 'EV1', accepted.begin());
    expect(accepted.has('incident-api-a', 'EV1')).toBe(false);
  });
});
