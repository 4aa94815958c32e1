/**
 * Issue 10, part 3: a cheaper door for repeats. The memory of deliveries Temporal accepted:
 * bounded, expiring, per incident, and forgetful where a run may end.
 */
import { describe, expect, it } from 'vitest';
import { AcceptedDeliveries, IDS_PER_INCIDENT } from '../src/accepted-deliveries.js';

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
