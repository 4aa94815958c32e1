/**
 * One run per incident: every webhook, click and API call for it lands here. The score only: the
 * state and its rules are in incident-state.ts, the steps in steps.ts, running them in step-runner.ts.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { IncidentSettings } from '../activities/index.js';
import type { IncidentEvent, IncidentState } from '../shared/incident.js';
import { actorNoteSchema, incidentEventSchema, noteSchema, readMessage } from '../shared/message-schemas.js';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  incidentEventSignal,
  incidentQuery,
  noteSignal,
  noteUpdate,
  resolveSignal,
  resolveUpdate,
  retrySignal,
  retryUpdate,
} from '../shared/messages.js';
import { severityKey, statusKey } from '../shared/search-attributes.js';
import { Incident, type CarriedIncident, type Effect, type LegacyCarried } from './incident-state.js';
import { legacyIncidentWorkflow } from './legacy/incident-v1.js';
import { StepRunner } from './step-runner.js';
import { PATHS } from './steps.js';
import { Watches } from './watches.js';

export interface IncidentWorkflowInput {
  key: string;
  source: string;
  externalId: string;
  /** Set only by continue-as-new: the incident so far (from this version, or from a 0.1 run). */
  carried?: CarriedIncident | LegacyCarried;
  /** Settings the previous run read (continue-as-new). */
  settings?: IncidentSettings;
  /** Webhooks that reached the previous run after it had closed: this run starts with them. */
  events?: IncidentEvent[];
  /**
   * Vendor calls skip the budgets' task queues (VENDOR_BUDGETS=false where the run was started):
   * they run on the workflows' own queue, dispatched eagerly, unpaced. Absent: paced.
   */
  unpaced?: true;
}

/** Patch id of this workflow's second version (issue 9); runs without it are 0.1's. Never rename. */
export const CORE_V2 = 'core-v2';

/**
 * Patch id of the postmortem step (issue 12): a close-out that records it writes the postmortem; a
 * close-out recorded before it replays without one, so runs open at the upgrade replay unchanged. Never rename.
 */
export const POSTMORTEM_V1 = 'postmortem-v1';

/** One run per incident: opens the war room, tells everyone of every change, closes out, archives. */
export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentState> {
  // Runs recorded by warroom 0.1 keep 0.1's code, so they replay and finish unchanged (CHANGELOG.md).
  if (!patched(CORE_V2)) return legacyIncidentWorkflow(input as Parameters<typeof legacyIncidentWorkflow>[0]);

  const { workflowId } = workflowInfo();
  const incident = input.carried
    ? Incident.resume(input.carried)
    : Incident.start({ key: input.key, workflowId, source: input.source, externalId: input.externalId });
  const runner = new StepRunner(incident, input.settings, !input.unpaced);
  const perform = (effects: Effect[]) => effects.forEach((effect) => performEffect(effect, runner, watches));
  const watches = new Watches(incident, runner, perform);
  listen(incident, runner, perform);
  // A continued run picks up the timers of an open incident where the last one left them.
  if (incident.opened && incident.status !== 'resolved') watches.start();
  for (const event of input.events ?? []) perform(incident.receive(event));

  const resolved = () => incident.status === 'resolved';
  for (;;) {
    await condition(() => resolved() || workflowInfo().continueAsNewSuggested);
    if (!resolved()) {
      await settled(runner);
      if (resolved()) continue;
      const next: IncidentWorkflowInput = { key: input.key, source: input.source, externalId: input.externalId, ...paced(input) };
      return continueAsNew<typeof incidentWorkflow>({ ...next, carried: incident.carry(), settings: runner.carriedSettings });
    }
    if ((await closeOut(incident, runner, perform)) === 'closed') break;
  }
  incident.close();
  await settled(runner);
  // A new alert that reached this run as it closed opens a new run instead of being lost.
  if (incident.late.length > 0) {
    return continueAsNew<typeof incidentWorkflow>({
      key: input.key,
      source: input.source,
      externalId: input.externalId,
      ...paced(input),
      events: incident.late,
    });
  }
  return incident.state;
}

/** How the next run calls vendors: as this one did. */
const paced = (input: IncidentWorkflowInput): Pick<IncidentWorkflowInput, 'unpaced'> => (input.unpaced ? { unpaced: true } : {});

/**
 * Resolve: everything the open incident started finishes, then the ticket, status page, tools and
 * room are closed out, and the postmortem goes on the ticket. The channel stays readable for the
 * archive delay (a durable timer); a new alert meanwhile reopens the incident in the same room.
 */
async function closeOut(incident: Incident, runner: StepRunner, perform: (effects: Effect[]) => void): Promise<'reopened' | 'closed'> {
  if (!incident.opened) return 'closed';
  incident.holdEvents();
  await settled(runner);
  await runner.run(patched(POSTMORTEM_V1) ? [...PATHS.closeOut, ...PATHS.postmortem] : PATHS.closeOut, incident.resolution);
  perform(incident.releaseEvents());
  if (incident.status !== 'resolved') return 'reopened';
  if (incident.state.steps.slackChannel?.status !== 'done') return 'closed';
  if (await condition(() => incident.status !== 'resolved', (await runner.settingsForClose()).archiveDelayMs)) return 'reopened';
  incident.holdEvents();
  await runner.run(PATHS.archive);
  return 'closed';
}

/** Every handler and background step has finished: safe to continue as new or complete. */
function settled(runner: StepRunner): Promise<void> {
  return condition(() => runner.idle && allHandlersFinished());
}

function performEffect(effect: Effect, runner: StepRunner, watches: Watches): void {
  switch (effect.kind) {
    case 'searchAttributes':
      upsertSearchAttributes([
        ...(effect.status ? [{ key: statusKey, value: effect.status }] : []),
        ...(effect.severity ? [{ key: severityKey, value: effect.severity }] : []),
      ]);
      return;
    case 'openWarRoom':
      runner.open();
      return;
    case 'announce':
      void runner.run(PATHS.announce, effect.change);
      return;
    case 'watch':
      watches.start();
      return;
    case 'escalate':
      void runner.run(PATHS.escalate);
      return;
    case 'remind':
      void runner.run(PATHS.remind);
      return;
  }
}

/**
 * Signals (fire-and-forget, for other services) and updates (truthful answers, for the API and
 * Slack) share one rule each; a malformed or refused message changes nothing and goes on the record.
 */
function listen(incident: Incident, runner: StepRunner, perform: (effects: Effect[]) => void): void {
  setHandler(incidentQuery, () => incident.state);

  setHandler(incidentEventSignal, (payload: unknown) => {
    const read = readMessage(incidentEventSchema, payload);
    if ('problem' in read) return incident.ignore('signal', 'incidentEvent signal', `malformed: ${read.problem}`);
    perform(incident.receive(read.value));
  });

  for (const [signal, update, kind] of [
    [acknowledgeSignal, acknowledgeUpdate, 'acknowledge'],
    [resolveSignal, resolveUpdate, 'resolve'],
  ] as const) {
    setHandler(signal, (payload: unknown) => {
      const read = readMessage(actorNoteSchema, payload);
      if ('problem' in read) return incident.ignore('signal', `${kind} signal`, `malformed: ${read.problem}`);
      const refusal = incident.refusal(kind);
      if (refusal) return incident.ignore(read.value.by, `${kind} signal`, refusal);
      perform(incident.act(kind, read.value));
    });
    setHandler(
      update,
      (payload) => {
        perform(incident.act(kind, actorNoteSchema.parse(payload)));
        return incident.summary();
      },
      { validator: (payload: unknown) => refuseUnless(readMessage(actorNoteSchema, payload), incident.refusal(kind)) },
    );
  }

  setHandler(noteSignal, (payload: unknown) => {
    const read = readMessage(noteSchema, payload);
    if ('problem' in read) return incident.ignore('signal', 'note signal', `malformed: ${read.problem}`);
    const refusal = incident.noteRefusal();
    if (refusal) return incident.ignore(read.value.by, 'note', refusal);
    // A repeat of a note's id is dropped quietly, as a repeated webhook is.
    incident.note(read.value);
  });
  setHandler(noteUpdate, (payload) => incident.note(noteSchema.parse(payload)), {
    validator: (payload: unknown) => {
      const read = readMessage(noteSchema, payload);
      refuseUnless(read, 'value' in read ? incident.noteRefusal(read.value) : undefined);
    },
  });

  setHandler(retrySignal, (payload: unknown) => {
    const read = readMessage(actorNoteSchema, payload);
    if ('problem' in read) return incident.ignore('signal', 'retry signal', `malformed: ${read.problem}`);
    const refusal = runner.retryRefusal();
    if (refusal) return incident.ignore(read.value.by, 'retry failed steps', refusal);
    runner.retry(read.value);
  });
  setHandler(retryUpdate, (payload) => ({ retrying: runner.retry(actorNoteSchema.parse(payload)) }), {
    validator: (payload: unknown) => refuseUnless(readMessage(actorNoteSchema, payload), runner.retryRefusal()),
  });
}

/** An update's validator: rejects (nothing recorded, nothing changed) a malformed payload or a refusal. */
function refuseUnless(read: { problem: string } | { value: unknown }, refusal: string | undefined): void {
  if ('problem' in read) throw new Error(`malformed: ${read.problem}`);
  if (refusal) throw new Error(refusal);
}
