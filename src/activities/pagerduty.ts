import { asyncLocalStorage, type ApplicationFailure } from '@temporalio/activity';
import { nonRetryable, rateLimited, retryAfterMs, unavailable } from './errors.js';
import { notConfigured, type StepInput, type StepOutcome } from './step.js';

const VENDOR = 'PagerDuty';
const DEFAULT_TIMEOUT_MS = 10_000;
/** PagerDuty may answer 429 without its ratelimit headers (REST rate-limit docs); wait a third of its one-minute window. */
const RATE_LIMIT_FALLBACK_MS = 20_000;

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
}

export interface PagerDutyDeps {
  /** Absent: every call answers "not configured" (or nothing to look up). */
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

export interface PagerDutyAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface PagerDutyRest {
  /** Sends one request; throws `unavailable` on timeout or network failure, never on an HTTP status. */
  send(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<PagerDutyAnswer>;
  /** The failure an unsuccessful answer stands for, in PagerDuty's own words. */
  failure(answer: PagerDutyAnswer, doing: string): ApplicationFailure;
}

/** A PagerDuty REST v2 client on plain fetch: the documented headers, a finite timeout, no retries of its own. */
export function createPagerDutyRest(settings: PagerDutyRestSettings, options: Omit<PagerDutyDeps, 'pagerduty'> = {}): PagerDutyRest {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = settings.apiUrl.replace(/\/+$/, '');
  const redact = (text: string) => text.split(settings.apiToken).join('<redacted>');

  return {
    async send(method, path, body) {
      const headers: Record<string, string> = {
        Authorization: `Token token=${settings.apiToken}`,
        Accept: 'application/vnd.pagerduty+json;version=2',
        // The spec lists Content-Type as required on every operation, reads included.
        'Content-Type': 'application/json',
      };
      if (method !== 'GET') headers.From = settings.fromEmail;
      let response: Response;
      try {
        response = await fetchImpl(`${base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: requestSignal(timeoutMs),
        });
      } catch (err) {
        throw unavailable(VENDOR, `${method} ${path}: ${networkProblem(err, timeoutMs)}`);
      }
      const text = await response.text().catch(() => '');
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      if (response.ok && (parsed === undefined || typeof parsed === 'string')) {
        throw unavailable(VENDOR, `${method} ${path}: HTTP ${response.status} with an unreadable body`);
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },

    failure(answer, doing) {
      const words = redact(errorText(answer));
      if (answer.status === 429) {
        const wait =
          retryAfterMs(answer.headers.get('retry-after')) ??
          retryAfterMs(answer.headers.get('ratelimit-reset')) ??
          RATE_LIMIT_FALLBACK_MS;
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

/** PagerDuty: assignee look-ups now; state sync and change events with issue 4. */
export function createPagerDutyActivities(deps: PagerDutyDeps = {}) {
  const rest = deps.pagerduty ? createPagerDutyRest(deps.pagerduty, deps) : undefined;

  return {
    async syncPagerDuty(_input: StepInput): Promise<StepOutcome> {
      if (!rest) return notConfigured('PagerDuty');
      return { status: 'skipped', detail: 'PagerDuty state sync is not built yet (issue 4)' };
    },

    /** Change event (`/v2/change/enqueue`) for `input.change`; skipped without PAGERDUTY_CHANGE_ROUTING_KEY. */
    async sendChangeEvent(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('PagerDuty change events');
    },

    /** Events API v2 trigger naming `input.failure`; dedup key per incident and step. */
    async raiseFailureAlert(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('PagerDuty failure alerts');
    },

    /** Events API v2 resolve of the failure alert for `input.failure.step`. */
    async resolveFailureAlert(_input: StepInput): Promise<StepOutcome> {
      return notConfigured('PagerDuty failure alerts');
    },

    /** E-mails of a PagerDuty incident's assignees (`GET /users/{id}`), for Slack invitations. */
    async assigneeEmails(input: StepInput): Promise<AssigneeEmails> {
      if (input.source !== 'pagerduty') return { emails: [], unknown: [], skipped: `${input.source} incidents have no PagerDuty assignees` };
      const ids = [...new Set(input.assignees)];
      if (ids.length === 0) return { emails: [], unknown: [], skipped: 'the incident has no assignees' };
      if (!rest) return { emails: [], unknown: [], skipped: 'not configured (PagerDuty REST API)' };
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

/** The attempt's timeout, joined with the activity's cancellation when there is one (worker shutdown). */
export function requestSignal(timeoutMs: number): AbortSignal {
  const cancellation = asyncLocalStorage.getStore()?.cancellationSignal;
  const timeout = AbortSignal.timeout(timeoutMs);
  return cancellation ? AbortSignal.any([timeout, cancellation]) : timeout;
}

/** A network failure in words that never include the URL (it may carry a secret). */
export function networkProblem(err: unknown, timeoutMs: number): string {
  const error = err as { name?: string; cause?: { code?: string; name?: string } };
  if (error?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (error?.name === 'AbortError') return 'cancelled';
  const code = error?.cause?.code ?? error?.cause?.name;
  return code ? `network error (${code})` : 'network error';
}

/** `{"error":{"message","code","errors":[...]}}` as one line: "Invalid Input Provided: From header... (HTTP 400, code 2001)". */
function errorText(answer: PagerDutyAnswer): string {
  const error = (answer.body as { error?: { message?: unknown; errors?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : typeof answer.body === 'string' && answer.body ? answer.body.slice(0, 200) : 'no error message';
  const details = Array.isArray(error?.errors) ? error.errors.filter((item): item is string => typeof item === 'string') : [];
  const code = errorCode(answer.body);
  return `${message}${details.length > 0 ? `: ${details.join('; ')}` : ''} (HTTP ${answer.status}${code === undefined ? '' : `, code ${code}`})`;
}

function errorCode(body: unknown): number | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'number' ? code : undefined;
}
