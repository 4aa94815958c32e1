import { startJiraFake, type JiraFake } from './jira.js';
import { startPagerDutyEventsFake, type PagerDutyEventsFake } from './pagerduty-events.js';
import { startPagerDutyFake, type PagerDutyFake } from './pagerduty.js';
import { startSlackFake, type SlackFake } from './slack.js';
import { startStatusCastFake, type StatusCastFake } from './statuscast.js';
import { startVictorOpsFake, type VictorOpsFake } from './victorops.js';

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

/** Every vendor fake, started together; `env` points warroom at all of them. */
export interface AllFakes {
  jira: JiraFake;
  slack: SlackFake;
  pagerduty: PagerDutyFake;
  pagerdutyEvents: PagerDutyEventsFake;
  victorops: VictorOpsFake;
  statuscast: StatusCastFake;
  env: Record<string, string>;
  /** Clears every fake's faults. */
  heal(): void;
  stop(): Promise<void>;
}

/** Starts every vendor fake (Slack with a fixed seed, so runs repeat). */
export async function startAllFakes(options: { slackSeed?: number } = {}): Promise<AllFakes> {
  const [jira, slack, pagerduty, pagerdutyEvents, victorops, statuscast] = await Promise.all([
    startJiraFake(),
    startSlackFake({ seed: options.slackSeed ?? 1 }),
    startPagerDutyFake(),
    startPagerDutyEventsFake(),
    startVictorOpsFake(),
    startStatusCastFake(),
  ]);
  const all = [jira, slack, pagerduty, pagerdutyEvents, victorops, statuscast];
  return {
    jira,
    slack,
    pagerduty,
    pagerdutyEvents,
    victorops,
    statuscast,
    env: fakeVendorEnv({ jira, slack, pagerduty, victorops, pagerdutyEvents, statuscast }),
    heal: () => all.forEach((fake) => fake.faults.clear()),
    stop: async () => void (await Promise.all(all.map((fake) => fake.stop()))),
  };
}
