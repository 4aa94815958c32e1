import type { ApplicationFailure } from '@temporalio/activity';
import { findMonitor, type StatusPageMonitor } from '../config.js';
import { prefix, truncate } from '../shared/text.js';
import { nonRetryable, rateLimited, redactor, retryAfterMs, unavailable } from './errors.js';
import { unconfigured, type StatusPageRef, type StepActivity, type StepInput, type StepOutcome } from './step.js';
import { createJsonApi, type VendorAnswer } from './vendor-http.js';

const VENDOR = 'StatusCast';
/** StatusCast's steps, by the names the workflow calls them. */
const STATUS_PAGE_STEPS = ['postStatusPage', 'updateStatusPage', 'closeStatusPage'] as const;
/** StatusCast documents no rate limit and no Retry-After; when a 429 carries none, wait this long. */
const RATE_LIMIT_FALLBACK_MS = 30_000;
/** v1 caps `messageSubject` at 255 (API-NOTES §5b); v4 states no limit, so keep titles inside it. */
const TITLE_LIMIT = 255;
/** `pageSize` maximum of `POST /api/v4/incidents` (IncidentSearch in the v4 OpenAPI). */
const SEARCH_PAGE_SIZE = 100;
/** An externalId names one incident; more pages than this of matches means the filter was ignored. */
const SEARCH_MAX_PAGES = 5;
/** The Informational post of a combined status-page incident; public, so it names no alert. */
const ANOTHER_ALERT = 'Another alert for {service} joined this incident; it now covers {count} alerts.';

/** `STATUSCAST_URL`, `STATUSCAST_API_TOKEN` and the monitor templates of `STATUSCAST_MONITORS_FILE`. */
export interface StatusCastSettings {
  url: string;
  apiToken: string;
  monitors: StatusPageMonitor[];
}

export interface StatusCastDeps {
  /** Absent: every call answers "not configured". */
  settings?: StatusCastSettings;
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/** What the workflow needs of a monitor template: its timers and switches, nothing secret. */
export interface StatusPagePlan {
  monitor: string;
  waitMs: number;
  combineAlerts: boolean;
  autoPublish: boolean;
  autoClose: boolean;
}

/** The parts of a v4 `Incident` this file reads (GET/POST/PUT answers and search items). */
interface StatusCastIncident {
  id: number;
  status?: 'Draft' | 'Future' | 'InProgress' | 'Closed';
  title?: string | null;
  shortUrl?: string | null;
  externalId?: string | null;
  endDate?: string | null;
  posts?: Array<{ id?: number | null; text?: string | null; postType?: string; isPublished?: boolean }> | null;
}

export interface StatusCastApi {
  /** Sends one request; throws `unavailable` on timeout or network failure, never on an HTTP status. */
  send(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<VendorAnswer>;
  /** The failure an unsuccessful answer stands for, in StatusCast's own words, without the token. */
  failure(answer: VendorAnswer, doing: string): ApplicationFailure;
}

/** StatusCast v4 on plain fetch: bearer token, JSON, a finite timeout, no retries of its own (Temporal owns them). */
export function createStatusCastApi(
  settings: Omit<StatusCastSettings, 'monitors'>,
  deps: Omit<StatusCastDeps, 'settings'> = {},
): StatusCastApi {
  const api = createJsonApi(deps, {
    vendor: VENDOR,
    baseUrl: settings.url,
    // Every 2xx of v4 is a JSON object (an incident or a search page); anything else is a broken answer.
    readable: (body) => body !== null && typeof body === 'object',
  });
  const redact = redactor([settings.apiToken]);

  return {
    async send(method, path, body) {
      const headers: Record<string, string> = { Authorization: `Bearer ${settings.apiToken}`, Accept: 'application/json' };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      return api.send(method, path, headers, body);
    },

    failure(answer, doing) {
      if (answer.status === 429) {
        return rateLimited(VENDOR, retryAfterMs(answer.headers.get('retry-after')) ?? RATE_LIMIT_FALLBACK_MS);
      }
      const words = redact(errorText(answer, redact));
      if (answer.status >= 500 || answer.status === 408) return unavailable(VENDOR, `${doing}: ${words}`);
      const hint =
        answer.status === 401 ? '; check STATUSCAST_API_TOKEN' : answer.status === 403 ? "; the token's user may not do this" : '';
      // 400, 401, 403, 404, 405...: the same request will be refused again.
      return nonRetryable(VENDOR, `${doing}: ${words}${hint}`, { status: answer.status });
    },
  };
}

/** StatusCast: the public status-page incident, one per incident or per monitor (combined alerts). */
export function createStatusCastActivities(deps: StatusCastDeps = {}) {
  const { settings } = deps;
  return {
    /** The monitor template for the incident's service, or undefined when none applies (or StatusCast has no settings). */
    async statusPagePlan(input: StepInput): Promise<StatusPagePlan | undefined> {
      const monitor = settings ? findMonitor(settings.monitors, input.service) : undefined;
      if (!monitor) return undefined;
      const { name, waitMs, combineAlerts, autoPublish, autoClose } = monitor;
      return { monitor: name, waitMs, combineAlerts, autoPublish, autoClose };
    },
    ...(settings ? statusPageSteps(settings, createStatusCastApi(settings, deps)) : unconfigured(VENDOR, STATUS_PAGE_STEPS)),
  };
}

/** The status-page steps on one StatusCast API. */
function statusPageSteps(settings: StatusCastSettings, api: StatusCastApi): Record<(typeof STATUS_PAGE_STEPS)[number], StepActivity> {
  const monitorFor = (name: string | undefined) => findMonitor(settings.monitors, name);

  /** The incident of `externalId`, if one exists: an open one before a closed one, newest first. */
  const findByExternalId = async (externalId: string): Promise<StatusCastIncident | undefined> => {
    const found: StatusCastIncident[] = [];
    for (let page = 1; page <= SEARCH_MAX_PAGES; page += 1) {
      const answer = await api.send('POST', '/api/v4/incidents', {
        externalId,
        incidentStatusBy: 'All',
        sortBy: 'DateCreated',
        sorting: 'Descending',
        pageNumber: page,
        pageSize: SEARCH_PAGE_SIZE,
      });
      if (answer.status !== 200) throw api.failure(answer, `look up incident ${externalId}`);
      const result = answer.body as { items?: unknown; pages?: unknown };
      const items = Array.isArray(result.items) ? (result.items as StatusCastIncident[]) : [];
      // The filter's matching rule is not documented (exact or contains): compare here.
      found.push(...items.filter((item) => item.externalId === externalId && typeof item.id === 'number'));
      const pages = typeof result.pages === 'number' ? result.pages : 1;
      if (page >= pages || items.length === 0) break;
    }
    return found.find((incident) => !isClosed(incident)) ?? found[0];
  };

  const getIncident = async (id: string): Promise<StatusCastIncident> => {
    const answer = await api.send('GET', `/api/v4/incident/${encodeURIComponent(id)}`);
    if (answer.status !== 200) throw api.failure(answer, `read incident ${id}`);
    return readIncident(answer, `read incident ${id}`);
  };

  /** A post on an existing incident (`PUT /api/v4/incident` with a post without id: StatusCast appends it). */
  const addPost = async (
    id: string,
    body: { sendNotifications: boolean; posts: unknown[] },
    doing: string,
  ): Promise<StatusCastIncident> => {
    const answer = await api.send('PUT', '/api/v4/incident', { id: Number(id), ...body });
    if (answer.status !== 200) throw api.failure(answer, doing);
    return readIncident(answer, doing);
  };

  return {
    /** Creates (or finds, by externalId) the StatusCast incident of `input.statusPage`. */
    async postStatusPage(input: StepInput): Promise<StepOutcome> {
      const ref: StatusPageRef = input.statusPage ?? { monitor: input.service ?? '', externalId: input.key };
      const monitor = monitorFor(ref.monitor);
      if (!monitor) {
        return {
          status: 'skipped',
          detail: ref.monitor
            ? `no status-page monitor for service "${ref.monitor}"`
            : 'no status-page monitor: the incident names no service',
        };
      }

      // Exactly once: an earlier attempt may have created it and lost the answer (applied, then 500 or a timeout).
      const earlier = await findByExternalId(ref.externalId);
      if (earlier) return created(earlier, ' (an earlier attempt created it)');

      const values = templateValues(input, ref);
      // v4 has no author field (the token's user is the author) and no employee list (notificationChannels reach subscribers).
      const body = {
        incidentType: monitor.incidentType,
        title: truncate(fill(monitor.subject, values), TITLE_LIMIT),
        isPublished: monitor.autoPublish,
        externalId: ref.externalId,
        posts: [
          {
            text: fill(monitor.message, values),
            date: input.triggeredAt ?? new Date().toISOString(),
            externalId: `${ref.externalId}-post-1`,
            isPublished: monitor.autoPublish,
            postType: 'Investigating',
            newComponentStatus: monitor.componentStatus,
          },
        ],
        affectedComponents: monitor.affectedComponents,
        sendNotifications: monitor.autoPublish,
      };
      const answer = await api.send('POST', '/api/v4/incident', body);
      if (answer.status !== 200) throw api.failure(answer, `create incident ${ref.externalId}`);
      return created(readIncident(answer, `create incident ${ref.externalId}`), '');
    },

    /** For combined alerts: one Informational post saying another alert joined, once per count. */
    async updateStatusPage(input: StepInput): Promise<StepOutcome> {
      const ref = input.statusPage;
      if (!ref?.id) return { status: 'skipped', detail: 'no StatusCast incident to update yet' };
      const monitor = monitorFor(ref.monitor);
      if (!monitor)
        return { status: 'skipped', detail: `no status-page monitor "${ref.monitor}": StatusCast incident ${ref.id} is left as it is` };
      const id = checkedId(ref.id);
      const count = ref.incidents ?? 1;
      const text = fill(ANOTHER_ALERT, templateValues(input, ref));

      const incident = await getIncident(id);
      if (isClosed(incident)) return { status: 'skipped', detail: `StatusCast incident ${id} is closed: no update posted` };
      // v4 answers posts without their externalId, so an earlier attempt's post is recognised by its text (it holds the count).
      if (incident.posts?.some((post) => post.postType === 'Informational' && post.text === text)) {
        return {
          status: 'done',
          ref: id,
          url: incident.shortUrl ?? undefined,
          detail: `update already on StatusCast incident ${id} (an earlier attempt)`,
        };
      }
      const published = incident.status !== 'Draft';
      const updated = await addPost(
        id,
        {
          // One more alert is not news to subscribers: the post shows on the page without a notification.
          sendNotifications: false,
          posts: [
            {
              text,
              date: new Date().toISOString(),
              externalId: `${ref.externalId}-update-${count}`,
              isPublished: published,
              postType: 'Informational',
            },
          ],
        },
        `update incident ${id}`,
      );
      return {
        status: 'done',
        ref: id,
        url: updated.shortUrl ?? incident.shortUrl ?? undefined,
        detail: `StatusCast incident ${id} now covers ${count} alerts`,
      };
    },

    /** Closes `input.statusPage.id` with the monitor's closing comment, when auto-close is on. */
    async closeStatusPage(input: StepInput): Promise<StepOutcome> {
      const ref = input.statusPage;
      if (!ref?.id) return { status: 'skipped', detail: 'no StatusCast incident to close: none was created' };
      const monitor = monitorFor(ref.monitor);
      if (!monitor)
        return {
          status: 'skipped',
          detail: `no status-page monitor "${ref.monitor}": StatusCast incident ${ref.id} is left open for a human`,
        };
      if (!monitor.autoClose)
        return { status: 'skipped', detail: `auto-close is off: StatusCast incident ${ref.id} is left open for a human` };
      const id = checkedId(ref.id);

      const incident = await getIncident(id);
      const url = incident.shortUrl ?? undefined;
      if (isClosed(incident)) return { status: 'done', ref: id, url, detail: `StatusCast incident ${id} already closed` };
      const published = incident.status !== 'Draft';
      const closed = await addPost(
        id,
        {
          sendNotifications: published,
          posts: [
            {
              text: fill(monitor.closingComment, templateValues(input, ref)),
              date: new Date().toISOString(),
              externalId: `${ref.externalId}-closed`,
              isPublished: true,
              postType: 'Closed',
              newComponentStatus: 'Available',
            },
          ],
        },
        `close incident ${id}`,
      );
      return { status: 'done', ref: id, url: closed.shortUrl ?? url, detail: `StatusCast incident ${id} closed` };
    },
  };
}

function created(incident: StatusCastIncident, suffix: string): StepOutcome {
  const state = isClosed(incident) ? 'is closed' : incident.status === 'Draft' ? 'saved as a draft (auto-publish off)' : 'published';
  return {
    status: 'done',
    ref: String(incident.id),
    url: incident.shortUrl ?? undefined,
    detail: `StatusCast incident ${incident.id} ${state}${suffix}`,
  };
}

/** Closed by status, or by a Closed post whose status change has not shown yet. */
function isClosed(incident: StatusCastIncident): boolean {
  return incident.status === 'Closed' || Boolean(incident.posts?.some((post) => post.postType === 'Closed'));
}

function readIncident(answer: VendorAnswer, doing: string): StatusCastIncident {
  const incident = answer.body as Partial<StatusCastIncident> | undefined;
  if (typeof incident?.id !== 'number') throw unavailable(VENDOR, `${doing}: the answer holds no incident id (HTTP ${answer.status})`);
  return incident as StatusCastIncident;
}

/** StatusCast ids are int32; anything else in the workflow's ref is a bug no retry fixes. */
function checkedId(id: string): string {
  if (!/^\d{1,10}$/.test(id)) throw nonRetryable(VENDOR, `"${id}" is not a StatusCast incident id`);
  return id;
}

function templateValues(input: StepInput, ref: StatusPageRef): Record<string, string> {
  return {
    title: input.title,
    service: input.service ?? ref.monitor,
    severity: input.severity ?? 'unknown',
    key: input.key,
    count: String(ref.incidents ?? 1),
  };
}

/** Fills `{title}`, `{service}`, `{severity}`, `{key}` and `{count}`; other braces are left as written. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(title|service|severity|key|count)\}/g, (_, name: string) => values[name] ?? '');
}

/**
 * StatusCast's words, one line. v4 documents no error body; ASP.NET's problem details
 * (`title`, `detail`, `errors{field:[...]}`) and a plain `message` are both read.
 */
function errorText(answer: VendorAnswer, redact: (text: string) => string): string {
  const body = answer.body as { title?: unknown; detail?: unknown; message?: unknown; errors?: unknown } | string | undefined;
  const parts: string[] = [];
  if (typeof body === 'string' && body.trim()) parts.push(prefix(redact(body.trim()), 200));
  else if (body && typeof body === 'object') {
    for (const value of [body.message, body.title, body.detail]) {
      if (typeof value === 'string' && value.trim() && !parts.includes(value.trim())) parts.push(value.trim());
    }
    if (body.errors && typeof body.errors === 'object') {
      const fields = Array.isArray(body.errors)
        ? body.errors.filter((item): item is string => typeof item === 'string')
        : Object.entries(body.errors as Record<string, unknown>).map(
            ([field, messages]) => `${field}: ${Array.isArray(messages) ? messages.join(' ') : String(messages)}`,
          );
      if (fields.length > 0) parts.push(fields.join('; '));
    }
  }
  const said = parts.length > 0 ? parts.join(': ') : (STATUS_TEXT[answer.status] ?? 'no error message');
  return `${said} (HTTP ${answer.status})`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  415: 'Unsupported Media Type',
};
