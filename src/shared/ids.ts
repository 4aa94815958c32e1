import type { SourceName } from './incident.js';

/** Longest external-id part kept readable in a key; longer ids are cut and hashed. */
const MAX_ID_PART = 48;

/**
 * FNV-1a, 32 bits, as 8 hex chars: a short stable suffix that keeps keys distinct when
 * sanitising had to drop characters. Pure, so it is safe anywhere.
 */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * `<source>-<externalId>`, lower case, only `a-z 0-9 - _`: valid in a Slack channel name and
 * as a Jira label. Ids are matched case-insensitively (PagerDuty and VictorOps ids are
 * upper-case or digits); any other lossy change or a cut adds a hash so two ids never share
 * a key.
 */
export function incidentKey(source: SourceName, externalId: string): string {
  const trimmed = externalId.trim();
  const lowered = trimmed.toLowerCase();
  const cleaned = lowered
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (cleaned === lowered && cleaned.length > 0 && cleaned.length <= MAX_ID_PART) return `${source}-${cleaned}`;
  const readable = cleaned.slice(0, MAX_ID_PART - 9).replace(/-+$/, '');
  return `${source}-${readable ? `${readable}-` : ''}${shortHash(trimmed)}`;
}

/** The workflow ID of an incident: a business key, so every delivery finds the same run. */
export function workflowIdFor(key: string): string {
  return `incident-${key}`;
}

/** A key as accepted from a URL path (`/incidents/:key`). */
export const KEY_PATTERN = /^[a-z]+-[a-z0-9_-]{1,64}$/;

/** An incident's run in the Temporal UI: every link to it (tickets, summaries, the postmortem) is built here. */
export function runUrlFor(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
