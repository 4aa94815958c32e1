import { ApplicationFailure } from '@temporalio/activity';
import {
  createCloudClient,
  isApiError,
  isAuthError,
  isForbiddenError,
  isNetworkError,
  isNotFoundError,
  isRateLimitError,
  isSchemaMismatchError,
  type CloudClient,
  type SchemaMismatchBehavior,
} from 'jira.js';
import { createClient, type Client, type SendRequestOptions } from 'jira.js/core';
import type { Config } from '../config.js';
import { shortHash } from '../shared/ids.js';
import type { TimelineEntry } from '../shared/incident.js';
import {
  actorLine,
  entryLine,
  headline,
  linkRows,
  olderEntriesNote,
  postmortemMarkdown,
  postmortemOf,
  summaryRows,
  type Postmortem,
} from '../shared/postmortem.js';
import { defaultTitle, prefix, truncate } from '../shared/text.js';
import { currentActivity } from './activity-context.js';
import { nonRetryable, rateLimited, redactor, UNAVAILABLE, unavailable } from './errors.js';
import { isWebUrl, unconfigured, type PostmortemRequest, type StepActivity, type StepInput, type StepOutcome } from './step.js';

export type JiraSettings = NonNullable<Config['jira']>;
export type JiraClient = CloudClient;

export interface JiraDeps {
  /** Built once by the worker with {@link createJiraClient}; tests point it at the fake. */
  jira?: JiraClient;
  settings?: JiraSettings;
  /** How long a retried `openTicket` waits for search to show an issue an earlier attempt may have created. */
  lookupWaitMs?: number;
}

export interface JiraClientOptions {
  /** Per request; jira.js has no timeout of its own. */
  timeoutMs?: number;
  /** Tests use 'throw' so a fake answering off-schema fails loudly. */
  onSchemaMismatch?: SchemaMismatchBehavior;
}

const VENDOR = 'Jira';
/** Jira's steps, by the names the workflow calls them. */
const JIRA_STEPS = ['openTicket', 'commentTicket', 'transitionTicket', 'writePostmortem'] as const;
const SUMMARY_LIMIT = 255;
/** Jira Cloud usually indexes a new issue within a second or two; past this a retry creates again. */
const DEFAULT_LOOKUP_WAIT_MS = 5_000;
const LOOKUP_POLL_MS = 250;
const DEFAULT_TIMEOUT_MS = 10_000;
/** Jira sends Retry-After with its 429s; if one ever comes without, wait this long. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 5_000;
const SEARCH_FIELDS = ['summary', 'labels', 'status', 'created'];
/**
 * Jira refuses a longer comment: 400 `errors.comment` "The entered text is too long. It exceeds the
 * allowed limit of 32767 characters." [obs: jenkinsci/jira-plugin#667, prometheus-community/jiralert#41].
 * Whether Jira Cloud counts an ADF comment's JSON or its text is not documented: we count the JSON,
 * the larger, so a comment we send is never refused for its length.
 */
export const COMMENT_LIMIT = 32_767;

/**
 * The jira.js 6 client for our settings: basic auth, its own retries off (Temporal owns retries),
 * and a deadline on every request.
 */
export function createJiraClient(settings: JiraSettings, options: JiraClientOptions = {}): JiraClient {
  const inner = createClient({
    host: settings.host,
    auth: { type: 'basic', email: settings.email, apiToken: settings.apiToken },
    retry: { maxAttempts: 1 },
    onSchemaMismatch: options.onSchemaMismatch ?? 'warn',
  });
  return createCloudClient(withDeadline(inner, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
}

/** Thrown when Jira does not answer in time. */
class JiraTimeoutError extends Error {
  override name = 'JiraTimeoutError';
}

/**
 * jira.js takes no timeout or AbortSignal, so the deadline stops the wait, not the socket: a late
 * answer is dropped, and undici's own header timeout ends the connection eventually.
 */
function withDeadline(client: Client, timeoutMs: number): Client {
  return {
    async sendRequest<T>(options: SendRequestOptions<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new JiraTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([client.sendRequest(options), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Jira: the incident's ticket. Without settings every call answers "not configured". */
export function createJiraActivities(deps: JiraDeps = {}): Record<(typeof JIRA_STEPS)[number], StepActivity> {
  const { settings } = deps;
  const jira = deps.jira ?? (settings ? createJiraClient(settings) : undefined);
  if (!settings || !jira) return unconfigured(VENDOR, JIRA_STEPS);
  const lookupWaitMs = deps.lookupWaitMs ?? DEFAULT_LOOKUP_WAIT_MS;
  const browseUrl = (key: string) => `${settings.host.replace(/\/+$/, '')}/browse/${key}`;
  const fail = (what: string, err: unknown) => jiraFailure(what, err, settings);

  /** Issues carrying the incident's label, oldest first. */
  const findByLabel = async (label: string) => {
    const result = await jira.issueSearch.searchAndReconsileIssuesUsingJql({
      jql: `project = "${settings.projectKey}" AND labels = "${label}" ORDER BY created ASC`,
      fields: SEARCH_FIELDS,
      maxResults: 10,
    });
    return (result.issues ?? []).filter((issue) => issue.key).sort((a, b) => Number(a.id) - Number(b.id));
  };

  return {
    /**
     * Finds the incident's ticket by its `warroom-<key>` label, or creates it (one write).
     *
     * Exactly once despite "created, then answered 500" and search lag: a retried attempt cannot
     * reconcile an id it never got, so it polls search for up to `lookupWaitMs` before creating
     * again. The first attempt creates at once, so the common path stays fast.
     */
    async openTicket(input: StepInput): Promise<StepOutcome> {
      const label = ticketLabel(input.key);
      const retried = (currentActivity()?.info.attempt ?? 1) > 1;
      const deadline = Date.now() + (retried ? lookupWaitMs : 0);
      for (;;) {
        let found: Awaited<ReturnType<typeof findByLabel>>;
        try {
          found = await findByLabel(label);
        } catch (err) {
          const failure = fail('looking up the ticket', err);
          // A failed poll is one more poll, not the end of the attempt: each retry makes many searches,
          // and a Jira failing some of them must not starve the ticket. A 429 still ends it (Retry-After).
          if (!retried || failure.type !== UNAVAILABLE || Date.now() >= deadline + lookupWaitMs) throw failure;
          await new Promise((resolve) => setTimeout(resolve, LOOKUP_POLL_MS));
          continue;
        }
        const oldest = found[0];
        if (oldest?.key) {
          const more = found.length > 1 ? `; ${found.length} tickets carry ${label}, this is the oldest` : '';
          return { status: 'done', ref: oldest.key, url: browseUrl(oldest.key), detail: `found ${oldest.key}, opened earlier${more}` };
        }
        // Create only on a clean "none" once the search lag is waited out.
        if (Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, LOOKUP_POLL_MS));
      }
      try {
        const created = await jira.issues.createIssue({
          fields: {
            project: { key: settings.projectKey },
            issuetype: { name: settings.issueType },
            summary: ticketSummary(input),
            description: ticketDescription(input),
            labels: [...new Set([label, ...settings.labels])],
          },
        });
        return { status: 'done', ref: created.key, url: browseUrl(created.key), detail: `created ${created.key}` };
      } catch (err) {
        throw fail('creating the ticket', err);
      }
    },

    /** On resolve: one ADF comment saying who resolved it and why; skipped when this resolve already commented. */
    async commentTicket(input: StepInput): Promise<StepOutcome> {
      const key = ticketKey(input);
      if (!key) return { status: 'skipped', detail: 'no Jira ticket to comment on' };
      const marker = resolveMarker(input);
      try {
        if (await hasComment(jira, key, (body) => hasText(body, marker)))
          return { status: 'done', ref: key, url: browseUrl(key), detail: `already commented on ${key}` };
        await jira.issueComments.addComment({ issueIdOrKey: key, body: resolveComment(input, marker) });
        return { status: 'done', ref: key, url: browseUrl(key), detail: `commented on ${key}` };
      } catch (err) {
        throw fail(`commenting on ${key}`, err);
      }
    },

    /** On resolve: moves the ticket along the first transition into a done-category status (names differ per Jira). */
    async transitionTicket(input: StepInput): Promise<StepOutcome> {
      const key = ticketKey(input);
      if (!key) return { status: 'skipped', detail: 'no Jira ticket to close' };
      let target: { id: string; name: string; to: string };
      try {
        const issue = await jira.issues.getIssue({ issueIdOrKey: key, fields: ['status'] });
        const status = issue.fields?.status as { name?: string; statusCategory?: { key?: string } } | undefined;
        if (status?.statusCategory?.key === 'done') {
          return { status: 'done', ref: key, url: browseUrl(key), detail: `${key} already ${status.name ?? 'done'}` };
        }
        const { transitions = [] } = await jira.issues.getTransitions({ issueIdOrKey: key });
        const done = transitions.find((t) => t.to?.statusCategory?.key === 'done' && t.isAvailable !== false && t.id);
        if (!done) {
          const offered = transitions.map((t) => `${t.name ?? t.id} → ${t.to?.name ?? '?'}`).join(', ') || 'none';
          throw nonRetryable(
            VENDOR,
            `${key} has no transition into a done-category status from '${status?.name ?? 'its status'}' (offered: ${offered}); close it by hand or adjust the workflow`,
          );
        }
        target = { id: done.id as string, name: done.name ?? (done.id as string), to: done.to?.name ?? 'done' };
        await jira.issues.doTransition({ issueIdOrKey: key, transition: { id: target.id } });
      } catch (err) {
        throw fail(`closing ${key}`, err);
      }
      return { status: 'done', ref: key, url: browseUrl(key), detail: `${key} moved to ${target.to} (${target.name})` };
    },

    /**
     * On resolve, after the rest of the close-out: the incident's record as an ADF comment, or, past
     * Jira's comment limit, as a Markdown attachment with a short comment pointing at it. Once per
     * resolve: the comment carries a marker naming the run and the resolve, looked up before
     * anything is written, and the attachment has a name of its own, looked up before upload (a
     * crash between the two writes leaves the file, which the retry finds).
     */
    async writePostmortem(input: StepInput): Promise<StepOutcome> {
      const key = ticketKey(input);
      if (!key) return { status: 'skipped', detail: 'no Jira ticket to write the postmortem on' };
      const request = input.postmortem;
      if (!request) throw nonRetryable(VENDOR, 'writing the postmortem: the step sent no incident record');
      try {
        return { status: 'done', ref: key, url: browseUrl(key), detail: await writePostmortemOn(jira, key, input, request) };
      } catch (err) {
        throw fail(`writing the postmortem on ${key}`, err);
      }
    },
  };
}

/** The deterministic label that finds an incident's ticket again; Jira labels may not contain spaces. */
export function ticketLabel(key: string): string {
  return `warroom-${key}`.replace(/\s+/g, '-').slice(0, 255);
}

function ticketKey(input: StepInput): string | undefined {
  return input.ticket?.key ?? input.refs.jiraTicket;
}

/** The title on one line, within Jira's limit (UTF-16 units, as Java counts them). */
function ticketSummary(input: StepInput): string {
  return truncate((input.title || defaultTitle(input)).replace(/\s+/g, ' ').trim(), SUMMARY_LIMIT);
}

type AdfNode = Record<string, unknown>;

/** A text node, linked when `href` is an http(s) URL: Jira refuses the whole document over one bad link mark. */
const text = (value: string, href?: string): AdfNode =>
  href && isWebUrl(href)
    ? { type: 'text', text: value, marks: [{ type: 'link', attrs: { href } }] }
    : { type: 'text', text: href && href !== value ? `${value} (${href})` : value };
const paragraph = (...content: AdfNode[]): AdfNode => ({ type: 'paragraph', content });
const bulletList = (items: AdfNode[][]): AdfNode => ({
  type: 'bulletList',
  content: items.map((content) => ({ type: 'listItem', content: [paragraph(...content)] })),
});
const doc = (content: AdfNode[]) => ({ type: 'doc' as const, version: 1, content });

/** The ticket's description, always ADF: a string would make jira.js 6 fall back to the v2 API. */
export function ticketDescription(input: StepInput) {
  const facts: AdfNode[][] = [[text(`Source: ${defaultTitle(input)}`)]];
  if (input.severity) facts.push([text(`Severity: ${input.severity}`)]);
  if (input.service) facts.push([text(`Service: ${input.service}`)]);
  if (input.triggeredAt) facts.push([text(`Triggered: ${input.triggeredAt}`)]);
  const links: AdfNode[][] = input.links.filter((link) => link.url).map((link) => [text(link.label || link.url, link.url)]);
  if (input.channel?.url)
    links.push([text('Slack channel: '), text(input.channel.name ? `#${input.channel.name}` : input.channel.url, input.channel.url)]);
  if (input.runUrl) links.push([text('Temporal run: '), text(input.workflowId, input.runUrl)]);
  const content: AdfNode[] = [paragraph(text(`Opened by warroom for ${defaultTitle(input)}.`)), bulletList(facts)];
  if (links.length > 0) content.push(paragraph(text('Links')), bulletList(links));
  return doc(content);
}

/**
 * Identifies one resolve's comment, so a retried or replayed step never comments twice; a second
 * resolve (after a reopen) has its own. The first keeps the marker earlier versions wrote.
 */
function resolveMarker(input: StepInput): string {
  const first = `warroom:resolve:${input.workflowId}:${input.triggeredAt ?? ''}`;
  return input.resolve && input.resolve > 1 ? `${first}:resolve-${input.resolve}` : first;
}

function resolveComment(input: StepInput, marker: string) {
  const content: AdfNode[] = [paragraph(text(`Resolved by ${input.actor ?? 'unknown'}.`))];
  if (input.note) content.push(paragraph(text(input.note)));
  content.push(paragraph({ type: 'text', text: marker, marks: [{ type: 'code' }] }));
  return doc(content);
}

/** Writes one resolve's postmortem on ticket `key` unless it is there already; answers what it did. */
async function writePostmortemOn(jira: JiraClient, key: string, input: StepInput, request: PostmortemRequest): Promise<string> {
  const document = postmortemOf(request.incident, { runUrl: input.runUrl });
  const marker = postmortemMarker(input.workflowId, request.runId, request.resolve);
  if (await hasComment(jira, key, (body) => hasText(body, marker))) return `postmortem already on ${key}`;
  const full = postmortemComment(document, marker);
  const size = JSON.stringify(full).length;
  if (size <= COMMENT_LIMIT) {
    await jira.issueComments.addComment({ issueIdOrKey: key, body: full });
    return `postmortem on ${key} (${document.timeline.length} entries, ${size} characters)`;
  }
  // Two writes, each looked up first: a crash between them leaves the file, which the retry finds by name.
  const filename = postmortemFilename(input.key, request.runId, request.resolve);
  const issue = await jira.issues.getIssue({ issueIdOrKey: key, fields: ['attachment'] });
  const files = (issue.fields?.attachment as Array<{ filename?: string }> | undefined) ?? [];
  if (!files.some((file) => file.filename === filename)) {
    await jira.issueAttachments.addAttachment({ issueIdOrKey: key, attachments: { filename, content: postmortemMarkdown(document) } });
  }
  await jira.issueComments.addComment({ issueIdOrKey: key, body: attachmentPointer(document, marker, filename, size) });
  return `postmortem attached to ${key} as ${filename} (${size} characters: over Jira's comment limit)`;
}

/** Names one resolve's postmortem; looked up as a whole text node, so resolve 1's never matches inside resolve 10's. */
export function postmortemMarker(workflowId: string, runId: string, resolve: number): string {
  return `warroom:postmortem:${workflowId}:${runId}:resolve-${resolve}`;
}

/** The attachment's name: one per run and resolve, so a retry finds the file an earlier attempt uploaded. */
export function postmortemFilename(key: string, runId: string, resolve: number): string {
  return `postmortem-${key}-resolve-${resolve}-${shortHash(runId)}.md`;
}

const heading = (level: number, value: string): AdfNode => ({ type: 'heading', attrs: { level }, content: [text(value)] });
const marked = (marker: string): AdfNode => paragraph({ type: 'text', text: marker, marks: [{ type: 'code' }] });
/** A list, or nothing: ADF refuses an empty one. */
const listOf = (items: AdfNode[][]): AdfNode[] => (items.length > 0 ? [bulletList(items)] : []);

/** The postmortem as an ADF comment: the same sections as the Markdown, and the marker. */
export function postmortemComment(document: Postmortem, marker: string) {
  const older = olderEntriesNote(document);
  const content: AdfNode[] = [
    heading(2, `Postmortem timeline: ${document.title || defaultTitle(document)}`),
    paragraph(text(headline(document).join(' · '))),
    heading(3, 'Summary'),
    bulletList(summaryRows(document).map(([label, value]) => [text(`${label}: ${value}`)])),
  ];
  const links = linkRows(document).map(([label, link]) => [text(`${label}: `), text(link.label || link.url, link.url)]);
  if (links.length > 0) content.push(heading(3, 'Links'), ...listOf(links));
  if (document.actors.length > 0) {
    const actors = document.actors.map((actor) => [text(actorLine(actor))]);
    if (document.responders.length > 0) actors.push([text(`Responders brought in: ${document.responders.join(', ')}`)]);
    content.push(heading(3, 'Actors'), ...listOf(actors));
  }
  if (document.openFailures.length > 0) {
    content.push(
      heading(3, 'Still failing'),
      ...listOf(document.openFailures.map((failure) => [text(`${failure.what}: ${failure.error}`)])),
    );
  }
  content.push(heading(3, 'Timeline (UTC)'));
  if (older) content.push(paragraph({ type: 'text', text: older, marks: [{ type: 'em' }] }));
  content.push(...(document.timeline.length > 0 ? listOf(document.timeline.map((entry: TimelineEntry) => [text(entryLine(entry))])) : []));
  content.push(marked(marker));
  return doc(content);
}

/** The short comment beside an attached postmortem: the summary, the file's name, the marker. */
function attachmentPointer(document: Postmortem, marker: string, filename: string, size: number) {
  return doc([
    heading(2, `Postmortem timeline: ${document.title || defaultTitle(document)}`),
    paragraph(
      text(
        `The record of ${document.timeline.length} entries is attached as ${filename}: as a comment it would be ${size} characters, over Jira's limit of ${COMMENT_LIMIT}.`,
      ),
    ),
    bulletList(summaryRows(document).map(([label, value]) => [text(`${label}: ${value}`)])),
    marked(marker),
  ]);
}

/** Whether one of the document's text nodes is exactly `value` (a marker, never a part of a longer one). */
function hasText(node: unknown, value: string): boolean {
  if (!node || typeof node !== 'object') return false;
  const { text: own, content } = node as { text?: unknown; content?: unknown };
  if (own === value) return true;
  return Array.isArray(content) && content.some((child) => hasText(child, value));
}

/** Whether a comment on the issue matches, newest first (a resolve's own comment is among the latest). */
async function hasComment(jira: JiraClient, key: string, matches: (body: unknown) => boolean): Promise<boolean> {
  const pageSize = 100;
  for (let startAt = 0, page = 0; page < 20; page += 1, startAt += pageSize) {
    const result = await jira.issueComments.getComments({ issueIdOrKey: key, startAt, maxResults: pageSize, orderBy: '-created' });
    const comments = result.comments ?? [];
    if (comments.some((comment) => matches(comment.body))) return true;
    if (comments.length < pageSize || startAt + comments.length >= (result.total ?? 0)) return false;
  }
  return false;
}

/** Jira's own words from an error body: `errorMessages` and field `errors`. */
function jiraText(body: unknown, redact: (text: string) => string): string {
  // Redacted before the cut: a secret cut in half would no longer be found.
  if (typeof body === 'string') return prefix(redact(body), 300);
  if (!body || typeof body !== 'object') return '';
  const { errorMessages, errors, message } = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
  const parts: string[] = [];
  if (Array.isArray(errorMessages)) parts.push(...errorMessages.map(String));
  if (errors && typeof errors === 'object') parts.push(...Object.entries(errors).map(([field, text]) => `${field}: ${String(text)}`));
  if (parts.length === 0 && typeof message === 'string') parts.push(message);
  return parts.join('; ');
}

/** Maps a jira.js failure to the failure types the workflow's retry policy knows; never carries the token. */
export function jiraFailure(what: string, err: unknown, settings: JiraSettings): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const redact = redactor([settings.apiToken, Buffer.from(`${settings.email}:${settings.apiToken}`).toString('base64')], '***');
  if (err instanceof JiraTimeoutError) return unavailable(VENDOR, `${what}: ${err.message}`);
  if (isNetworkError(err)) return unavailable(VENDOR, `${what}: network error${err.code ? ` (${err.code})` : ''}`);
  if (isRateLimitError(err)) return rateLimited(VENDOR, err.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS);
  if (isApiError(err)) {
    const { status } = err;
    const said = redact(jiraText(err.body, redact));
    const suffix = said ? `: ${said}` : '';
    if (isAuthError(err))
      return nonRetryable(VENDOR, `${what}: authentication failed (401); check JIRA_EMAIL and JIRA_API_TOKEN${suffix}`, { status: 401 });
    if (isForbiddenError(err)) return nonRetryable(VENDOR, `${what}: permission denied (403)${suffix}`, { status: 403 });
    if (isNotFoundError(err)) return nonRetryable(VENDOR, `${what}: not found (404)${suffix}`, { status: 404 });
    if (status >= 500 || status === 408 || status === 409) return unavailable(VENDOR, `${what}: Jira answered ${status}${suffix}`);
    return nonRetryable(VENDOR, `${what}: Jira refused it (${status})${suffix}`, { status });
  }
  if (isSchemaMismatchError(err)) return nonRetryable(VENDOR, `${what}: unexpected answer from Jira (${redact(err.message)})`);
  return unavailable(VENDOR, `${what}: ${redact(err instanceof Error ? err.message : String(err))}`);
}
