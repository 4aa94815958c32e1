import type { JiraFake } from './jira.js';
import type { PagerDutyEventsFake } from './pagerduty-events.js';
import type { PagerDutyFake } from './pagerduty.js';
import type { SlackFake } from './slack.js';
import type { StatusCastFake } from './statuscast.js';
import type { VictorOpsFake } from './victorops.js';

/** The settings that point warroom's integrations at the fakes (as environment variables). */
export function fakeVendorEnv(fakes: {
  jira: JiraFake;
  slack: SlackFake;
  pagerduty: PagerDutyFake;
  victorops: VictorOpsFake;
  pagerdutyEvents?: PagerDutyEventsFake;
  statuscast?: StatusCastFake;
}): Record<string, string> {
  const { jira, slack, pagerduty, victorops, pagerdutyEvents, statuscast } = fakes;
  return {
    JIRA_HOST: jira.url,
    JIRA_EMAIL: jira.email,
    JIRA_API_TOKEN: jira.apiToken,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    PAGERDUTY_API_TOKEN: pagerduty.apiToken,
    PAGERDUTY_FROM_EMAIL: pagerduty.fromEmail,
    PAGERDUTY_API_URL: pagerduty.url,
    VICTOROPS_REST_URL: victorops.url,
    ...(pagerdutyEvents
      ? {
          PAGERDUTY_EVENTS_URL: pagerdutyEvents.url,
          PAGERDUTY_ROUTING_KEY: pagerdutyEvents.routingKey,
          PAGERDUTY_CHANGE_ROUTING_KEY: pagerdutyEvents.changeRoutingKey,
        }
      : {}),
    ...(statuscast ? { STATUSCAST_URL: statuscast.url, STATUSCAST_API_TOKEN: statuscast.apiToken } : {}),
  };
}
