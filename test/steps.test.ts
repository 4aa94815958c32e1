import { describe, expect, it } from 'vitest';
import type { IncidentSettings } from '../src/activities/index.js';
import { PATHS, STEPS, stepInput, type After, type FollowUp, type StepContext, type StepSpec } from '../src/workflows/steps.js';
import { incidentState } from './states.js';

// The step table is data every path reads: these checks keep it runnable.

const table = STEPS as Record<string, StepSpec>;
const names = Object.keys(table);
const nameOf = (ref: After | FollowUp) => (typeof ref === 'string' ? ref : ref.step);

const state = incidentState;

const settings = (extra: Partial<IncidentSettings> = {}): Promise<IncidentSettings> =>
  Promise.resolve({ changeEvents: false, failureAlerts: false, archiveDelayMs: 1000, ...extra });
const context = (extra: Partial<StepContext> = {}): StepContext => ({
  state: state(),
  settings: settings(),
  assigneeEmails: Promise.resolve([]),
  runId: 'run-1',
  ...extra,
});

describe('the step table', () => {
  it('names only steps it declares, in every path, dependency and follow-up', () => {
    const referenced = [
      ...Object.values(PATHS).flat(),
      ...Object.values(table).flatMap((spec) => [
        ...(spec.needs ?? []),
        ...(spec.after ?? []).map(nameOf),
        ...(spec.then ?? []).map(nameOf),
      ]),
      ...Object.values(table).flatMap((spec) => (spec.then ?? []).flatMap((next) => (typeof next === 'string' ? [] : [next.onlyIfRan]))),
    ];
    expect(referenced.filter((name) => !names.includes(name))).toEqual([]);
  });

  it('has no cycle through what steps wait for (needs and after), so no path can wait forever', () => {
    const waitsFor = (name: string) => [...(table[name]?.needs ?? []), ...(table[name]?.after ?? []).map(nameOf)];
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      if (visiting.has(name)) return void cycles.push([...path, name].join(' → '));
      visiting.add(name);
      for (const next of waitsFor(name)) visit(next, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    names.forEach((name) => visit(name, []));
    expect(cycles).toEqual([]);
  });

  it('reaches every step from some path, directly or as a follow-up', () => {
    const reached = new Set<string>();
    const reach = (name: string) => {
      if (reached.has(name)) return;
      reached.add(name);
      for (const next of table[name]?.then ?? []) reach(nameOf(next));
    };
    Object.values(PATHS).flat().forEach(reach);
    expect(names.filter((name) => !reached.has(name))).toEqual([]);
  });

  it('tells the source tool only about changes made elsewhere, and only its own tool', async () => {
    const sync = (source: string, origin: string) =>
      table.pagerdutySync!.when!(context({ state: state({ source }), change: { status: 'acknowledged', origin } }));
    expect(await sync('pagerduty', 'slack')).toBe(true);
    expect(await sync('pagerduty', 'pagerduty')).toBe(false);
    expect(await sync('victorops', 'slack')).toBe(false);
    expect(await sync('alertmanager', 'api')).toBe(false);
  });

  it("skips the status page with the reason when no monitor applies, and waits the monitor's wait time when one does", async () => {
    const none = await table.statusPage!.when!(context({ settings: settings({ noStatusPage: 'no status-page monitor for service "x"' }) }));
    expect(none).toEqual({ skip: 'no status-page monitor for service "x"' });
    const plan = { monitor: 'checkout-api', waitMs: 90_000, combineAlerts: false, autoPublish: true, autoClose: true };
    const ctx = context({ settings: settings({ statusPage: plan }) });
    expect(await table.statusPage!.when!(ctx)).toBe(true);
    expect(await table.statusPage!.delay!(ctx)).toMatchObject({ ms: 90_000, waiting: 'waiting 90 s (monitor "checkout-api")' });
  });

  it('gives each step the ticket, channel and summary once they exist, and who the status is by', () => {
    const withRoom = state({
      status: 'acknowledged',
      acknowledgedBy: 'dana',
      steps: {
        jiraTicket: { status: 'done', ref: 'RLY-7', url: 'https://jira.example.com/browse/RLY-7' },
        slackChannel: { status: 'done', ref: 'C0ROOM', name: 'team-relay-production-incident-x' },
        slackSummary: { status: 'failed', detail: 'Slack: 500' },
      },
    });
    const input = stepInput(withRoom, ['PUSR1']);
    expect(input).toMatchObject({
      ticket: { key: 'RLY-7' },
      channel: { id: 'C0ROOM', name: 'team-relay-production-incident-x' },
      actor: 'dana',
      refs: { jiraTicket: 'RLY-7', slackChannel: 'C0ROOM' },
      assignees: ['PUSR1'],
    });
    expect(input.summary).toBeUndefined();
    expect(stepInput(withRoom, [], { status: 'resolved', actor: 'ana', origin: 'slack' })).toMatchObject({
      status: 'resolved',
      actor: 'ana',
      origin: 'slack',
    });
  });

  it('writes the postmortem after every other close-out step, on the ticket, named by the run and the resolve', async () => {
    const postmortem = table.postmortem!;
    expect(postmortem.needs).toEqual(['jiraTicket']);
    expect(postmortem.budget).toBe('jira');
    const closeOut = PATHS.closeOut as readonly string[];
    expect([...(postmortem.after ?? [])].map(nameOf).sort()).toEqual([...closeOut].sort());
    expect(closeOut).not.toContain('postmortem');
    const resolved = state({ status: 'resolved', resolves: 2, details: { entity_id: 'db-1' } });
    const input = await postmortem.input!(context({ state: resolved, runId: 'run-7' }));
    expect(input.postmortem).toMatchObject({ runId: 'run-7', resolve: 2, incident: { key: 'api-x', resolves: 2 } });
    expect(input.postmortem!.incident.details).toBeUndefined();
    expect(await postmortem.when!(context({ state: resolved }))).toBe(true);
    expect(await postmortem.when!(context({ state: state({ status: 'triggered', resolves: 1 }) }))).toEqual({
      skip: 'the incident is open again: its next resolve writes the postmortem',
    });
  });
});
