/**
 * The postmortem timeline: an incident's record as a document, from its state alone. One renderer
 * for `GET /incidents/:key/timeline` (JSON and Markdown) and the Jira step (ADF, or a Markdown
 * attachment), so the two never tell different stories. Pure, no Node built-ins: workflow code may
 * import it.
 */
import type { IncidentState, IncidentStatus, Link, Severity, TimelineEntry } from './incident.js';
import { spanText, truncate } from './text.js';

/** A span of time, exact and in words. */
export interface Span {
  ms: number;
  text: string;
}

/** Someone (or something) on the timeline. */
export interface Actor {
  name: string;
  /** Entries of theirs among the entries kept. */
  entries: number;
  /** Whether they acknowledged or resolved the incident. */
  did: Array<'acknowledged' | 'resolved'>;
}

/** The incident's record as a document (what `GET /incidents/:key/timeline` answers as JSON). */
export interface Postmortem {
  key: string;
  workflowId: string;
  title: string;
  severity?: Severity;
  service?: string;
  source: string;
  externalId: string;
  status: IncidentStatus;
  /** Which resolve this is of the run (a reopened incident resolves again); absent while unresolved. */
  resolve?: number;
  /** ISO-8601, UTC. */
  triggeredAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  timeToAcknowledge?: Span;
  timeToResolve?: Span;
  actors: Actor[];
  responders: string[];
  links: {
    room?: Link;
    /** The alerting tool's own pages for the incident (PagerDuty incident, runbook...). */
    alert: Link[];
    statusPage?: Link;
    ticket?: Link;
    run?: Link;
  };
  /** The entries the run keeps, oldest first, times in UTC. */
  timeline: TimelineEntry[];
  /** Entries older than `timeline`'s first, left out of the state; the run's Temporal history has them all. */
  olderEntries: number;
  /** Steps that failed for good and were not recovered by a retry. */
  openFailures: Array<{ step: string; what: string; error: string }>;
  /** Repeated alerts folded into the incident while it was open. */
  repeats: number;
}

export interface PostmortemOptions {
  /** The run in the Temporal UI (`runUrl`), when TEMPORAL_UI_URL is known. */
  runUrl?: string;
}

/** The document of an incident as its state tells it. */
export function postmortemOf(state: IncidentState, options: PostmortemOptions = {}): Postmortem {
  const steps = state.steps;
  const made = (name: string) => (steps[name]?.status === 'done' ? steps[name] : undefined);
  // Links the steps made are named below; the others came from the alerting tool.
  const stepUrls = new Set(Object.values(steps).flatMap((step) => (step?.url ? [step.url] : [])));
  const channel = made('slackChannel');
  const page = made('statusPage');
  const ticket = made('jiraTicket');
  const timeline = state.timeline.map((entry) => ({ ...entry, at: utcIso(entry.at) }));
  const resolved = state.status === 'resolved';
  return {
    key: state.key,
    workflowId: state.workflowId,
    title: state.title,
    ...(state.severity ? { severity: state.severity } : {}),
    ...(state.service ? { service: state.service } : {}),
    source: state.source,
    externalId: state.externalId,
    status: state.status,
    ...(resolved ? { resolve: Math.max(state.resolves ?? 1, 1) } : {}),
    triggeredAt: utcIso(state.triggeredAt),
    ...(state.acknowledgedAt ? { acknowledgedAt: utcIso(state.acknowledgedAt), acknowledgedBy: state.acknowledgedBy } : {}),
    ...(resolved && state.resolvedAt ? { resolvedAt: utcIso(state.resolvedAt), resolvedBy: state.resolvedBy } : {}),
    ...optional('timeToAcknowledge', span(state.triggeredAt, state.acknowledgedAt)),
    ...optional('timeToResolve', resolved ? span(state.triggeredAt, state.resolvedAt) : undefined),
    actors: actorsOf(state),
    responders: [...state.responders],
    links: {
      ...(channel?.url ? { room: { label: channel.name ? `#${channel.name}` : (channel.ref ?? 'Slack channel'), url: channel.url } } : {}),
      alert: state.links.filter((link) => !stepUrls.has(link.url)).map((link) => ({ label: link.label || link.url, url: link.url })),
      ...(page?.url ? { statusPage: { label: state.statusPage?.monitor ?? 'status page', url: page.url } } : {}),
      ...(ticket?.ref ? { ticket: { label: ticket.ref, url: ticket.url ?? '' } } : {}),
      ...(options.runUrl ? { run: { label: state.workflowId, url: options.runUrl } } : {}),
    },
    timeline,
    olderEntries: state.olderEntries ?? 0,
    openFailures: Object.entries(state.failures ?? {}).flatMap(([step, failure]) =>
      failure ? [{ step, what: failure.what, error: failure.error }] : [],
    ),
    repeats: state.repeatCount,
  };
}

/** Longest detail of a timeline entry the postmortem carries (UTF-16 units); the run's history keeps the whole. */
export const DETAIL_LIMIT = 1_000;

/**
 * What the document is made from, and no more: the state without the source's details and the
 * steps' last words (the timeline has those), each entry's detail cut at DETAIL_LIMIT. The Jira
 * step carries it in its input, so this is what a postmortem adds to the run's history: at most
 * 300 entries of at most about 1.1 KB each, under Temporal's 512 KB payload warning.
 */
export function postmortemRecord(state: IncidentState): IncidentState {
  const { details: _details, steps, timeline, ...rest } = state;
  const kept = Object.entries(steps).flatMap(([name, step]) => {
    if (!step) return [];
    const { status, ref, url, name: stepName } = step;
    return [[name, { status, ...(ref ? { ref } : {}), ...(url ? { url } : {}), ...(stepName ? { name: stepName } : {}) }] as const];
  });
  return {
    ...rest,
    steps: Object.fromEntries(kept),
    timeline: timeline.map((entry) =>
      entry.detail && entry.detail.length > DETAIL_LIMIT ? { ...entry, detail: truncate(entry.detail, DETAIL_LIMIT) } : entry,
    ),
  };
}

/** The honest note for a trimmed timeline; undefined when nothing was left out. */
export function olderEntriesNote(document: Pick<Postmortem, 'olderEntries'>): string | undefined {
  const n = document.olderEntries;
  if (n <= 0) return undefined;
  return `${n} earlier ${n === 1 ? 'entry is' : 'entries are'} in the run's history.`;
}

/** The document as Markdown (what `?format=markdown` answers, and the attachment when a comment would be too long). */
export function postmortemMarkdown(document: Postmortem): string {
  const lines: string[] = [];
  lines.push(`# Postmortem timeline: ${inline(document.title)}`, '');
  lines.push(headline(document).map(inline).join(' · '), '');

  lines.push('## Summary', '');
  for (const [label, value] of summaryRows(document)) lines.push(`- **${label}:** ${inline(value)}`);
  lines.push('');

  const links = linkRows(document);
  if (links.length > 0) {
    lines.push('## Links', '');
    for (const [label, link] of links) lines.push(`- ${label}: ${markdownLink(link)}`);
    lines.push('');
  }

  if (document.actors.length > 0) {
    lines.push('## Actors', '');
    for (const actor of document.actors) lines.push(`- ${inline(actorLine(actor))}`);
    if (document.responders.length > 0) lines.push(`- Responders brought in: ${inline(document.responders.join(', '))}`);
    lines.push('');
  }

  if (document.openFailures.length > 0) {
    lines.push('## Still failing', '');
    for (const failure of document.openFailures) lines.push(`- ${inline(`${failure.what}: ${failure.error}`)}`);
    lines.push('');
  }

  lines.push('## Timeline (UTC)', '');
  const older = olderEntriesNote(document);
  if (older) lines.push(`_${inline(older)}${document.links.run ? ` ${markdownLink(document.links.run)}` : ''}_`, '');
  if (document.timeline.length === 0) lines.push('No entries.');
  else {
    lines.push('| Time (UTC) | Actor | Step | Outcome | Detail |', '| --- | --- | --- | --- | --- |');
    for (const entry of document.timeline) {
      lines.push(`| ${[utcText(entry.at), entry.actor, entry.what, entry.outcome, entry.detail ?? ''].map(cell).join(' | ')} |`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** Severity, service, source and status in one line, for the top of the document. */
export function headline(document: Postmortem): string[] {
  const parts = [document.key];
  if (document.severity) parts.push(`severity ${document.severity}`);
  if (document.service) parts.push(`service ${document.service}`);
  parts.push(`source ${document.source} (${document.externalId})`);
  parts.push(document.resolve && document.resolve > 1 ? `${document.status} (resolve ${document.resolve})` : document.status);
  return parts;
}

/** The summary as label and value pairs: times in UTC, who, and how long. */
export function summaryRows(document: Postmortem): Array<[string, string]> {
  const rows: Array<[string, string]> = [['Triggered', utcText(document.triggeredAt)]];
  if (document.acknowledgedAt)
    rows.push(['Acknowledged', `${utcText(document.acknowledgedAt)} by ${document.acknowledgedBy ?? 'unknown'}`]);
  if (document.resolvedAt) rows.push(['Resolved', `${utcText(document.resolvedAt)} by ${document.resolvedBy ?? 'unknown'}`]);
  rows.push(['Time to acknowledge', document.timeToAcknowledge?.text ?? (document.acknowledgedAt ? 'not measurable' : 'not acknowledged')]);
  rows.push(['Time to resolve', document.timeToResolve?.text ?? (document.resolvedAt ? 'not measurable' : 'not resolved')]);
  if (document.repeats > 0) rows.push(['Repeated alerts', `${document.repeats} folded into this incident`]);
  return rows;
}

/** The links in the order a reader wants them, with their names. */
export function linkRows(document: Postmortem): Array<[string, Link]> {
  const { links } = document;
  const rows: Array<[string, Link]> = [];
  if (links.room) rows.push(['Room', links.room]);
  for (const link of links.alert) rows.push([`Alerting tool (${document.source})`, link]);
  if (links.statusPage) rows.push(['Status page', links.statusPage]);
  if (links.ticket) rows.push(['Jira ticket', links.ticket]);
  if (links.run) rows.push(['Temporal run', links.run]);
  return rows;
}

/** One actor in words: who, what they did, how many entries. */
export function actorLine(actor: Actor): string {
  const did = actor.did.length > 0 ? `${actor.did.join(' and ')}; ` : '';
  return `${actor.name}: ${did}${actor.entries} ${actor.entries === 1 ? 'entry' : 'entries'}`;
}

/** One timeline entry in words, for lists. */
export function entryLine(entry: TimelineEntry): string {
  return `${utcText(entry.at)}  ${entry.actor}: ${entry.what} (${entry.outcome})${entry.detail ? `: ${entry.detail}` : ''}`;
}

/** An ISO-8601 time in UTC (`…Z`), whatever offset it came with; text that is not a time stays as it is. */
export function utcIso(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

/** A time as people read it: `2026-03-14 09:26:53 UTC`. */
export function utcText(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function span(from: string, to: string | undefined): Span | undefined {
  if (!to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  // Sources stamp their own times: a clock behind the trigger's gives no honest figure.
  if (Number.isNaN(ms) || ms < 0) return undefined;
  return { ms, text: spanText(ms) };
}

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

function actorsOf(state: IncidentState): Actor[] {
  const actors = new Map<string, Actor>();
  const actor = (name: string) => {
    let known = actors.get(name);
    if (!known) actors.set(name, (known = { name, entries: 0, did: [] }));
    return known;
  };
  for (const entry of state.timeline) actor(entry.actor).entries += 1;
  if (state.acknowledgedBy) actor(state.acknowledgedBy).did.push('acknowledged');
  if (state.status === 'resolved' && state.resolvedBy) actor(state.resolvedBy).did.push('resolved');
  return [...actors.values()];
}

/** Text on one Markdown line: no line breaks, nothing read as markup. */
function inline(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/([\\`*_[\]<>#|])/g, '\\$1');
}

/** Text in a Markdown table cell. */
function cell(text: string): string {
  return inline(text) || ' ';
}

function markdownLink(link: Link): string {
  // Only http(s) targets become links: a reader should not be sent to javascript: or a file.
  return /^https?:\/\//i.test(link.url)
    ? `[${inline(link.label)}](<${link.url.replace(/[<>\s]/g, encodeURIComponent)}>)`
    : inline(link.label);
}
