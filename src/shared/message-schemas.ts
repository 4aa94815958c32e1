/**
 * The shapes of the messages an incident run accepts, checked by the workflow itself: signals and
 * updates can come from any service (or `temporal workflow signal`), not only from warroom's API,
 * and a malformed one must change nothing. Pure: imported by workflow code.
 */
import { z } from 'zod';
import { EVENT_KINDS, SEVERITIES, type ActorNote, type IncidentEvent } from './incident.js';

const text = (max: number) => z.string().max(max);

/** `{ by, note?, via? }`: who acknowledges, resolves or retries, and through what. */
export const actorNoteSchema = z.object({
  by: text(256).trim().min(1),
  note: text(4096).optional(),
  via: text(64).min(1).optional(),
}) satisfies z.ZodType<ActorNote>;

/** A normalised webhook, as the ingress sends it with `incidentEvent`. */
export const incidentEventSchema = z.object({
  source: text(64).min(1),
  externalId: text(1024).min(1),
  key: text(128).min(1),
  kind: z.enum(EVENT_KINDS),
  eventId: text(512).min(1),
  title: text(8192).optional(),
  severity: z.enum(SEVERITIES).optional(),
  service: text(512).optional(),
  links: z.array(z.object({ label: text(2048), url: text(4096) })).max(100),
  actor: text(1024),
  occurredAt: text(64).min(1),
  note: text(65536).optional(),
  responders: z.array(text(320)).max(500).optional(),
  assignees: z.array(text(256)).max(500).optional(),
  details: z.record(text(256), text(20480)).optional(),
  via: text(64).optional(),
}) satisfies z.ZodType<IncidentEvent>;

/** The payload as `T`, or why it is not one ("by: expected string, received number"). */
export function readMessage<T>(schema: z.ZodType<T>, payload: unknown): { value: T } | { problem: string } {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { value: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return { problem: `${where}${issue?.message ?? 'invalid'}` };
}
