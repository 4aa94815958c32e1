import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_KINDS, SEVERITIES } from '../src/shared/incident.js';
import { actorNoteSchema, incidentEventSchema, noteSchema, readMessage, type MessageSchema } from '../src/shared/message-schemas.js';

// The workflow reads its messages without zod (zod cost every run CPU and memory in the sandbox);
// these zod schemas are the reference it is held to: the same payloads accepted, read the same,
// and refused for the same first reason in the same words.

const text = (max: number) => z.string().max(max);
const zodActorNote = z.object({ by: text(256).trim().min(1), note: text(4096).optional(), via: text(64).min(1).optional() });
const zodNote = z.object({
  by: text(256).trim().min(1),
  note: text(4096).trim().min(1),
  via: text(64).min(1).optional(),
  id: text(256).min(1).optional(),
});
const zodIncidentEvent = z.object({
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
  slackResponders: z.array(text(64).min(1)).max(500).optional(),
  assignees: z.array(text(256)).max(500).optional(),
  details: z.record(text(256), text(20480)).optional(),
  via: text(64).optional(),
});

/** What zod makes of a payload, in readMessage's terms. */
function zodRead(schema: z.ZodType, payload: unknown): { value: unknown } | { problem: string } {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { value: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return { problem: `${where}${issue?.message ?? 'invalid'}` };
}

function agrees(ours: MessageSchema<unknown>, reference: z.ZodType, payload: unknown): void {
  const read = readMessage(ours, payload);
  expect(read).toEqual(zodRead(reference, payload));
  // Same keys in the same order: the state a run keeps is the same object either way.
  if ('value' in read) expect(JSON.stringify(read.value)).toBe(JSON.stringify((zodRead(reference, payload) as { value: unknown }).value));
}

/** Strings near each limit, blank ones, and values of other types. */
const textish = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('', '   ', ' padded '),
    fc.nat({ max: 3 }).map((extra) => 'x'.repeat(max - 1 + extra)),
    fc.constantFrom(null, 5, true, [], {}),
  );
const optionalOf = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const arrayish = <T>(item: fc.Arbitrary<T>, max: number) =>
  fc.oneof(
    fc.array(item, { maxLength: 3 }),
    fc.nat({ max: 2 }).map((extra) => Array.from({ length: max - 1 + extra }, () => 'a')),
    fc.constantFrom(null, 'a', {}),
  );

const actorNotes = fc.oneof(
  fc.record({ by: textish(256), note: optionalOf(textish(4096)), via: optionalOf(textish(64)), extra: optionalOf(fc.string()) }),
  fc.constantFrom(null, 'garbage', 5, [], {}),
);

const notes = fc.oneof(
  fc.record({
    by: textish(256),
    note: textish(4096),
    via: optionalOf(textish(64)),
    id: optionalOf(textish(256)),
    extra: optionalOf(fc.string()),
  }),
  fc.constantFrom(null, 'garbage', 5, [], {}),
);

const incidentEvents = fc.oneof(
  fc.record(
    {
      source: textish(64),
      externalId: textish(1024),
      key: textish(128),
      kind: fc.oneof(fc.constantFrom(...EVENT_KINDS), fc.constantFrom('explode', 3)),
      eventId: textish(512),
      title: optionalOf(textish(8192)),
      severity: optionalOf(fc.oneof(fc.constantFrom(...SEVERITIES), fc.constant('sev1'))),
      service: optionalOf(textish(512)),
      links: fc.oneof(arrayish(fc.record({ label: textish(2048), url: textish(4096) }), 100), fc.constant([{ label: 'a' }])),
      actor: textish(1024),
      occurredAt: textish(64),
      note: optionalOf(textish(65536)),
      responders: optionalOf(arrayish(textish(320), 500)),
      slackResponders: optionalOf(arrayish(textish(64), 500)),
      assignees: optionalOf(arrayish(textish(256), 500)),
      details: optionalOf(
        fc.oneof(
          fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constant('k'.repeat(257))), textish(20480), { maxKeys: 3 }),
          fc.constantFrom(null, [], 'a'),
        ),
      ),
      via: optionalOf(textish(64)),
      unknown: optionalOf(fc.string()),
    },
    { requiredKeys: ['source', 'externalId', 'key', 'kind', 'eventId', 'links', 'actor', 'occurredAt'] },
  ),
  fc.constantFrom(null, 'garbage', [], {}),
);

/** A well-formed event, so that the property runs cover acceptance as well as refusal. */
const wellFormed = {
  source: 'pagerduty',
  externalId: 'Q1',
  key: 'pagerduty-q1',
  kind: 'trigger',
  eventId: 'e1',
  title: 'Checkout errors',
  links: [{ label: 'PagerDuty', url: 'https://example.pagerduty.com/incidents/Q1' }],
  actor: 'PagerDuty',
  occurredAt: '2026-03-14T09:00:00Z',
  details: { region: 'eu-west-1', __proto__: 'x' },
  responders: ['ana@example.com'],
  slackResponders: ['U0DANA'],
  extra: 'dropped',
};

describe('message readers in the workflow', () => {
  it('read an actor note as zod would: same value, same first problem in the same words', () => {
    fc.assert(
      fc.property(actorNotes, (payload) => agrees(actorNoteSchema, zodActorNote, payload)),
      { numRuns: 2000 },
    );
  });

  it('read a note as zod would: same value, same first problem in the same words', () => {
    fc.assert(
      fc.property(notes, (payload) => agrees(noteSchema, zodNote, payload)),
      { numRuns: 2000 },
    );
    agrees(noteSchema, zodNote, { by: 'dana.oncall', note: ' rolled back ', via: 'slack', id: 'slack-1a2b' });
  });

  it('read an incident event as zod would: same value, same first problem in the same words', () => {
    fc.assert(
      fc.property(incidentEvents, (payload) => agrees(incidentEventSchema, zodIncidentEvent, payload)),
      { numRuns: 2000 },
    );
    agrees(incidentEventSchema, zodIncidentEvent, JSON.parse(JSON.stringify(wellFormed)));
  });

  it('trims who acted, leaves out keys it does not know, and throws a problem from parse', () => {
    expect(actorNoteSchema.parse({ by: '  ana ', via: 'slack', token: 'x' })).toEqual({ by: 'ana', via: 'slack' });
    expect(() => actorNoteSchema.parse({ by: ' ' })).toThrow('by: Too small: expected string to have >=1 characters');
    expect(readMessage(actorNoteSchema, 'garbage')).toEqual({ problem: 'Invalid input: expected object, received string' });
  });
});
