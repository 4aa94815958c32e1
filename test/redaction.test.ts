import { describe, expect, it } from 'vitest';
import { createPagerDutyRest } from '../src/activities/pagerduty.js';
import { createVictorOpsEndpoint } from '../src/activities/victorops.js';
import { failureOf } from './activity-failures.js';

// A vendor that echoes a secret in an error body: the failure's message (which goes on the
// timeline, into the workflow's history) never holds it, not even a half cut off at the 200
// characters a message keeps.

const TOKEN = 'u+pdRESTtokenABCDEFGHIJ1234567890';
const API_KEY = 'vo-api-key-9f8e7d6c5b4a39281706';

/** A fetch that answers `status` with `body` (text), whatever was asked. */
const answering = (status: number, body: string): typeof fetch => (async () => new Response(body, { status })) as typeof fetch;

/** Puts `secret` across the 200-character cut, as a long echoed request would. */
const acrossTheCut = (secret: string) => `${'x'.repeat(200 - Math.floor(secret.length / 2))}${secret} and more text after it`;

describe('secrets echoed in error bodies', () => {
  it('keeps the PagerDuty token out of a failure, even where the message is cut', async () => {
    const rest = createPagerDutyRest(
      { apiToken: TOKEN, fromEmail: 'warroom@example.com', apiUrl: 'https://api.pagerduty.invalid' },
      { fetch: answering(400, acrossTheCut(TOKEN)) },
    );
    const answer = await rest.send('GET', '/incidents/Q1');
    const message = rest.failure(answer, 'read PagerDuty incident Q1').message;
    expect(message).toContain('<redacted>');
    expect(message).not.toContain(TOKEN.slice(0, 8));
    expect(message).not.toContain(TOKEN.slice(-8));
  });

  it('keeps the VictorOps API key (in the REST URL) out of a failure, even where the message is cut', async () => {
    const endpoint = createVictorOpsEndpoint(`https://alert.victorops.invalid/integrations/generic/20131114/alert/${API_KEY}/team-a`, {
      fetch: answering(400, acrossTheCut(API_KEY)),
    });
    const failure = await failureOf(endpoint.post({ message_type: 'INFO', entity_id: 'x' }));
    expect(failure.message).toContain('<redacted>');
    expect(failure.message).not.toContain(API_KEY.slice(0, 8));
    expect(failure.message).not.toContain(API_KEY.slice(-8));
  });
});
