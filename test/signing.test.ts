import { describe, expect, it } from 'vitest';
import { fixture, fixtureJson } from './samples.js';
import { signPagerDuty, signSlack, signVictorOps } from './signing.js';

const vectors = fixtureJson('signature-test-vectors.json');

describe('the test signers', () => {
  it("sign PagerDuty's sample as PagerDuty's vector does", () => {
    const vector = vectors.pagerduty_v3;
    expect(signPagerDuty(fixture('pagerduty-v3-incident-triggered.json'), vector.secret)).toEqual({
      'x-pagerduty-signature': vector.header_single,
    });
  });

  it("sign Slack's sample as Slack's vector does, at the vector's timestamp", () => {
    const vector = vectors.slack_request_signing;
    expect(
      signSlack(fixture('slack-interactive-block-actions.form-urlencoded.txt'), vector.signing_secret, vector['X-Slack-Request-Timestamp']),
    ).toEqual({
      'x-slack-request-timestamp': vector['X-Slack-Request-Timestamp'],
      'x-slack-signature': vector['X-Slack-Signature'],
    });
  });

  it("sign VictorOps' escalation sample as VictorOps' vector does", () => {
    const vector = vectors.victorops_escalation;
    expect(signVictorOps(fixture('victorops-escalation.form-urlencoded.txt'), vector.auth_key, vector.webhook_url_as_configured)).toEqual({
      'x-victorops-signature': vector['X-VictorOps-Signature'],
    });
  });
});
