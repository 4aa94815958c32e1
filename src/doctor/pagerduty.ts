/**
 * PagerDuty: the REST API key works and the `From` e-mail is a user of the account; the Events
 * API keys have the shape of an integration key (the Events API can only check a key by taking
 * an event, which would page someone, so doctor never sends one).
 */
import { createPagerDutyRest } from '../activities/pagerduty.js';
import type { Config } from '../config.js';
import { fail, notConfiguredGroup, ok, skip, type Check, type CheckGroup, type DoctorOptions, type Finding } from './check.js';

/** An Events API v2 integration key: 32 letters and digits (API-NOTES §2c). */
const INTEGRATION_KEY = /^[A-Za-z0-9]{32}$/;

interface PagerDutyUser {
  id?: string;
  name?: string;
  email?: string;
}

export function pagerDutyChecks(config: Config, options: DoctorOptions): CheckGroup {
  const { apiToken, fromEmail, apiUrl, routingKey, changeRoutingKey, escalationRoutingKey } = config.pagerduty;
  if (!apiToken && !routingKey && !changeRoutingKey && !escalationRoutingKey) {
    return notConfiguredGroup('PagerDuty', 'PAGERDUTY_API_TOKEN and PAGERDUTY_FROM_EMAIL, or PAGERDUTY_ROUTING_KEY');
  }
  const keyChecks: Check[] = [
    { name: 'failure alerts key', run: async () => routingKeyFinding('PAGERDUTY_ROUTING_KEY', routingKey, 'alerts') },
    {
      name: 'change events key',
      run: async () => routingKeyFinding('PAGERDUTY_CHANGE_ROUTING_KEY', changeRoutingKey, 'change events', true),
    },
    {
      name: 'escalation key',
      run: async () => routingKeyFinding('PAGERDUTY_ESCALATION_ROUTING_KEY', escalationRoutingKey, 'escalation pages'),
    },
  ];
  if (!apiToken || !fromEmail) {
    const detail = 'not configured (PagerDuty REST API): set PAGERDUTY_API_TOKEN and PAGERDUTY_FROM_EMAIL for notes and state sync';
    return { name: 'PagerDuty', checks: [{ name: 'REST API key', run: async () => skip(detail) }, ...keyChecks] };
  }
  const rest = createPagerDutyRest({ apiToken, fromEmail, apiUrl }, { timeoutMs: options.timeoutMs });
  let users: PagerDutyUser[] = [];

  return {
    name: 'PagerDuty',
    where: apiUrl,
    checks: [
      {
        name: 'REST API key',
        async run() {
          // One read answers both: the key works, and who the From e-mail is.
          const answer = await rest.send('GET', `/users?query=${encodeURIComponent(fromEmail)}&limit=100`);
          if (answer.status !== 200) throw rest.failure(answer, 'GET /users');
          users = (answer.body as { users?: PagerDutyUser[] }).users ?? [];
          return ok(`the key works (it read ${users.length} matching user${users.length === 1 ? '' : 's'})`);
        },
      },
      { name: 'From user', needs: 'REST API key', run: async () => fromUserFinding(users, fromEmail) },
      ...keyChecks,
    ],
  };
}

/** PAGERDUTY_FROM_EMAIL is the login e-mail of a user of the account: PagerDuty refuses writes from anyone else. */
function fromUserFinding(users: PagerDutyUser[], fromEmail: string): Finding {
  const user = users.find((candidate) => candidate.email?.toLowerCase() === fromEmail.toLowerCase());
  if (user) return ok(`${fromEmail} is ${user.name ?? 'a user'} (${user.id ?? '?'})`);
  return fail(
    `no user of this PagerDuty account has the e-mail ${fromEmail}`,
    "set PAGERDUTY_FROM_EMAIL to a user's login e-mail: notes and state changes are made as that user",
  );
}

function routingKeyFinding(variable: string, key: string | undefined, what: string, changeEvents = false): Finding {
  if (!key) return skip(`not configured (${variable}): warroom sends no ${what}`);
  if (!INTEGRATION_KEY.test(key)) {
    return fail(`${variable} is not 32 letters and digits`, "copy the service integration's key (Events API v2) again");
  }
  // Event orchestration (ruleset) keys start with R; change events take only a service's integration key.
  if (changeEvents && key.startsWith('R')) {
    return fail(`${variable} looks like an event orchestration key (starts with R)`, "use a service's Events API v2 integration key");
  }
  return ok('an integration key of the right shape (checking it would mean sending an event)');
}
