import { currentActivity } from './activity-context.js';
import { unavailable } from './errors.js';

const DEFAULT_TIMEOUT_MS = 10_000;

/** How a plain-fetch vendor is reached: the injected fetch (tests point it at fakes) and a per-request timeout. */
export interface VendorTransport {
  fetch?: typeof fetch;
  /** Per HTTP request; the activity's own timeout bounds the whole attempt. */
  timeoutMs?: number;
}

/** One JSON request; headers, URL and the words of failures are the vendor's own. */
export interface JsonRequest {
  /** Names the vendor in failures: `PagerDuty`, `StatusCast`. */
  vendor: string;
  /** What a failure calls the request (`GET /incidents/Q1`, `REST endpoint`); never the URL, which may hold a secret. */
  doing: string;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON; absent: no body. */
  body?: unknown;
  /** Whether a 2xx body is one the vendor sends; when it is not, the answer is `unavailable` ("unreadable body"). Absent: any body. */
  readable?: (body: unknown) => boolean;
  /** Applied to the network-failure message, for vendors whose secrets could otherwise reach it. */
  redact?: (text: string) => string;
}

/** One answer, whatever its status. */
export interface VendorAnswer {
  status: number;
  headers: Headers;
  /** The body as JSON; its text when it is not JSON; undefined when empty. */
  body: unknown;
  /** The body as sent, for error messages of bodies that are not the vendor's JSON. */
  text: string;
}

/**
 * Sends one JSON request on plain fetch, with no retries of its own (Temporal owns them). Throws
 * `unavailable` on a timeout, a network failure or an unreadable 2xx body, never on an HTTP status.
 */
export async function sendJson(transport: VendorTransport, request: JsonRequest): Promise<VendorAnswer> {
  const fetchImpl = transport.fetch ?? fetch;
  const timeoutMs = transport.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { vendor, doing, method, body } = request;
  const redact = request.redact ?? ((text: string) => text);
  let response: Response;
  try {
    response = await fetchImpl(request.url, {
      method,
      headers: request.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: requestSignal(timeoutMs),
    });
  } catch (err) {
    throw unavailable(vendor, redact(`${doing}: ${networkProblem(err, timeoutMs)}`));
  }
  const text = await response.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (response.ok && request.readable && !request.readable(parsed)) {
    throw unavailable(vendor, `${doing}: HTTP ${response.status} with an unreadable body`);
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** A vendor's JSON REST API at one base URL. */
export interface JsonApi {
  /** Sends one request; failures name it `METHOD path`, never the URL. Throws as `sendJson` does. */
  send(method: JsonRequest['method'], path: string, headers: Record<string, string>, body?: unknown): Promise<VendorAnswer>;
}

/** A JSON REST API at `baseUrl` (trailing slashes ignored), with the vendor's rule for a readable 2xx body. */
export function createJsonApi(transport: VendorTransport, api: Pick<JsonRequest, 'vendor' | 'readable'> & { baseUrl: string }): JsonApi {
  const base = api.baseUrl.replace(/\/+$/, '');
  return {
    send: (method, path, headers, body) =>
      sendJson(transport, {
        vendor: api.vendor,
        doing: `${method} ${path}`,
        method,
        url: `${base}${path}`,
        headers,
        body,
        readable: api.readable,
      }),
  };
}

/** The attempt's timeout, joined with the activity's cancellation when there is one (worker shutdown). */
function requestSignal(timeoutMs: number): AbortSignal {
  const cancellation = currentActivity()?.cancellationSignal;
  const timeout = AbortSignal.timeout(timeoutMs);
  return cancellation ? AbortSignal.any([timeout, cancellation]) : timeout;
}

/** A network failure in words that never include the URL (it may carry a secret). */
function networkProblem(err: unknown, timeoutMs: number): string {
  const error = err as { name?: string; cause?: { code?: string; name?: string } };
  if (error?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (error?.name === 'AbortError') return 'cancelled';
  const code = error?.cause?.code ?? error?.cause?.name;
  return code ? `network error (${code})` : 'network error';
}
