import { condition, continueAsNew, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities, StepInput, StepOutcome } from '../activities/index.js';
import type { TimelineEntry } from '../shared/incident.js';
import {
  attachIncidentSignal,
  detachIncidentSignal,
  statusPageQuery,
  type StatusPageAttach,
  type StatusPageState,
} from '../shared/messages.js';
import { vendorCall } from './activity-options.js';
import { TIMELINE_LIMIT } from './incident-state.js';
import { failureDetail } from './step-runner.js';

const steps = proxyActivities<Activities>(vendorCall);

export interface StatusPageWorkflowInput {
  monitor: string;
  /** Set only by continue-as-new. */
  carried?: StatusPageState;
}

type Change = ({ kind: 'attach' } & StatusPageAttach) | { kind: 'detach'; key: string; resolvedBy: string };

/**
 * One run per monitor while any of its incidents is open (combined alerts): the first incident
 * to attach creates the shared StatusCast incident, later ones join it, and when the last one
 * detaches it is closed with the monitor's closing comment (or left open when auto-close is off).
 */
export async function statusPageWorkflow(input: StatusPageWorkflowInput): Promise<StatusPageState> {
  const { workflowId } = workflowInfo();
  const state: StatusPageState = input.carried ?? { monitor: input.monitor, attached: [], incidents: [], closed: false, timeline: [] };
  const changes: Change[] = [];
  /** Incidents that were part of an episode that already ended: their late signals change nothing. */
  let episodeKey = state.incidents[0];

  setHandler(attachIncidentSignal, (attach) => void changes.push({ kind: 'attach', ...attach }));
  setHandler(detachIncidentSignal, (detach) => void changes.push({ kind: 'detach', ...detach }));
  setHandler(statusPageQuery, () => state);

  /** The latest entries only, like an incident's: the whole record stays in the run's history. */
  const record = (entry: Omit<TimelineEntry, 'at'>) => {
    state.timeline.push({ at: new Date().toISOString(), ...entry });
    if (state.timeline.length > TIMELINE_LIMIT) state.timeline.splice(0, state.timeline.length - TIMELINE_LIMIT);
  };

  const stepInput = (title: string, extra: Partial<StepInput> = {}): StepInput => ({
    key: episodeKey ?? workflowId,
    workflowId,
    source: 'api',
    externalId: episodeKey ?? workflowId,
    title,
    service: state.monitor,
    status: 'triggered',
    links: [],
    responders: [],
    assignees: [],
    refs: {},
    statusPage: {
      monitor: state.monitor,
      // One StatusCast incident per episode, named after the incident that opened it: a retry finds it.
      externalId: `${workflowId}/${episodeKey ?? ''}`,
      id: state.statusPageId,
      incidents: state.incidents.length,
    },
    ...extra,
  });

  const run = async (what: string, call: () => Promise<StepOutcome>): Promise<StepOutcome | undefined> => {
    try {
      const outcome = await call();
      record({ actor: 'warroom', what, outcome: outcome.status === 'done' ? 'ok' : 'skipped', detail: outcome.detail });
      return outcome;
    } catch (err) {
      const detail = failureDetail(err);
      record({ actor: 'warroom', what, outcome: 'failed', detail });
      log.error('status page step failed', { monitor: state.monitor, error: detail });
      return undefined;
    }
  };

  let lastTitle = '';
  for (;;) {
    await condition(() => changes.length > 0 || (workflowInfo().continueAsNewSuggested && state.attached.length > 0));
    if (changes.length === 0) await continueAsNew<typeof statusPageWorkflow>({ monitor: state.monitor, carried: state });
    const change = changes.shift() as Change;
    if (change.kind === 'attach') {
      if (state.attached.includes(change.key)) continue;
      state.attached.push(change.key);
      if (!state.incidents.includes(change.key)) state.incidents.push(change.key);
      episodeKey ??= change.key;
      lastTitle = change.title;
      record({ actor: change.key, what: 'incident joined', outcome: 'ok', detail: change.title });
      if (!state.statusPageId) {
        const posted = await run('post status page', () => steps.postStatusPage(stepInput(change.title)));
        if (posted?.status === 'done') {
          state.statusPageId = posted.ref;
          state.statusPageUrl = posted.url;
        }
      } else {
        await run('update status page', () => steps.updateStatusPage(stepInput(change.title)));
      }
      continue;
    }
    if (!state.attached.includes(change.key)) {
      record({ actor: change.resolvedBy, what: `incident ${change.key} left`, outcome: 'ignored', detail: 'it was not attached' });
      continue;
    }
    state.attached = state.attached.filter((key) => key !== change.key);
    record({ actor: change.resolvedBy, what: `incident ${change.key} left`, outcome: 'ok', detail: `${state.attached.length} still open` });
    if (state.attached.length > 0) continue;
    if (state.statusPageId) await run('close status page', () => steps.closeStatusPage(stepInput(lastTitle, { actor: change.resolvedBy })));
    state.closed = true;
    // Incidents that attached while the page was closing start a new episode in this same run.
    if (changes.length === 0) return state;
    state.statusPageId = undefined;
    state.statusPageUrl = undefined;
    state.closed = false;
    state.incidents = [];
    episodeKey = undefined;
  }
}
