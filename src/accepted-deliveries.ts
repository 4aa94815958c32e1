/**
 * The deliveries this API process has had accepted by Temporal, so that a repeat is answered
 * without another round trip. The incident's run stays the judge: it drops repeats by event id,
 * but only within one run (a new run after close knows none of the old run's ids). So the memory
 * never holds an id past the point where this process knows the run may have ended (see
 * `Dispatcher`), and holds each only for a short while and a bounded number per incident.
 */
import { SEEN_EVENT_LIMIT } from './workflows/incident-state.js';

export interface AcceptedDeliveriesOptions {
  /** Most delivery ids held at once; 0 holds none. */
  capacity: number;
  /** How long an id is held after Temporal accepted it. */
  ttlMs: number;
  /** A clock in milliseconds (tests move it). */
  now?: () => number;
}

/**
 * Ids held per incident: a tenth of what the run remembers, so that with up to ten API processes
 * the run still holds every id any of them holds (it forgets its oldest past SEEN_EVENT_LIMIT).
 */
export const IDS_PER_INCIDENT = SEEN_EVENT_LIMIT / 10;

/** How long a forgetting is kept; a call that began before one let go of is not remembered at all. */
const FORGETTING_KEPT_MS = 60_000;

interface Held {
  workflowId: string;
  expiresAt: number;
}

/** A bounded, expiring set of (incident, delivery id) that Temporal accepted. */
export class AcceptedDeliveries {
  readonly capacity: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Held ids by `<workflowId> <eventId>`, in the order they were accepted (so also of expiry). */
  private readonly held = new Map<string, Held>();
  /** Each incident's held keys, oldest first. */
  private readonly byIncident = new Map<string, Set<string>>();
  /** When each incident was last forgotten (a call number): what a call that began before it learned is not kept. */
  private readonly forgotten = new Map<string, { call: number; at: number }>();
  /** Forgettings let go of (old, or too many) were at most this call: calls that began by then are kept for no incident. */
  private forgottenUpTo = 0;
  private calls = 0;

  constructor(options: AcceptedDeliveriesOptions) {
    this.capacity = Math.max(0, Math.floor(options.capacity));
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
  }

  /** How many ids are held. */
  get size(): number {
    return this.held.size;
  }

  /** Whether Temporal accepted this delivery for this incident within the last `ttlMs`, as far as this process knows. */
  has(workflowId: string, eventId: string): boolean {
    const key = heldKey(workflowId, eventId);
    const held = this.held.get(key);
    if (!held) return false;
    if (held.expiresAt > this.now()) return true;
    this.drop(key, workflowId);
    return false;
  }

  /** Marks the start of a Temporal call: pass the answer to `remember` once the call is accepted. */
  begin(): number {
    return ++this.calls;
  }

  /**
   * Holds the id of a delivery Temporal accepted in the call `call`, unless the incident was
   * forgotten since that call began. `newRun`: the call started a new run, which knows none of
   * the ids held for the incident before.
   */
  remember(workflowId: string, eventId: string, call: number, newRun = false): void {
    if (this.capacity === 0) return;
    const stale = call <= this.forgottenUpTo || (this.forgotten.get(workflowId)?.call ?? 0) >= call;
    if (newRun) this.forget(workflowId);
    if (stale) return;
    const now = this.now();
    this.expire(now);
    const key = heldKey(workflowId, eventId);
    this.drop(key, workflowId);
    this.held.set(key, { workflowId, expiresAt: now + this.ttlMs });
    let keys = this.byIncident.get(workflowId);
    if (!keys) this.byIncident.set(workflowId, (keys = new Set()));
    keys.add(key);
    if (keys.size > IDS_PER_INCIDENT) this.drop(keys.values().next().value as string, workflowId);
    for (const [oldest, { workflowId: owner }] of this.held) {
      if (this.held.size <= this.capacity) break;
      this.drop(oldest, owner);
    }
  }

  /** Lets go of every id of the incident, and of what calls already under way for it will learn: its run may end. */
  forget(workflowId: string): void {
    if (this.capacity === 0) return;
    for (const key of this.byIncident.get(workflowId) ?? []) this.held.delete(key);
    this.byIncident.delete(workflowId);
    const now = this.now();
    this.forgotten.delete(workflowId);
    this.forgotten.set(workflowId, { call: ++this.calls, at: now });
    for (const [oldest, forgetting] of this.forgotten) {
      if (forgetting.at > now - FORGETTING_KEPT_MS && this.forgotten.size <= this.capacity) break;
      this.forgotten.delete(oldest);
      this.forgottenUpTo = Math.max(this.forgottenUpTo, forgetting.call);
    }
  }

  /** Drops the ids held past their time (the oldest come first). */
  private expire(now: number): void {
    for (const [key, { workflowId, expiresAt }] of this.held) {
      if (expiresAt > now) break;
      this.drop(key, workflowId);
    }
  }

  private drop(key: string, workflowId: string): void {
    if (!this.held.delete(key)) return;
    const keys = this.byIncident.get(workflowId);
    keys?.delete(key);
    if (keys?.size === 0) this.byIncident.delete(workflowId);
  }
}

/** Workflow ids hold no spaces (`incident-<key>`), so the pair cannot collide with another. */
const heldKey = (workflowId: string, eventId: string) => `${workflowId} ${eventId}`;
