/**
 * The shapes of the messages an incident run accepts, checked by the workflow itself: signals and
 * updates can come from any service (or `temporal workflow signal`), not only from warroom's API,
 * and a malformed one must change nothing. Pure: imported by workflow code.
 *
 * Small readers, not zod: every incident run evaluates its workflow modules afresh in the sandbox,
 * and zod there cost each run about 4 ms of CPU and each open incident about 1 MiB (bench:e2e,
 * bench:footprint). Problems are worded as zod words them; test/message-schemas.test.ts holds
 * these readers to zod schemas of the same shapes.
 */
import { EVENT_KINDS, SEVERITIES, type ActorNote, type IncidentEvent, type IncidentNote } from './incident.js';

/** The payload as `T`, or why it is not one (`by: Invalid input: expected string, received number`). */
export type Read<T> = { value: T } | { problem: string };

type Path = readonly (string | number)[];
/** One value's reader; `path` names it in a problem. */
type Field<T> = (input: unknown, path: Path) => Read<T>;
/** A key that may be absent. */
interface Optional<T> {
  optional: Field<T>;
}
/** A reader for every key of `T`: optional keys are marked so, required ones are not. */
type Shape<T> = { [K in keyof T]-?: undefined extends T[K] ? Optional<Exclude<T[K], undefined>> : Field<T[K]> };

const at = (path: Path, message: string): { problem: string } => ({ problem: path.length ? `${path.join('.')}: ${message}` : message });

function typeName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'number' && Number.isNaN(input)) return 'nan';
  return typeof input;
}

const invalid = (expected: string, input: unknown, path: Path) =>
  at(path, `Invalid input: expected ${expected}, received ${typeName(input)}`);
const isRecord = (input: unknown): input is Record<string, unknown> => typeof input === 'object' && input !== null && !Array.isArray(input);

/** A string of at most `max` characters; with `trim` it is trimmed before `min` is checked. */
const text =
  (max: number, rules: { min?: number; trim?: boolean } = {}): Field<string> =>
  (input, path) => {
    if (typeof input !== 'string') return invalid('string', input, path);
    if (input.length > max) return at(path, `Too big: expected string to have <=${max} characters`);
    const value = rules.trim ? input.trim() : input;
    if (rules.min !== undefined && value.length < rules.min)
      return at(path, `Too small: expected string to have >=${rules.min} characters`);
    return { value };
  };

const oneOf =
  <const T extends string>(values: readonly T[]): Field<T> =>
  (input, path) =>
    values.includes(input as T)
      ? { value: input as T }
      : at(path, `Invalid option: expected one of ${values.map((value) => `"${value}"`).join('|')}`);

/** An array of at most `max` items, each read by `item`. */
const list =
  <T>(item: Field<T>, max: number): Field<T[]> =>
  (input, path) => {
    if (!Array.isArray(input)) return invalid('array', input, path);
    if (input.length > max) return at(path, `Too big: expected array to have <=${max} items`);
    const value: T[] = [];
    for (const [index, element] of input.entries()) {
      const read = item(element, [...path, index]);
      if ('problem' in read) return read;
      value.push(read.value);
    }
    return { value };
  };

/** An object of string keys (each read by `key`) to values (each read by `item`). */
const record =
  (key: Field<string>, item: Field<string>): Field<Record<string, string>> =>
  (input, path) => {
    if (!isRecord(input)) return invalid('record', input, path);
    const entries: [string, string][] = [];
    for (const [name, element] of Object.entries(input)) {
      if (name === '__proto__') continue;
      if ('problem' in key(name, path)) return at([...path, name], 'Invalid key in record');
      const read = item(element, [...path, name]);
      if ('problem' in read) return read;
      entries.push([name, read.value]);
    }
    return { value: Object.fromEntries(entries) };
  };

/** An object with the keys of `shape`, in its order; keys it does not name are left out. */
const object =
  <T>(shape: Shape<T>): Field<T> =>
  (input, path) => {
    if (!isRecord(input)) return invalid('object', input, path);
    const value: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(shape) as [string, Field<unknown> | Optional<unknown>][]) {
      const given = Object.hasOwn(input, name) ? input[name] : undefined;
      const optional = typeof field !== 'function';
      if (optional && given === undefined) continue;
      const read = (optional ? field.optional : field)(given, [...path, name]);
      if ('problem' in read) return read;
      value[name] = read.value;
    }
    return { value: value as T };
  };

/** A message's shape: `read` says why a payload is not one, `parse` throws it. */
export interface MessageSchema<T> {
  read(payload: unknown): Read<T>;
  /** For a payload a validator already read (an update's handler). */
  parse(payload: unknown): T;
}

function messageSchema<T>(field: Field<T>): MessageSchema<T> {
  return {
    read: (payload) => field(payload, []),
    parse(payload) {
      const read = field(payload, []);
      if ('problem' in read) throw new TypeError(read.problem);
      return read.value;
    },
  };
}

/** `{ by, note?, via? }`: who acknowledges, resolves or retries, and through what. */
export const actorNoteSchema = messageSchema<ActorNote>(
  object<ActorNote>({
    by: text(256, { trim: true, min: 1 }),
    note: { optional: text(4096) },
    via: { optional: text(64, { min: 1 }) },
  }),
);

/** `{ by, note, via?, id? }`: a status update for the timeline. */
export const noteSchema = messageSchema<IncidentNote>(
  object<IncidentNote>({
    by: text(256, { trim: true, min: 1 }),
    note: text(4096, { trim: true, min: 1 }),
    via: { optional: text(64, { min: 1 }) },
    id: { optional: text(256, { min: 1 }) },
  }),
);

/** A normalised webhook, as the ingress sends it with `incidentEvent`. */
export const incidentEventSchema = messageSchema<IncidentEvent>(
  object<IncidentEvent>({
    source: text(64, { min: 1 }),
    externalId: text(1024, { min: 1 }),
    key: text(128, { min: 1 }),
    kind: oneOf(EVENT_KINDS),
    eventId: text(512, { min: 1 }),
    title: { optional: text(8192) },
    severity: { optional: oneOf(SEVERITIES) },
    service: { optional: text(512) },
    links: list(object({ label: text(2048), url: text(4096) }), 100),
    actor: text(1024),
    occurredAt: text(64, { min: 1 }),
    note: { optional: text(65536) },
    responders: { optional: list(text(320), 500) },
    slackResponders: { optional: list(text(64, { min: 1 }), 500) },
    assignees: { optional: list(text(256), 500) },
    details: { optional: record(text(256), text(20480)) },
    via: { optional: text(64) },
  }),
);

/** The payload as `T`, or why it is not one ("by: Invalid input: expected string, received number"). */
export function readMessage<T>(schema: MessageSchema<T>, payload: unknown): Read<T> {
  return schema.read(payload);
}
