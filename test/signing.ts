/**
 * Webhook signatures as each vendor computes them, one signer per vendor for tests, benchmarks,
 * chaos and the demo. Written from the vendors' documented algorithms (checked against their
 * vectors in fixtures/signature-test-vectors.json by signing.test.ts), never from src/sources:
 * a bug in warroom's verification cannot hide behind the same bug in the signer.
 */
import { createHmac } from 'node:crypto';

type Body = string | Buffer;

/** PagerDuty webhook v3: `v1=` + hex HMAC-SHA256 of the raw body with the webhook secret. */
export function pagerDutySignature(body: Body, secret: string): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The header PagerDuty sends with `body`. */
export function signPagerDuty(body: Body, secret: string): { 'x-pagerduty-signature': string } {
  return { 'x-pagerduty-signature': pagerDutySignature(body, secret) };
}

/** Slack request signing: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret. */
export function slackSignature(body: Body, secret: string, timestamp: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

/** The headers Slack sends with `body`, at `timestamp` (Unix seconds; now when absent). */
export function signSlack(
  body: Body,
  secret: string,
  timestamp = String(Math.floor(Date.now() / 1000)),
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(body, secret, timestamp) };
}

/**
 * VictorOps (Splunk On-Call) escalation webhook: base64 HMAC-SHA1 with the auth key over the
 * webhook URL exactly as configured, then each decoded form field's name and value, sorted by name.
 */
export function victorOpsSignature(form: Body, key: string, url: string): string {
  const fields = [...new URLSearchParams(form.toString()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac('sha1', key)
    .update(url + fields.map(([name, value]) => name + value).join(''))
    .digest('base64');
}

/** The header VictorOps sends with an escalation form `form` posted to `url`. */
export function signVictorOps(form: Body, key: string, url: string): { 'x-victorops-signature': string } {
  return { 'x-victorops-signature': victorOpsSignature(form, key, url) };
}
