import { OWN_MONITORING_TOOL } from '../shared/echo.js';
import { prefix, truncate } from '../shared/text.js';
import { nonRetryable, rateLimited, redactor, retryAfterMs, unavailable } from './errors.js';
import { changeAuthor } from './pagerduty.js';
import { notConfigured, type StepInput, type StepOutcome } from './step.js';
import { sendJson, type VendorTransport } from './vendor-http.js';

/** VictorOps documents no Retry-After; when a 429 carries none, wait this long. */
const VICTOROPS_RATE_LIMIT_FALLBACK_MS = 30_000;
/** Documented VictorOps REST field limits (API-NOTES §1c). */
const VICTOROPS_LIMITS = { field: 1024, stateMessage: 20480, entityId: 512, annotation: 1124 } as const;

export interface VictorOpsDeps {
  /** The worker's one endpoint client (createActivities shares it with postTimelineNote); built from `restUrl` when absent. */
  endpoint?: VictorOpsEndpoint;
  /** `VICTOROPS_REST_URL`: the REST endpoint URL, API key and routing key included. A secret. */
  restUrl?: string;
  /** `VICTOROPS_SYNC`: off leaves VictorOps incidents to their own tool. */
  sync: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** VictorOps state sync: ACKNOWLEDGEMENT / RECOVERY for changes made elsewhere. */
export function createVictorOpsActivities(deps: VictorOpsDeps) {
  const endpoint = deps.endpoint ?? (deps.restUrl ? createVictorOpsEndpoint(deps.restUrl, deps) : undefined);

  return {
    /**
     * ACKNOWLEDGEMENT or RECOVERY under the incident's entity_id, for a change made outside VictorOps.
     * The post carries warroom's monitoring_tool, so its echo through VictorOps' outgoing webhook is
     * ignored by the VictorOps source. The REST endpoint has no read-back: a retry after a lost answer
     * repeats the post, which leaves an acknowledged (or resolved) incident as it is.
     */
    async syncVictorOps(input: StepInput): Promise<StepOutcome> {
      if (input.source !== 'victorops')
        return { status: 'skipped', detail: `${input.source} incidents have no VictorOps incident to update` };
      if (!deps.sync) return { status: 'skipped', detail: 'VictorOps sync is off (VICTOROPS_SYNC=false)' };
      if (!endpoint) return notConfigured('VictorOps REST endpoint');
      if (input.status !== 'acknowledged' && input.status !== 'resolved') {
        return { status: 'skipped', detail: `nothing to tell VictorOps: the incident is ${input.status}` };
      }
      if (input.origin === 'victorops')
        return { status: 'skipped', detail: `the ${input.status === 'resolved' ? 'resolve' : 'acknowledge'} came from VictorOps itself` };
      const entityId = input.details?.entity_id;
      if (!entityId)
        return {
          status: 'skipped',
          detail: 'no VictorOps entity_id known for this incident: VictorOps could not tell which incident to change',
        };
      checkEntityId(entityId);

      const resolved = input.status === 'resolved';
      const words = `${resolved ? 'Resolved' : 'Acknowledged'} by ${changeAuthor(input)}${input.note ? `: ${input.note}` : ''} (synced by warroom)`;
      await endpoint.post({
        message_type: resolved ? 'RECOVERY' : 'ACKNOWLEDGEMENT',
        entity_id: entityId,
        entity_display_name: entityDisplayName(input),
        state_message: truncate(words, VICTOROPS_LIMITS.stateMessage),
        ack_author: truncate(input.actor?.trim() || 'warroom', VICTOROPS_LIMITS.field),
        ack_msg: truncate(words, VICTOROPS_LIMITS.field),
        // What the VictorOps source reads as an echo of warroom's own post.
        monitoring_tool: OWN_MONITORING_TOOL,
        warroom_ref: truncate(input.workflowId, VICTOROPS_LIMITS.field),
      });
      return {
        status: 'done',
        detail: `${resolved ? 'RECOVERY' : 'ACKNOWLEDGEMENT'} sent to VictorOps for ${entityId}, for ${changeAuthor(input)}`,
      };
    },
  };
}

/**
 * `postTimelineNote` for a VictorOps incident: `lines` as an INFO alert under its entity_id (INFO
 * never pages and never changes the incident's state; ACKNOWLEDGEMENT/RECOVERY would). The REST
 * endpoint has no read-back and no idempotency key, so exactly-once cannot be had here: a retry
 * after a lost answer (VictorOps applied the post, then 500 or timeout) posts a second INFO. What
 * is guaranteed: the activity is retried only after such an ambiguous failure (4xx and 429 are not
 * applied), the workflow records the step once done so replays never post again, and every repeat
 * is byte-identical (no timestamp, same fields, `warroom_ref`) so it reads as a duplicate, not as
 * news. Whether VictorOps folds an INFO with the same entity_id into the open incident is not
 * documented (API-NOTES §1c), so a duplicate may show on the timeline.
 */
export async function postTimelineInfo(endpoint: VictorOpsEndpoint, input: StepInput, lines: string[]): Promise<StepOutcome> {
  const entityId = input.details?.entity_id;
  if (!entityId) {
    return { status: 'skipped', detail: 'no VictorOps entity_id known for this incident: an INFO without it would not reach the incident' };
  }
  checkEntityId(entityId);
  const alert: Record<string, string> = {
    message_type: 'INFO',
    entity_id: entityId,
    // The incident's own name: if VictorOps rolls the INFO into the incident, the card keeps its title.
    entity_display_name: entityDisplayName(input),
    state_message: truncate(lines.join('\n'), VICTOROPS_LIMITS.stateMessage),
    monitoring_tool: OWN_MONITORING_TOOL,
    // Ours, when VictorOps echoes it back through an outgoing webhook.
    warroom_ref: truncate(input.workflowId, VICTOROPS_LIMITS.field),
  };
  const jiraUrl = input.ticket?.url;
  const slackUrl = input.channel?.url;
  if (jiraUrl && jiraUrl.length <= VICTOROPS_LIMITS.annotation) alert['vo_annotate.u.Jira'] = jiraUrl;
  if (slackUrl && slackUrl.length <= VICTOROPS_LIMITS.annotation) alert['vo_annotate.u.Slack'] = slackUrl;
  await endpoint.post(alert);
  return { status: 'done', detail: `INFO posted to the VictorOps timeline of ${entityId}` };
}

/** An entity_id VictorOps would refuse fails the step for good: resending it cannot help. */
function checkEntityId(entityId: string): void {
  if (entityId.length > VICTOROPS_LIMITS.entityId) {
    throw nonRetryable('VictorOps', `entity_id is ${entityId.length} characters, over the ${VICTOROPS_LIMITS.entityId} VictorOps accepts`);
  }
}

/**
 * The incident's name on a VictorOps alert, within the field limit. Not defaultTitle on purpose:
 * inside VictorOps the tool's own name says nothing, and the untitled fallback stays as VictorOps
 * has always shown it (an INFO repeated by a retry must match the first byte for byte).
 */
function entityDisplayName(input: Pick<StepInput, 'title' | 'externalId'>): string {
  return truncate(input.title || `Incident ${input.externalId}`, VICTOROPS_LIMITS.field);
}

/** The REST endpoint integration: one JSON alert per call. */
export interface VictorOpsEndpoint {
  /** Posts one alert; throws the failure an unsuccessful answer stands for, never naming the URL or key. */
  post(alert: Record<string, string>): Promise<void>;
}

/**
 * The REST endpoint behind `VICTOROPS_REST_URL`. Its path holds the API key, so neither the URL
 * nor the key ever goes into a message: every text is built here and passed through `redact`.
 */
export function createVictorOpsEndpoint(restUrl: string, options: VendorTransport = {}): VictorOpsEndpoint {
  const redact = redactor(secretParts(restUrl));

  return {
    async post(alert) {
      const answer = await sendJson(options, {
        vendor: 'VictorOps',
        doing: 'REST endpoint',
        method: 'POST',
        url: restUrl,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: alert,
        redact,
      });
      const { status } = answer;
      // A body that is not JSON arrives as its text, whose fields read as undefined.
      const body = answer.body as { result?: unknown; message?: unknown } | undefined;
      const said = typeof body?.message === 'string' ? body.message : prefix(redact(answer.text), 200) || 'no message';
      if (status === 200 && body?.result === 'success') return;
      if (status === 429) {
        throw rateLimited('VictorOps', retryAfterMs(answer.headers.get('retry-after')) ?? VICTOROPS_RATE_LIMIT_FALLBACK_MS);
      }
      if (status >= 500 || status === 408) {
        throw unavailable('VictorOps', redact(`REST endpoint answered HTTP ${status}: ${said}`));
      }
      if (status === 404) {
        // Wrong key or routing path; VictorOps does not document the status (404 is what integrators report).
        throw nonRetryable(
          'VictorOps',
          redact(`REST endpoint refused the post (HTTP 404: ${said}); check the API key in VICTOROPS_REST_URL`),
          { status: 404 },
        );
      }
      // 400, 401, 403, or a 200 saying "failure": the body was refused and resending it cannot help.
      throw nonRetryable('VictorOps', redact(`REST endpoint refused the post (HTTP ${status}: ${said})`), { status });
    },
  };
}

/**
 * What must never be shown of the REST URL: the whole URL, and the API key segment
 * (`…/alert/{apiKey}/{routingKey}`) as sent and as decoded. An unexpected shape hides the whole path.
 */
function secretParts(restUrl: string): string[] {
  const parts = [restUrl];
  try {
    const url = new URL(restUrl);
    const segments = url.pathname.split('/').filter(Boolean);
    const at = segments.lastIndexOf('alert');
    const key = at >= 0 && at < segments.length - 1 ? segments[at + 1] : undefined;
    if (key) parts.push(key, decodeURIComponent(key));
    else if (url.pathname.length > 1) parts.push(url.pathname);
    if (url.password) parts.push(url.password);
  } catch {
    // Not a URL: only the whole string is known to be secret.
  }
  // Too short to hide without mangling the message; `redactor` replaces the whole URL before its parts.
  return parts.filter((part) => part.length >= 4);
}
