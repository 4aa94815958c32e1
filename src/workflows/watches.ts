/**
 * The durable timers an open incident lives with: it escalates when nobody acknowledges it in time,
 * and its room is asked for a status update at intervals. Timers are Temporal's, so a worker
 * restart never loses one; their deadlines live in the incident's state, so a continued run keeps them.
 * Settings without them (runs recorded before 0.3) start no timer at all.
 */
import { condition } from '@temporalio/workflow';
import type { Effect, Incident } from './incident-state.js';
import type { StepRunner } from './step-runner.js';

/** Never wait less than this: a deadline that passed while no worker ran fires right away, once. */
const SOONEST_MS = 1000;

export class Watches {
  /** Each opening of the incident starts a generation; a watch of an older one stops. */
  private generation = 0;

  constructor(
    private readonly incident: Incident,
    private readonly runner: StepRunner,
    private readonly perform: (effects: Effect[]) => void,
  ) {}

  /** Starts (or restarts, after a reopen) the escalation and reminder timers. */
  start(): void {
    const generation = ++this.generation;
    void this.escalation(generation);
    void this.reminders(generation);
  }

  /** Unacknowledged when the wait runs out: the incident escalates. An acknowledge or resolve from any source ends the wait. */
  private async escalation(generation: number): Promise<void> {
    const { escalateAfterMs } = await this.runner.settingsForClose();
    const over = () => generation !== this.generation || this.incident.status !== 'triggered';
    if (!escalateAfterMs || over()) return;
    const wait = this.incident.escalationDue(escalateAfterMs);
    if (wait === undefined) return;
    if (await condition(over, Math.max(wait, SOONEST_MS))) return;
    this.perform(this.incident.escalate());
  }

  /** Every interval while the incident is open, the room is asked for an update unless someone posted one. Resolve ends it. */
  private async reminders(generation: number): Promise<void> {
    const { remindEveryMs } = await this.runner.settingsForClose();
    if (!remindEveryMs) return;
    const over = () => generation !== this.generation || this.incident.status === 'resolved';
    while (!over()) {
      if (await condition(over, Math.max(this.incident.reminderDue(remindEveryMs), SOONEST_MS))) return;
      this.perform(this.incident.remind());
    }
  }
}
