/**
 * How environment variables are read: the kinds of value a setting holds, as zod fields, for the
 * one config schema (src/config.ts) and for the variables each source declares (src/sources/).
 */
import { z } from 'zod';

/** A variable's value; empty or blank means unset. */
export const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A comma-separated list; blanks between commas are dropped, unset is `[]`. */
export const commaList = z
  .string()
  .trim()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .optional()
  .transform((list) => list ?? []);

const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no', ''] as const;

/** Off unless set to true/1/yes. */
export const bool = z
  .enum(BOOLEAN_WORDS)
  .optional()
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** On unless set to false/0/no. */
export const boolDefaultTrue = z
  .enum(BOOLEAN_WORDS)
  .optional()
  .transform((value) => !(value === 'false' || value === '0' || value === 'no'));

export const port = z.coerce.number().int().min(0).max(65535);

/** A whole number, 0 or more; empty or unset is `fallback`. */
export const wholeNumber = (fallback: number) =>
  optionalString
    .pipe(z.string().regex(/^\d+$/, 'expected a whole number such as 10000').optional())
    .transform((value) => (value === undefined ? fallback : Number(value)));

/** An http(s) URL, unset when empty. */
export const optionalHttpUrl = optionalString.pipe(z.url({ protocol: /^https?$/ }).optional());

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `24h`, `30m`, `90s`, `500ms` or a number of milliseconds. */
export const duration = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration such as 24h, 30m or 90s')
  .transform((value) => {
    const [, amount = '0', unit = 'ms'] = /^(\d+)(ms|s|m|h|d)?$/.exec(value) ?? [];
    return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });

/** A duration, or `off` (0): for timers an operator may switch off. */
export const durationOrOff = z.union([z.literal('off').transform(() => 0), duration]);

/** The secret pieces of a secret variable's value, by the field that reads it. */
const SECRET_PARTS = new WeakMap<z.ZodType, (value: string) => string[]>();

/**
 * Marks a variable as a secret: it never enters workflow inputs, histories or logs, and the test
 * suite scans for it. `parts` names the pieces of a value that are secret (default: all of it).
 */
export function secret<Field extends z.ZodType>(field: Field, parts: (value: string) => string[] = (value) => [value]): Field {
  const marked = field.clone();
  SECRET_PARTS.set(marked, parts);
  return marked;
}

/** The secret pieces of `value` if `field` was marked with `secret`, else undefined. */
export function secretPartsOf(field: z.ZodType, value: string): string[] | undefined {
  return SECRET_PARTS.get(field)?.(value);
}

/** Each part of a comma-separated secret list (rotation: old and new secret side by side). */
export const listParts = (value: string): string[] =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

type UnsetKeys<T> = { [K in keyof T]: undefined extends T[K] ? K : never }[keyof T];

/** `settings` with its unset values dropped: an unset variable is an absent key, not `key: undefined`. */
export type WithoutUnset<T> = Flat<{ [K in Exclude<keyof T, UnsetKeys<T>>]: T[K] } & { [K in UnsetKeys<T>]?: Exclude<T[K], undefined> }>;

/** One object type instead of an intersection, so editors show the settings as written. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** Drops the keys whose value is undefined, so optional settings read as optional in the inferred Config. */
export function withoutUnset<T extends object>(settings: T): WithoutUnset<T> {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as WithoutUnset<T>;
}
