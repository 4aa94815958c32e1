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

/** A span in words: `45 s`, `3 min 7 s`, `2 h 5 min`, `1 d 4 h`. */
export function spanText(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}
