import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { asyncLocalStorage, type Context } from '@temporalio/activity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SPECS_PRESENT } from './fakes/openapi.js';
import {
  COMMENT_LIMIT,
  createJiraActivities,
  createJiraClient,
  postmortemFilename,
  postmortemMarker,
  ticketLabel,
  type JiraSettings,
} from '../src/activities/jira.js';
import type { StepInput } from '../src/activities/step.js';
import type { IncidentState, TimelineEntry } from '../src/shared/incident.js';
import { NON_RETRYABLE, RATE_LIMITED, UNAVAILABLE } from '../src/activities/errors.js';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { isAdfDocument, startJiraFake, type JiraFake } from './fakes/jira.js';
import { failureOf } from './activity-failures.js';
import { incidentState } from './states.js';

let fake: JiraFake;

beforeAll(async () => {
  fake = await startJiraFake();
});

afterAll(async () => {
  await fake?.stop();
});

beforeEach(() => {
  fake.reset();
});

const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown;

function settings(overrides: Partial<JiraSettings> = {}): JiraSettings {
  return {
    host: fake.url,
    email: fake.email,
    apiToken: fake.apiToken,
    projectKey: 'RLY',
    issueType: 'Task',
    labels: ['warroom'],
    ...overrides,
  };
}

/** The activities with a real jira.js client pointed at the fake; off-schema answers throw. */
function jiraActivities(overrides: Partial<JiraSettings> = {}, options: { timeoutMs?: number; lookupWaitMs?: number } = {}) {
  const s = settings(overrides);
  const jira = createJiraClient(s, { onSchemaMismatch: 'throw', timeoutMs: options.timeoutMs ?? 5_000 });
  return createJiraActivities({ jira, settings: s, lookupWaitMs: options.lookupWaitMs ?? 3_000 });
}

function incident(extra: Partial<StepInput> = {}): StepInput {
  const id = `P${randomUUID().slice(0, 8).toUpperCase()}`;
  const key = incidentKey('pagerduty', id);
  return {
    key,
    workflowId: workflowIdFor(key),
    source: 'pagerduty',
    externalId: id,
    title: 'checkout-api: 5xx rate above 5% for 10 minutes',
    severity: 'critical',
    service: 'checkout-api',
    status: 'triggered',
    links: [{ label: 'PagerDuty incident', url: `https://example.pagerduty.com/incidents/${id}` }],
    responders: [],
    assignees: [],
    refs: {},
    channel: { id: 'C0INC2231', name: 'team-relay-production-incident-x', url: 'https://example.slack.com/archives/C0INC2231' },
    runUrl: `http://localhost:8233/namespaces/default/workflows/${workflowIdFor(key)}`,
    triggeredAt: '2026-03-14T10:00:00.000Z',
    ...extra,
  };
}

/** Runs `fn` as attempt `attempt` of an activity, the way the worker's context would present it. */
function asAttempt<T>(attempt: number, fn: () => Promise<T>): Promise<T> {
  return asyncLocalStorage.run({ info: { attempt } } as unknown as Context, fn);
}

/** What every happy path must leave behind: no request the spec refused, no off-spec answer, nothing on v2. */
function expectCleanTraffic() {
  expect(fake.refusals().map((r) => `${r.method} ${r.path}: ${r.refused}`)).toEqual([]);
  expect(fake.responseProblems).toEqual([]);
  expect(fake.v2Requests()).toEqual([]);
}

const operations = () => fake.requests.map((r) => r.operation ?? `${r.method} ${r.path}`);
const textOf = (adf: unknown) => JSON.stringify(adf);

describe('openTicket', () => {
  it('creates one ticket with an ADF description and the incident label, then finds it instead of creating another', async () => {
    const jira = jiraActivities();
    const input = incident();

    const first = await jira.openTicket(input);
    const second = await jira.openTicket(input);

    expect(first).toEqual({ status: 'done', ref: 'RLY-1', url: `${fake.url}/browse/RLY-1`, detail: 'created RLY-1' });
    expect(second).toMatchObject({
      status: 'done',
      ref: 'RLY-1',
      url: `${fake.url}/browse/RLY-1`,
      detail: expect.stringMatching(/^found RLY-1/),
    });
    expect(fake.state.issues).toHaveLength(1);
    const [issue] = fake.state.issues;
    expect(issue!.fields.summary).toBe(input.title);
    expect(issue!.fields.labels).toEqual([ticketLabel(input.key), 'warroom']);
    expect(issue!.fields.issuetype.name).toBe('Task');
    const description = issue!.fields.description as unknown;
    expect(isAdfDocument(description)).toBe(true);
    for (const expected of ['critical', 'checkout-api', input.externalId, input.links[0]!.url, input.channel!.url!, input.runUrl!]) {
      expect(textOf(description)).toContain(expected);
    }
    expect(operations()).toEqual(['searchAndReconsileIssuesUsingJql', 'createIssue', 'searchAndReconsileIssuesUsingJql']);
    expectCleanTraffic();
  });

  it('keeps the summary within Jira limits: one line, at most 255 characters', async () => {
    const jira = jiraActivities();
    const outcome = await jira.openTicket(incident({ title: `disk full\non ${'db-'.repeat(80)}${'🔥'.repeat(40)}` }));
    expect(outcome.status).toBe('done');
    const summary = fake.state.issues[0]!.fields.summary as string;
    expect(summary.length).toBeLessThanOrEqual(255);
    expect(summary).not.toMatch(/\n/);
    expect(() => encodeURIComponent(summary)).not.toThrow(); // no emoji cut in half
    expectCleanTraffic();
  });

  it('search really lags: a first attempt cannot see an issue created a moment ago', async () => {
    // The control for the next test: without the retry's wait, "created then 500" duplicates.
    fake.searchLagMs = 60_000;
    fake.faults.set('createIssue', { applyThenFail: 1 });
    const jira = jiraActivities();
    const input = incident();
    await failureOf(jira.openTicket(input));
    await jira.openTicket(input);
    expect(fake.issuesWithLabel(ticketLabel(input.key))).toHaveLength(2);
  });

  it('creates exactly one ticket when the create is applied but answered 500 and search lags behind', async () => {
    fake.searchLagMs = 1_000;
    fake.faults.set('createIssue', { applyThenFail: true });
    const jira = jiraActivities({}, { lookupWaitMs: 5_000 });
    const input = incident();

    const failure = await failureOf(asAttempt(1, () => jira.openTicket(input)));
    expect(failure).toMatchObject({ type: UNAVAILABLE, nonRetryable: false });
    expect(failure.message).toContain('500');
    expect(fake.state.issues).toHaveLength(1);

    const started = Date.now();
    const retried = await asAttempt(2, () => jira.openTicket(input));
    expect(retried).toMatchObject({ status: 'done', ref: 'RLY-1', detail: expect.stringMatching(/^found RLY-1/) });
    // Found as soon as search shows it (1 s lag), well before the 5 s lookup window ends.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(fake.issuesWithLabel(ticketLabel(input.key))).toHaveLength(1);
    expect(operations().filter((op) => op === 'createIssue')).toHaveLength(1);
    expect(fake.refusals()).toEqual([]);
  });

  it('keeps polling through failed searches on a retry and still creates exactly one ticket', async () => {
    // Before, the first failed poll ended the attempt: at 30 % errors an attempt that must poll
    // out the search lag almost never got through, and the ticket starved (reliability suite).
    fake.searchLagMs = 1_000;
    fake.faults.set('createIssue', { applyThenFail: 1 });
    const jira = jiraActivities();
    const input = incident();
    await failureOf(asAttempt(1, () => jira.openTicket(input)));
    fake.faults.set('searchAndReconsileIssuesUsingJql', { errors: 2 });
    const retried = await asAttempt(2, () => jira.openTicket(input));
    expect(retried).toMatchObject({ status: 'done', ref: 'RLY-1', detail: expect.stringMatching(/^found RLY-1/) });
    const searches = fake.requests.filter((request) => request.operation === 'searchAndReconsileIssuesUsingJql');
    expect(searches.filter((request) => request.status === 500)).toHaveLength(2);
    expect(fake.issuesWithLabel(ticketLabel(input.key))).toHaveLength(1);
  });

  it('still ends a retried attempt at once on a 429, so Retry-After is honoured', async () => {
    fake.faults.set('searchAndReconsileIssuesUsingJql', { rateLimit: { count: 1, retryAfterSeconds: 5 } });
    const failure = await failureOf(asAttempt(2, () => jiraActivities().openTicket(incident())));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 5_000 });
    expect(fake.state.issues).toHaveLength(0);
  });

  it('turns a 429 into a rate-limited failure whose next retry waits exactly Retry-After', async () => {
    fake.faults.set('searchAndReconsileIssuesUsingJql', { rateLimit: { count: 1, retryAfterSeconds: 7 } });
    const failure = await failureOf(jiraActivities().openTicket(incident()));
    expect(failure).toMatchObject({ type: RATE_LIMITED, nonRetryable: false, nextRetryDelay: 7_000 });
    expect(fake.state.issues).toHaveLength(0);
  });

  it('fails for good with Jira own words when a required custom field is missing', async () => {
    fake.requiredFields = { customfield_10050: 'Customer impact' };
    const failure = await failureOf(jiraActivities().openTicket(incident()));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain('customfield_10050: Customer impact is required.');
    expect(fake.state.issues).toHaveLength(0);
  });

  it('fails for good on a label with spaces, with the body Jira sends', async () => {
    const failure = await failureOf(jiraActivities({ labels: ['orders db'] }).openTicket(incident()));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain("labels: The label 'orders db' contains spaces which is invalid.");
    const refused = fake.requests.find((r) => r.operation === 'createIssue');
    expect(JSON.parse(refused!.refused!)).toEqual(fixtureJson('jira-error-400-labels.json'));
  });

  it('fails for good on bad credentials and never repeats the token', async () => {
    const token = 'wrong-token-do-not-print';
    const failure = await failureOf(jiraActivities({ apiToken: token }).openTicket(incident()));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain('401');
    expect(JSON.stringify({ message: failure.message, details: failure.details })).not.toContain(token);
    expect(fake.requests.map((r) => r.status)).toEqual([401]);
  });

  it('retries (unavailable) on a 5xx and on a request Jira never answers', async () => {
    fake.faults.set('*', { errors: 1 });
    expect(await failureOf(jiraActivities().openTicket(incident()))).toMatchObject({ type: UNAVAILABLE, nonRetryable: false });

    fake.faults.set('*', { hang: 1 });
    const failure = await failureOf(jiraActivities({}, { timeoutMs: 200 }).openTicket(incident()));
    expect(failure).toMatchObject({ type: UNAVAILABLE, nonRetryable: false });
    expect(failure.message).toContain('no answer within 200 ms');
  });

  it('answers "not configured" without settings', async () => {
    const jira = createJiraActivities();
    for (const outcome of [
      await jira.openTicket(incident()),
      await jira.commentTicket(incident()),
      await jira.transitionTicket(incident()),
    ]) {
      expect(outcome).toEqual({ status: 'skipped', detail: 'not configured (Jira)' });
    }
  });
});

describe('on resolve', () => {
  async function openedTicket() {
    const jira = jiraActivities();
    const input = incident();
    const opened = await jira.openTicket(input);
    if (opened.status !== 'done' || !opened.ref) throw new Error('no ticket');
    return { jira, input: { ...input, ticket: { key: opened.ref, url: opened.url }, actor: 'Dana Oncall', note: 'rolled back 4.2.1' } };
  }

  it('comments again for the resolve after a reopen, and once for each resolve', async () => {
    const { jira, input } = await openedTicket();
    expect(await jira.commentTicket({ ...input, resolve: 1 })).toMatchObject({ detail: 'commented on RLY-1' });
    expect(await jira.commentTicket({ ...input, resolve: 2, actor: 'Sam Sre' })).toMatchObject({ detail: 'commented on RLY-1' });
    expect(await jira.commentTicket({ ...input, resolve: 2 })).toMatchObject({ detail: 'already commented on RLY-1' });
    // A run from before resolves were counted asks without one: that is the first resolve.
    expect(await jira.commentTicket(input)).toMatchObject({ detail: 'already commented on RLY-1' });
    expect(fake.state.issues[0]!.comments.map((comment) => textOf(comment.body))).toEqual([
      expect.stringContaining('Dana Oncall'),
      expect.stringContaining('Sam Sre'),
    ]);
  });

  it('comments once with who resolved it and why, even when asked again', async () => {
    const { jira, input } = await openedTicket();
    expect(await jira.commentTicket(input)).toMatchObject({ status: 'done', ref: 'RLY-1', detail: 'commented on RLY-1' });
    expect(await jira.commentTicket(input)).toMatchObject({ status: 'done', detail: 'already commented on RLY-1' });
    const comments = fake.state.issues[0]!.comments;
    expect(comments).toHaveLength(1);
    expect(isAdfDocument(comments[0]!.body)).toBe(true);
    expect(textOf(comments[0]!.body)).toContain('Dana Oncall');
    expect(textOf(comments[0]!.body)).toContain('rolled back 4.2.1');
    expectCleanTraffic();
  });

  it('comments once even when the first comment was applied but answered 500', async () => {
    const { jira, input } = await openedTicket();
    fake.faults.set('addComment', { applyThenFail: 1 });
    expect(await failureOf(jira.commentTicket(input))).toMatchObject({ type: UNAVAILABLE });
    expect(await jira.commentTicket(input)).toMatchObject({ status: 'done', detail: 'already commented on RLY-1' });
    expect(fake.state.issues[0]!.comments).toHaveLength(1);
  });

  it('moves the ticket along the transition into the done category, once', async () => {
    const { jira, input } = await openedTicket();
    expect(await jira.transitionTicket(input)).toMatchObject({ status: 'done', ref: 'RLY-1', detail: 'RLY-1 moved to Done (Done)' });
    expect(fake.state.issues[0]!.fields.status.statusCategory.key).toBe('done');
    expect(await jira.transitionTicket(input)).toMatchObject({ status: 'done', detail: 'RLY-1 already Done' });
    expect(fake.requests.filter((r) => r.operation === 'doTransition')).toHaveLength(1);
    expect(JSON.stringify(fake.requests.find((r) => r.operation === 'doTransition')!.body)).toBe('{"transition":{"id":"31"}}');
    expectCleanTraffic();
  });

  it('picks the done transition by status category, not by name', async () => {
    const { jira, input } = await openedTicket();
    const [start, done] = fake.state.transitions;
    fake.state.transitions = [start!, { ...done!, id: '41', name: 'Close it', to: { ...done!.to, name: 'Closed' } }];
    expect(await jira.transitionTicket(input)).toMatchObject({ detail: 'RLY-1 moved to Closed (Close it)' });
  });

  it('fails for good when no transition leads to a done-category status', async () => {
    const { jira, input } = await openedTicket();
    fake.state.transitions = fake.state.transitions.filter((t) => t.to.statusCategory.key !== 'done');
    const failure = await failureOf(jira.transitionTicket(input));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain('no transition into a done-category status');
    expect(fake.state.issues[0]!.fields.status.statusCategory.key).toBe('new');
  });

  it('fails for good when the ticket does not exist', async () => {
    const jira = jiraActivities();
    const failure = await failureOf(jira.commentTicket(incident({ ticket: { key: 'RLY-999' } })));
    expect(failure).toMatchObject({ type: NON_RETRYABLE, nonRetryable: true });
    expect(failure.message).toContain('404');
  });

  it('skips when there is no ticket', async () => {
    const jira = jiraActivities();
    expect(await jira.commentTicket(incident())).toEqual({ status: 'skipped', detail: 'no Jira ticket to comment on' });
    expect(await jira.transitionTicket(incident())).toEqual({ status: 'skipped', detail: 'no Jira ticket to close' });
    expect(fake.requests).toEqual([]);
  });
});

describe('the postmortem', () => {
  const RUN_ID = '0198a3f2-7c4e-7b7a-9d1e-2f1c3b4a5d6e';

  /** A resolved incident with its ticket open, and the postmortem input of resolve `resolve` with `entries` notes. */
  async function resolvedTicket(options: { entries?: number; resolve?: number } = {}) {
    const jira = jiraActivities();
    const base = incident();
    const opened = await jira.openTicket(base);
    if (opened.status !== 'done' || !opened.ref) throw new Error('no ticket');
    const timeline: TimelineEntry[] = Array.from({ length: options.entries ?? 6 }, (_, index) => ({
      at: new Date(Date.parse('2026-03-14T10:00:00Z') + index * 1000).toISOString(),
      actor: index === 0 ? 'PagerDuty' : 'Dana Oncall',
      what: index === 0 ? 'trigger from pagerduty' : 'annotate from pagerduty',
      outcome: 'ok',
      detail: index === 0 ? undefined : `note ${index}: ${'looked at the replica lag; '.repeat(4)}`,
    }));
    const state: IncidentState = incidentState({
      key: base.key,
      workflowId: base.workflowId,
      source: 'pagerduty',
      externalId: base.externalId,
      title: base.title,
      status: 'resolved',
      triggeredAt: '2026-03-14T10:00:00.000Z',
      resolvedAt: '2026-03-14T10:42:00.000Z',
      resolvedBy: 'Dana Oncall',
      resolves: options.resolve ?? 1,
      steps: { jiraTicket: { status: 'done', ref: opened.ref, url: opened.url } },
      timeline,
    });
    const inputFor = (resolve = options.resolve ?? 1): StepInput => ({
      ...base,
      status: 'resolved',
      ticket: { key: opened.ref!, url: opened.url },
      postmortem: { incident: { ...state, resolves: resolve }, runId: RUN_ID, resolve },
    });
    return { jira, input: inputFor(), inputFor, key: opened.ref };
  }

  const issue = () => fake.state.issues[0]!;
  const hasMarker = (body: unknown, marker: string) => JSON.stringify(body).includes(JSON.stringify(marker));

  it('writes one ADF comment with the record and its marker, and finds it when asked again', async () => {
    const { jira, input } = await resolvedTicket();
    const first = await jira.writePostmortem(input);
    expect(first).toMatchObject({
      status: 'done',
      ref: 'RLY-1',
      detail: expect.stringMatching(/^postmortem on RLY-1 \(6 entries, \d+ characters\)$/),
    });
    expect(await jira.writePostmortem(input)).toMatchObject({ status: 'done', detail: 'postmortem already on RLY-1' });
    expect(issue().comments).toHaveLength(1);
    const body = issue().comments[0]!.body;
    expect(isAdfDocument(body)).toBe(true);
    expect(hasMarker(body, postmortemMarker(input.workflowId, RUN_ID, 1))).toBe(true);
    for (const expected of ['Postmortem timeline', 'Time to resolve: 42 min', '2026-03-14 10:00:05 UTC', 'note 5', input.runUrl!]) {
      expect(textOf(body)).toContain(expected);
    }
    expect(issue().attachments).toEqual([]);
    expectCleanTraffic();
  });

  it('writes it once when the comment was applied but answered 500, and honours a 429', async () => {
    const { jira, input } = await resolvedTicket();
    fake.faults.set('addComment', { applyThenFail: 1 });
    expect(await failureOf(jira.writePostmortem(input))).toMatchObject({ type: UNAVAILABLE });
    fake.faults.set('getComments', { rateLimit: { count: 1, retryAfterSeconds: 3 } });
    expect(await failureOf(jira.writePostmortem(input))).toMatchObject({ type: RATE_LIMITED, nextRetryDelay: 3_000 });
    expect(await jira.writePostmortem(input)).toMatchObject({ status: 'done', detail: 'postmortem already on RLY-1' });
    expect(issue().comments).toHaveLength(1);
  });

  it('writes another for a second resolve, and tells resolve 1 from resolve 10', async () => {
    const { jira, inputFor: input } = await resolvedTicket();
    expect(await jira.writePostmortem(input(10))).toMatchObject({ detail: expect.stringMatching(/^postmortem on RLY-1/) });
    expect(await jira.writePostmortem(input(1))).toMatchObject({ detail: expect.stringMatching(/^postmortem on RLY-1/) });
    expect(await jira.writePostmortem(input(2))).toMatchObject({ detail: expect.stringMatching(/^postmortem on RLY-1/) });
    expect(await jira.writePostmortem(input(2))).toMatchObject({ detail: 'postmortem already on RLY-1' });
    expect(issue().comments).toHaveLength(3);
  });

  it("attaches it as Markdown past Jira's comment limit, with a short comment pointing at the file, once", async () => {
    const { jira, input, key } = await resolvedTicket({ entries: 300 });
    const outcome = await jira.writePostmortem(input);
    const filename = postmortemFilename(input.key, RUN_ID, 1);
    expect(outcome).toMatchObject({ status: 'done', detail: expect.stringContaining(`attached to ${key} as ${filename}`) });
    expect(issue().attachments).toHaveLength(1);
    const [file] = issue().attachments;
    expect(file).toMatchObject({ filename });
    expect(file!.text).toContain('# Postmortem timeline: checkout-api: 5xx rate above 5% for 10 minutes');
    expect(file!.text.split('\n').filter((line) => line.startsWith('| 2026-'))).toHaveLength(300);
    expect(issue().comments).toHaveLength(1);
    const pointer = issue().comments[0]!.body;
    expect(JSON.stringify(pointer).length).toBeLessThan(COMMENT_LIMIT);
    expect(textOf(pointer)).toContain(filename);
    expect(hasMarker(pointer, postmortemMarker(input.workflowId, RUN_ID, 1))).toBe(true);
    const upload = fake.requests.find((request) => request.operation === 'addAttachment')!;
    expect(upload.body).toMatchObject({ parts: [{ name: 'file', filename }] });

    expect(await jira.writePostmortem(input)).toMatchObject({ detail: 'postmortem already on RLY-1' });
    expect(issue().attachments).toHaveLength(1);
    expect(issue().comments).toHaveLength(1);
    expectCleanTraffic();
  });

  it('uploads the file once when the upload was applied but answered 500', async () => {
    const { jira, input } = await resolvedTicket({ entries: 300 });
    fake.faults.set('addAttachment', { applyThenFail: 1 });
    expect(await failureOf(jira.writePostmortem(input))).toMatchObject({ type: UNAVAILABLE });
    expect(await jira.writePostmortem(input)).toMatchObject({ detail: expect.stringContaining('attached to RLY-1') });
    expect(issue().attachments).toHaveLength(1);
    expect(issue().comments).toHaveLength(1);
    expect(fake.requests.filter((request) => request.operation === 'addAttachment')).toHaveLength(1);
  });

  it('skips when there is no ticket, and fails for good without a record to write', async () => {
    const jira = jiraActivities();
    expect(await jira.writePostmortem(incident())).toEqual({ status: 'skipped', detail: 'no Jira ticket to write the postmortem on' });
    expect(await failureOf(jira.writePostmortem(incident({ ticket: { key: 'RLY-1' } })))).toMatchObject({ type: NON_RETRYABLE });
  });
});

describe('the Jira fake refuses what Jira refuses', () => {
  const auth = () => ({
    authorization: `Basic ${Buffer.from(`${fake.email}:${fake.apiToken}`).toString('base64')}`,
    'content-type': 'application/json',
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${fake.url}${path}`, {
      method,
      headers: auth(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { errorMessages: string[]; errors: Record<string, string> } };
  };

  it('refuses a comment over 32,767 characters, an upload without X-Atlassian-Token, and one that is not multipart', async () => {
    const jira = createJiraClient(settings(), { onSchemaMismatch: 'throw' });
    const doc = (value: string) => ({
      type: 'doc' as const,
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: value }] }],
    });
    const created = await jira.issues.createIssue({
      fields: { project: { key: 'RLY' }, issuetype: { name: 'Task' }, summary: 'x', description: doc('x') },
    });
    expect(await call('POST', `/rest/api/3/issue/${created.key}/comment`, { body: doc('x'.repeat(COMMENT_LIMIT)) })).toEqual({
      status: 400,
      body: { errorMessages: [], errors: { comment: 'The entered text is too long. It exceeds the allowed limit of 32767 characters.' } },
    });
    const form = () => {
      const data = new FormData();
      data.append('file', new Blob(['# notes']), 'notes.md');
      return data;
    };
    const upload = (headers: Record<string, string>, body: FormData | string) =>
      fetch(`${fake.url}/rest/api/3/issue/${created.key}/attachments`, {
        method: 'POST',
        headers: { authorization: auth().authorization, ...headers },
        body,
      });
    const blocked = await upload({}, form());
    expect([blocked.status, await blocked.text()]).toEqual([403, 'XSRF check failed']);
    expect((await upload({ 'x-atlassian-token': 'no-check', 'content-type': 'application/json' }, '{}')).status).toBe(415);
    const accepted = await upload({ 'x-atlassian-token': 'no-check' }, form());
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject([{ filename: 'notes.md', size: 7 }]);
    expect(fake.state.issues[0]!.comments).toEqual([]);
    expect(fake.state.issues[0]!.attachments.map((file) => file.text)).toEqual(['# notes']);
  });

  it('answers the removed /rest/api/3/search with 410 and the migration notice', async () => {
    expect(await call('GET', '/rest/api/3/search?jql=labels%3Dx')).toEqual({
      status: 410,
      body: fixtureJson('jira-search-legacy-410-response.json'),
    });
    expect((await call('POST', '/rest/api/3/search', { jql: 'labels = x' })).status).toBe(410);
  });

  it.skipIf(!SPECS_PRESENT)('refuses unknown paths, wrong methods and bodies the spec forbids, in Jira error shape', async () => {
    expect(await call('GET', '/rest/api/3/issues')).toMatchObject({
      status: 404,
      body: { errorMessages: [expect.any(String)], errors: {} },
    });
    expect((await call('PATCH', '/rest/api/3/issue/RLY-1', {})).status).toBe(405);
    expect(await call('POST', '/rest/api/3/search/jql', { jql: 'labels = "x"', startAt: 0 })).toMatchObject({
      status: 400,
      body: { errorMessages: [expect.stringContaining("unexpected property 'startAt'")] },
    });
    expect(fake.refusals()).toHaveLength(3);
  });

  it('refuses a string description (v3 wants ADF) and counts any v2 call', async () => {
    const fields = { project: { key: 'RLY' }, issuetype: { name: 'Task' }, summary: 'x', description: 'plain text' };
    expect(await call('POST', '/rest/api/3/issue', { fields })).toMatchObject({
      status: 400,
      body: { errors: { description: expect.stringContaining('Atlassian Document') } },
    });
    expect((await call('POST', '/rest/api/2/issue', { fields })).status).toBe(404);
    expect(fake.v2Requests()).toHaveLength(1);
    expect(fake.state.issues).toHaveLength(0);
  });

  it('accepts the sample create request for a project and issue type it knows', async () => {
    const other = await startJiraFake({ projectKey: 'OPS' });
    try {
      const sample = fixtureJson('jira-create-issue-request.json');
      const response = await fetch(`${other.url}/rest/api/3/issue`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${other.email}:${other.apiToken}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(sample),
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ id: '10000', key: 'OPS-1', self: `${other.url}/rest/api/3/issue/10000` });
      expect(other.responseProblems).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('pages search results with nextPageToken and isLast, and reconciles fresh issues on request', async () => {
    const jira = createJiraClient(settings(), { onSchemaMismatch: 'throw' });
    const fields = { project: { key: 'RLY' }, issuetype: { name: 'Task' }, labels: ['paging'] };
    const doc = { type: 'doc' as const, version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'x' }] }] };
    const a = await jira.issues.createIssue({ fields: { ...fields, summary: 'a', description: doc } });
    await jira.issues.createIssue({ fields: { ...fields, summary: 'b', description: doc } });
    const first = await jira.issueSearch.searchAndReconsileIssuesUsingJql({ jql: 'labels = "paging"', fields: ['summary'], maxResults: 1 });
    expect(first).toMatchObject({ isLast: false, issues: [{ key: 'RLY-1', fields: { summary: 'a' } }] });
    const second = await jira.issueSearch.searchAndReconsileIssuesUsingJqlPost({
      jql: 'labels = "paging"',
      fields: ['summary'],
      maxResults: 1,
      nextPageToken: first.nextPageToken ?? undefined,
    });
    expect(second).toMatchObject({ isLast: true, issues: [{ key: 'RLY-2' }] });

    fake.searchLagMs = 60_000;
    expect((await jira.issueSearch.searchAndReconsileIssuesUsingJql({ jql: 'labels = "paging"' })).issues).toEqual([]);
    const reconciled = await jira.issueSearch.searchAndReconsileIssuesUsingJql({
      jql: 'labels = "paging"',
      reconcileIssues: [Number(a.id)],
    });
    expect(reconciled.issues).toEqual([{ id: a.id }]);
    expectCleanTraffic();
  });
});
