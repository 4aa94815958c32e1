import { createHash } from 'node:crypto';
import type { ApplicationFailure } from '@temporalio/activity';
import { originLabel } from '../sources/index.js';
import { defaultTitle, prefix, spanText, truncate } from '../shared/text.js';
import { nonRetryable, rateLimited, redactor, retryAfterMs, unavailable } from './errors.js';
import { channelLabel, isWebUrl, notConfigured, type ChangeAction, type StepInput, type StepOutcome } from './step.js';
import { createJsonApi, sendJson, type VendorAnswer } from './vendor-http.js';

const VENDOR = 'PagerDuty';
/** PagerDuty may answer 429 without its ratelimit headers (REST rate-limit docs); wait a third of its one-minute window. */
const RATE_LIMIT_FALLBACK_MS = 20_000;
/** The Events API sends no Retry-After; its rate-limit docs suggest retrying 30 s apart (events-API-v2/05-Rate-Limits.md). */
const EVENTS_RATE_LIMIT_FALLBACK_MS = 30_000;
/** Events API v2 limits (API-NOTES §2c): `payload.summary` 1024 characters, `dedup_key` 255. */
const SUMMARY_LIMIT = 1024;
const DEDUP_KEY_LIMIT = 255;
/** PagerDuty documents no limit for `resolution` (a log-entry note); keep it to a readable length. */
const RESOLUTION_LIMIT = 1024;
/** PagerDuty's error code "Incident Already Resolved" (REST error docs). */
const INCIDENT_ALREADY_RESOLVED = 1001;

/** REST API v2 settings: `PAGERDUTY_API_TOKEN`, `PAGERDUTY_FROM_EMAIL`, `PAGERDUTY_API_URL`. */
export interface PagerDutyRestSettings {
  apiToken: string;
  /** A PagerDuty user's e-mail: writes are made on that user's behalf (`From` header). */
  fromEmail: string;
  apiUrl: string;
}

/** Events API v2: `PAGERDUTY_EVENTS_URL`, `PAGERDUTY_ROUTING_KEY`, `PAGERDUTY_CHANGE_ROUTING_KEY` (keys are secrets). */
export interface PagerDutyEventsSettings {
  eventsUrl: string;
  /** warroom's own alerts (automation failures); absent: none are raised. */
  routingKey?: string;
  /** Change events; absent: none are sent. */
  changeRoutingKey?: string;
  /** Escalations of unacknowledged incidents; absent: none are paged. */
  escalationRoutingKey?: string;
}

export interface PagerDutyDeps {
  /** The worker's one REST client (createActivities shares it with postTimelineNote); built from `pagerduty` when absent. */
  rest?: PagerDutyRest;
  /** Absent (and no `rest`): every call answers "not configured" (or nothing to look up). */
  pagerduty?: PagerDutyRestSettings;
  events?: PagerDutyEventsSettings;
  /** `PAGERDUTY_SYNC`: acknowledge/resolve PagerDuty incidents changed elsewhere (default on). */
  sync?: boolean;
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/** What `assigneeEmails` found; it writes nothing, so it is not a step outcome. */
export interface AssigneeEmails {
  emails: string[];
  /** PagerDuty user ids that do not exist (404) or have no e-mail: recorded, never fatal. */
  unknown: string[];
  /** Why nothing was looked up, when nothing was. */
  skipped?: string;
}

export interface PagerDutyRest {
  /** Sends one request; throws `unavailable` on timeout or network failure, never on an HTTP status. */
  send(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<VendorAnswer>;
  /** The failure an unsuccessful answer stands for, in PagerDuty's own words. */
  failure(answer: VendorAnswer, doing: string): ApplicationFailure;
}

/** A PagerDuty REST v2 client on plain fetch: the documented headers, a finite timeout, no retries of its own. */
export function createPagerDutyRest(settings: PagerDutyRestSettings, options: Omit<PagerDutyDeps, 'pagerduty'> = {}): PagerDutyRest {
  const api = createJsonApi(options, {
    vendor: VENDOR,
    baseUrl: settings.apiUrl,
    // Every 2xx of the REST API carries a JSON body; none, or one that is not JSON, is a broken answer.
    readable: (body) => body !== undefined && typeof body !== 'string',
  });
  const redact = redactor([settings.apiToken]);

  return {
    async send(method, path, body) {
      const headers: Record<string, string> = {
        Authorization: `Token token=${settings.apiToken}`,
        Accept: 'application/vnd.pagerduty+json;version=2',
        // The spec lists Content-Type as required on every operation, reads included.
        'Content-Type': 'application/json',
      };
      if (method !== 'GET') headers.From = settings.fromEmail;
      return api.send(method, path, headers, body);
    },

    failure(answer, doing) {
      const error = (answer.body as { error?: { message?: unknown; errors?: unknown } } | undefined)?.error;
      const words = redact(
        pagerDutyWords(answer.status, error, typeof answer.body === 'string' ? redact(answer.body) : '', errorCode(answer.body)),
      );
      if (answer.status === 429) {
        const wait =
          retryAfterMs(answer.headers.get('retry-after')) ?? retryAfterMs(answer.headers.get('ratelimit-reset')) ?? RATE_LIMIT_FALLBACK_MS;
        return rateLimited(VENDOR, wait);
      }
      if (answer.status >= 500 || answer.status === 408 || answer.status === 409) {
        return unavailable(VENDOR, `${doing}: ${words}`);
      }
      // 400, 401, 402, 403, 404...: "retrying with the same arguments will not work" (PagerDuty's error docs).
      return nonRetryable(VENDOR, `${doing}: ${words}`, { status: answer.status, code: errorCode(answer.body) });
    },
  };
}

/** PagerDuty: state sync (REST), change events and warroom's own failure alerts (Events API v2), assignee look-ups. */
export function createPagerDutyActivities(deps: PagerDutyDeps = {}) {
  const rest = deps.rest ?? (deps.pagerduty ? createPagerDutyRest(deps.pagerduty, deps) : undefined);
  const events = deps.events ? createPagerDutyEvents(deps.events, deps) : undefined;
  const alertKey = deps.events?.routingKey;
  const changeKey = deps.events?.changeRoutingKey;
  const escalationKey = deps.events?.escalationRoutingKey;

  return {
    /**
     * Acknowledges or resolves the PagerDuty incident for a change made elsewhere (Slack, VictorOps,
     * the API). Reads the incident first: a retry after a lost answer, or a change PagerDuty already
     * has, writes nothing; a resolved incident is never reopened by a late acknowledge (PagerDuty
     * has no conditional update, so a resolve landing between our read and write is the one gap).
     */
    async syncPagerDuty(input: StepInput): Promise<StepOutcome> {
      if (input.source !== 'pagerduty')
        return { status: 'skipped', detail: `${input.source} incidents have no PagerDuty incident to update` };
      if (deps.sync === false) return { status: 'skipped', detail: 'PagerDuty sync is off (PAGERDUTY_SYNC=false)' };
      if (!rest) return notConfigured('PagerDuty');
      if (input.status !== 'acknowledged' && input.status !== 'resolved') {
        return { status: 'skipped', detail: `nothing to tell PagerDuty: the incident is ${input.status}` };
      }
      if (input.origin === 'pagerduty')
        return { status: 'skipped', detail: `the ${input.status === 'resolved' ? 'resolve' : 'acknowledge'} came from PagerDuty itself` };

      const id = input.externalId;
      const path = `/incidents/${encodeURIComponent(id)}`;
      const read = await rest.send('GET', path);
      if (read.status !== 200) throw rest.failure(read, `read PagerDuty incident ${id}`);
      const current = (read.body as { incident?: { status?: unknown } }).incident?.status;
      if (current !== 'triggered' && current !== 'acknowledged' && current !== 'resolved') {
        throw unavailable(VENDOR, `read PagerDuty incident ${id}: the answer has no incident status`);
      }
      // Acknowledging a resolved incident would reopen it (spec): resolved is as far as it goes.
      if (current === input.status || current === 'resolved') return { status: 'done', detail: `already ${current} in PagerDuty` };

      const incident: Record<string, string> = { type: 'incident_reference', status: input.status };
      if (input.status === 'resolved')
        incident.resolution = truncate(
          `Resolved by ${changeAuthor(input)}${input.note ? `: ${input.note}` : ''} (synced by warroom)`,
          RESOLUTION_LIMIT,
        );
      const written = await rest.send('PUT', path, { incident });
      if (written.status === 400 && errorCode(written.body) === INCIDENT_ALREADY_RESOLVED) {
        return { status: 'done', detail: 'already resolved in PagerDuty' };
      }
      if (written.status < 200 || written.status > 299)
        throw rest.failure(written, `${input.status === 'resolved' ? 'resolve' : 'acknowledge'} PagerDuty incident ${id}`);
      return { status: 'done', detail: `PagerDuty incident ${id} ${input.status} for ${changeAuthor(input)}` };
    },

    /**
     * Change event (`/v2/change/enqueue`) for `input.change`; skipped without PAGERDUTY_CHANGE_ROUTING_KEY.
     * Change events have no dedup_key: a retry after a lost answer can show the change twice
     * on the service's timeline, which informs and never pages.
     */
    async sendChangeEvent(input: StepInput): Promise<StepOutcome> {
      if (!events || !changeKey) return notConfigured('PagerDuty change events');
      if (!input.change) return { status: 'skipped', detail: 'no change named to report' };
      const summary = changeSummary(input, input.change);
      if (!summary) return { status: 'skipped', detail: `nothing to report yet for ${input.change}: it has not happened` };
      const custom: Record<string, string> = {
        incident_key: input.key,
        source: input.source,
        external_id: input.externalId,
        action: input.change,
      };
      if (input.ticket) custom.ticket = input.ticket.key;
      if (input.channel) custom.slack_channel = channelLabel(input.channel);
      if (input.change === 'resolved' && input.actor) custom.resolved_by = changeAuthor(input);
      await events.enqueue('/v2/change/enqueue', {
        routing_key: changeKey,
        payload: {
          summary: truncate(summary, SUMMARY_LIMIT),
          source: 'warroom',
          timestamp: new Date().toISOString(),
          custom_details: custom,
        },
        links: incidentLinks(input),
      });
      return { status: 'done', detail: `change event sent to PagerDuty: ${truncate(summary, 200)}` };
    },

    /** Events API v2 trigger naming `input.failure`; the dedup key per incident and step makes retries one alert. */
    async raiseFailureAlert(input: StepInput): Promise<StepOutcome> {
      if (!events || !alertKey) return notConfigured('PagerDuty failure alerts');
      if (!input.failure) return { status: 'skipped', detail: 'no failed step named' };
      const { step, what, error } = input.failure;
      const dedupKey = failureDedupKey(input.key, step);
      const title = input.title || defaultTitle(input);
      const body = alertTrigger(input, alertKey, dedupKey, {
        summary: `warroom could not ${what} for ${title} (${input.key}): ${error}`,
        severity: 'error',
        component: step,
        class: 'warroom step failure',
        details: { step, what, error },
      });
      await events.enqueue('/v2/enqueue', body);
      return { status: 'done', detail: `PagerDuty alert ${dedupKey} triggered`, ref: dedupKey };
    },

    /** Events API v2 resolve of the failure alert for `input.failure.step` (202 even when none is open). */
    async resolveFailureAlert(input: StepInput): Promise<StepOutcome> {
      if (!events || !alertKey) return notConfigured('PagerDuty failure alerts');
      if (!input.failure) return { status: 'skipped', detail: 'no failed step named' };
      const dedupKey = failureDedupKey(input.key, input.failure.step);
      await events.enqueue('/v2/enqueue', { routing_key: alertKey, event_action: 'resolve', dedup_key: dedupKey });
      return { status: 'done', detail: `PagerDuty alert ${dedupKey} resolved`, ref: dedupKey };
    },

    /**
     * Events API v2 trigger on the escalation routing key: nobody acknowledged the incident in time.
     * The dedup key names the incident and the escalation, so retries keep one alert.
     */
    async raiseEscalation(input: StepInput): Promise<StepOutcome> {
      if (!events || !escalationKey) return notConfigured('PagerDuty escalation (PAGERDUTY_ESCALATION_ROUTING_KEY)');
      if (!input.escalation) return { status: 'skipped', detail: 'no escalation named' };
      const dedupKey = escalationDedupKey(input.key, input.escalation.number);
      const title = input.title || defaultTitle(input);
      const body = alertTrigger(input, escalationKey, dedupKey, {
        summary: `Unacknowledged for ${spanText(input.escalation.afterMs)}: ${title} (${input.key})`,
        severity: input.severity ?? 'warning',
        class: 'warroom escalation',
      });
      await events.enqueue('/v2/enqueue', body);
      return { status: 'done', detail: `paged through PagerDuty (${dedupKey})`, ref: dedupKey };
    },

    /** Events API v2 resolve of an escalation's page (202 even when it is no longer open). */
    async resolveEscalation(input: StepInput): Promise<StepOutcome> {
      if (!events || !escalationKey) return notConfigured('PagerDuty escalation (PAGERDUTY_ESCALATION_ROUTING_KEY)');
      if (!input.escalation) return { status: 'skipped', detail: 'no escalation named' };
      const dedupKey = escalationDedupKey(input.key, input.escalation.number);
      await events.enqueue('/v2/enqueue', { routing_key: escalationKey, event_action: 'resolve', dedup_key: dedupKey });
      return { status: 'done', detail: `escalation page ${dedupKey} resolved`, ref: dedupKey };
    },

    /** E-mails of a PagerDuty incident's assignees (`GET /users/{id}`), for Slack invitations. */
    async assigneeEmails(input: StepInput): Promise<AssigneeEmails> {
      if (input.source !== 'pagerduty')
        return { emails: [], unknown: [], skipped: `${input.source} incidents have no PagerDuty assignees` };
      const ids = [...new Set(input.assignees)];
      if (ids.length === 0) return { emails: [], unknown: [], skipped: 'the incident has no assignees' };
      if (!rest) return { emails: [], unknown: [], skipped: notConfigured('PagerDuty REST API').detail };
      const found = await Promise.all(
        ids.map(async (id) => {
          const answer = await rest.send('GET', `/users/${encodeURIComponent(id)}`);
          if (answer.status === 404) return { id };
          if (answer.status !== 200) throw rest.failure(answer, `look up user ${id}`);
          const email = (answer.body as { user?: { email?: unknown } }).user?.email;
          return { id, email: typeof email === 'string' && email.includes('@') ? email : undefined };
        }),
      );
      const emails = [...new Set(found.flatMap((user) => (user.email ? [user.email] : [])))];
      return { emails, unknown: found.filter((user) => !user.email).map((user) => user.id) };
    },
  };
}

/**
 * `postTimelineNote` for a PagerDuty incident: `lines` as one note per incident and set of links.
 * Notes can be read back, so an earlier attempt whose answer was lost (applied, then 500 or a
 * timeout) is found and not repeated. Attempts of one activity never overlap, so read-then-write
 * cannot race with itself.
 */
export async function addTimelineNote(rest: PagerDutyRest, input: StepInput, lines: string[]): Promise<StepOutcome> {
  const incident = encodeURIComponent(input.externalId);
  const marker = `warroom ref: ${input.workflowId}`;
  const content = [...lines, marker].join('\n');

  const listed = await rest.send('GET', `/incidents/${incident}/notes`);
  if (listed.status !== 200) throw rest.failure(listed, `read the notes of incident ${input.externalId}`);
  const notes = (listed.body as { notes?: Array<{ id?: string; content?: string }> }).notes ?? [];
  const earlier = notes.find(
    (note) => typeof note.content === 'string' && note.content.includes(marker) && lines.every((line) => note.content!.includes(line)),
  );
  if (earlier) {
    return { status: 'done', detail: `note already on PagerDuty incident ${input.externalId} (an earlier attempt)`, ref: earlier.id };
  }

  const created = await rest.send('POST', `/incidents/${incident}/notes`, { note: { content } });
  if (created.status < 200 || created.status > 299) throw rest.failure(created, `add a note to incident ${input.externalId}`);
  const id = (created.body as { note?: { id?: string } }).note?.id;
  return { status: 'done', detail: `note added to PagerDuty incident ${input.externalId}`, ref: id };
}

/** Events API v2 on plain fetch: no auth header (the routing key in the body is the credential), no retries of its own. */
interface PagerDutyEvents {
  /** Sends one event; a 2xx is success, anything else throws the failure it stands for. */
  enqueue(path: '/v2/enqueue' | '/v2/change/enqueue', body: Record<string, unknown>): Promise<{ dedupKey?: string }>;
}

function createPagerDutyEvents(settings: PagerDutyEventsSettings, options: Omit<PagerDutyDeps, 'events'>): PagerDutyEvents {
  const base = settings.eventsUrl.replace(/\/+$/, '');
  const secrets = [settings.routingKey, settings.changeRoutingKey, settings.escalationRoutingKey].filter((key): key is string =>
    Boolean(key && key.length >= 4),
  );
  // Routing keys are credentials: no message ever carries one, whatever PagerDuty echoes back.
  const redact = redactor(secrets);

  return {
    async enqueue(path, body) {
      const doing = path === '/v2/change/enqueue' ? 'change event' : `${String(body.event_action)} event`;
      const answer = await sendJson(options, {
        vendor: VENDOR,
        doing: `Events API ${doing}`,
        method: 'POST',
        url: `${base}${path}`,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body,
      });
      // A body that is not JSON arrives as its text, whose fields read as undefined.
      const parsed = answer.body as { dedup_key?: unknown; message?: unknown; errors?: unknown } | undefined;
      // 202 is the documented answer; the event is accepted even when the body is unreadable.
      if (answer.status >= 200 && answer.status <= 299)
        return { dedupKey: typeof parsed?.dedup_key === 'string' ? parsed.dedup_key : undefined };
      if (answer.status === 429) {
        throw rateLimited(VENDOR, retryAfterMs(answer.headers.get('retry-after')) ?? EVENTS_RATE_LIMIT_FALLBACK_MS);
      }
      const words = redact(pagerDutyWords(answer.status, parsed, redact(answer.text)));
      if (answer.status >= 500 || answer.status === 408) throw unavailable(VENDOR, `Events API ${doing}: ${words}`);
      // 400: "check that the JSON is valid", never retried (Events API v2 docs); other 4xx are no better.
      throw nonRetryable(VENDOR, `Events API refused the ${doing}: ${words}`, { status: answer.status });
    },
  };
}

/**
 * PagerDuty's words as one line, from the REST API's `{"error":{"message","code","errors":[...]}}`
 * ("Invalid Input Provided: From header... (HTTP 400, code 2001)") or the Events API's
 * `{"status","message","errors":[...]}` ("Event object is invalid: Invalid routing key (HTTP 400)");
 * the start of `text` (already redacted: a secret cut in half would no longer be found) when it sent no message.
 */
function pagerDutyWords(status: number, said: { message?: unknown; errors?: unknown } | undefined, text: string, code?: number): string {
  const message = typeof said?.message === 'string' ? said.message : prefix(text, 200) || 'no error message';
  const details = Array.isArray(said?.errors) ? said.errors.filter((item): item is string => typeof item === 'string') : [];
  return `${message}${details.length > 0 ? `: ${details.join('; ')}` : ''} (HTTP ${status}${code === undefined ? '' : `, code ${code}`})`;
}

/** warroom's alert for one incident and step: the same on every retry, so PagerDuty keeps one alert. */
export function failureDedupKey(key: string, step: string): string {
  const whole = `warroom-${key}-${step}`;
  if (whole.length <= DEDUP_KEY_LIMIT) return whole;
  // Too long: keep a readable prefix and a digest of the whole, so two long keys never collide.
  const digest = createHash('sha256').update(whole).digest('hex').slice(0, 16);
  return `${prefix(whole, DEDUP_KEY_LIMIT - digest.length - 1)}-${digest}`;
}

/** An Events API v2 trigger about an incident: its links, its run, and the incident's ids among the details. */
function alertTrigger(
  input: StepInput,
  routingKey: string,
  dedupKey: string,
  alert: { summary: string; severity: string; class: string; component?: string; details?: Record<string, string> },
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: truncate(alert.summary, SUMMARY_LIMIT),
      source: 'warroom',
      severity: alert.severity,
      timestamp: new Date().toISOString(),
      ...(alert.component ? { component: alert.component } : {}),
      group: input.source,
      class: alert.class,
      custom_details: {
        incident_key: input.key,
        workflow_id: input.workflowId,
        source: input.source,
        external_id: input.externalId,
        title: input.title || defaultTitle(input),
        ...alert.details,
      },
    },
    client: 'warroom',
    links: incidentLinks(input),
  };
  if (input.runUrl && isWebUrl(input.runUrl)) body.client_url = input.runUrl;
  return body;
}

/** The page for an incident's `number`th escalation: the same on every retry. */
export function escalationDedupKey(key: string, number: number): string {
  return failureDedupKey(key, `escalation-${number}`);
}

/** Who made a change and through what, in words: "Dana Oncall via Slack". */
export function changeAuthor(input: Pick<StepInput, 'actor' | 'origin'>): string {
  const who = input.actor?.trim() || 'someone';
  return input.origin ? `${who} via ${originLabel(input.origin)}` : who;
}

/** What warroom did, as a change event's summary; undefined when the thing reported does not exist yet. */
function changeSummary(input: StepInput, change: ChangeAction): string | undefined {
  const incident = `${truncate(input.title || defaultTitle(input), 300)} (${input.key})`;
  switch (change) {
    case 'ticket':
      return input.ticket ? `warroom opened Jira ticket ${input.ticket.key} for ${incident}` : undefined;
    case 'room':
      return input.channel ? `warroom opened Slack channel ${channelLabel(input.channel)} for ${incident}` : undefined;
    case 'statusPage':
      return `warroom ${input.statusPage?.draft ? 'saved a status page draft' : 'posted a status page incident'}${input.statusPage?.id ? ` (StatusCast ${input.statusPage.id})` : ''} for ${incident}`;
    case 'resolved':
      return `${incident} resolved by ${changeAuthor(input)}; warroom closed it out`;
  }
}

/** The incident's web links, once each: ticket, channel, the source's and status page links, the run. */
function incidentLinks(input: StepInput): Array<{ href: string; text: string }> {
  const candidates = [
    input.ticket?.url ? { href: input.ticket.url, text: `Jira ${input.ticket.key}` } : undefined,
    input.channel?.url ? { href: input.channel.url, text: `Slack ${channelLabel(input.channel)}` } : undefined,
    ...input.links.map((link) => ({ href: link.url, text: link.label })),
    input.runUrl ? { href: input.runUrl, text: 'warroom run (Temporal)' } : undefined,
  ];
  const links: Array<{ href: string; text: string }> = [];
  for (const link of candidates) {
    if (link && isWebUrl(link.href) && !links.some((known) => known.href === link.href))
      links.push({ href: link.href, text: truncate(link.text, 200) });
  }
  return links;
}

/** PagerDuty's numeric error code (REST error docs), when the body has one. */
function errorCode(body: unknown): number | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'number' ? code : undefined;
}
