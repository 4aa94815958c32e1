/**
 * Text helpers shared by the ingress, the activities and the workflow: pure, no Node built-ins.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` in at most `max` UTF-16 units (the unit Slack, Jira and PagerDuty count), cut with an
 * ellipsis where it was cut. Cuts fall between graphemes, so no emoji, flag or accented letter is
 * ever split in half.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  return `${prefix(text, max - 1)}…`;
}

/**
 * The longest start of `text` within `max` UTF-16 units that ends between graphemes, with no
 * ellipsis: for a cut followed by something of the caller's own (a digest, a suffix).
 */
export function prefix(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const { segment } of graphemes.segment(text)) {
    if (out.length + segment.length > max) break;
    out += segment;
  }
  return out;
}

/** The title of an incident its source gave none: "pagerduty incident Q1ABC". */
export function defaultTitle(incident: { source: string; externalId: string }): string {
  return `${incident.source} incident ${incident.externalId}`;
}
