import { createHash } from 'node:crypto';
import { z } from 'zod';
import { optionalString, secret } from '../env.js';
import { incidentKey } from '../shared/ids.js';
import { SEVERITIES, type IncidentEvent } from '../shared/incident.js';
import { defineSource, firstIssue, header, parseJson, verifyBearer, type InboundRequest, type Normalised } from './source.js';

const text = (max: number) => z.string().trim().min(1).max(max);

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** `POST /incidents`: any tool that can send JSON. */
export const genericIncidentBody = z.strictObject({
  id: text(256),
  title: text(1024),
  severity: z.enum(SEVERITIES).optional(),
  service: text(256).optional(),
  details: z
    .record(z.string().max(256), z.string().max(4096))
    .optional()
    .refine((value) => !value || Object.keys(value).length <= 50, 'at most 50 details'),
  links: z
    .array(z.object({ label: text(256), url: httpUrl }))
    .max(20)
    .optional(),
  responders: z.array(z.email().max(320)).max(100).optional(),
  by: text(256).optional(),
});

/** `POST /incidents/:key/acknowledge|resolve`. */
export const actorNoteBody = z.strictObject({
  by: text(256).optional(),
  note: z.string().max(4096).optional(),
});

/** A stable id for a request body, so a retried POST is recognised as the same delivery. */
export function bodyDigest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32);
}

/** Turns a generic API body into a trigger event. */
export function normaliseGeneric(value: unknown, deliveryId: string, now = new Date()): Normalised {
  const parsed = genericIncidentBody.safeParse(value);
  if (!parsed.success) return { invalid: firstIssue(parsed.error.issues) };
  const body = parsed.data;
  const event: IncidentEvent = {
    source: 'api',
    externalId: body.id,
    key: incidentKey('api', body.id),
    kind: 'trigger',
    eventId: `api-${deliveryId}`,
    title: body.title,
    severity: body.severity,
    service: body.service,
    links: body.links ?? [],
    actor: body.by ?? 'API',
    occurredAt: now.toISOString(),
    responders: body.responders,
    details: body.details,
  };
  return { event };
}

/** Longest Idempotency-Key kept; a longer one is cut, not refused. */
const MAX_IDEMPOTENCY_KEY = 128;

/** The delivery a POST is: its Idempotency-Key when it sends one, else a digest of its body. */
function deliveryIdOf(req: InboundRequest): string {
  const idempotencyKey = header(req, 'idempotency-key');
  return idempotencyKey ? idempotencyKey.slice(0, MAX_IDEMPOTENCY_KEY) : bodyDigest(req.body);
}

/** The generic API (`POST /incidents`): any tool that can send JSON, with the warroom API token. */
export const apiSource = defineSource({
  name: 'api',
  label: 'API',
  path: '/incidents',
  contentTypes: ['application/json'],
  variables: {
    /** Bearer token of every `/incidents` route; unset leaves them open. */
    WARROOM_API_TOKEN: secret(optionalString),
  },
  settings: (values) => ({ token: values.WARROOM_API_TOKEN }),
  authenticate: (headers, settings) => verifyBearer(headers, settings.token),
  normalise(req) {
    const json = parseJson(req.body);
    return 'invalid' in json ? json : normaliseGeneric(json.value, deliveryIdOf(req));
  },
});
