import { startJiraFake, type JiraFake, type JiraFakeOptions } from './jira.js';
import { startPagerDutyEventsFake, type PagerDutyEventsFake, type PagerDutyEventsFakeOptions } from './pagerduty-events.js';
import { startPagerDutyFake, type PagerDutyFake, type PagerDutyFakeOptions } from './pagerduty.js';
import { startSlackFake, type SlackFake, type SlackFakeOptions } from './slack.js';
import { startStatusCastFake, type StatusCastFake, type StatusCastFakeOptions } from './statuscast.js';
import { startVictorOpsFake, type VictorOpsFake, type VictorOpsFakeOptions } from './victorops.js';

/** One fake per vendor warroom calls. */
export interface Fakes {
  jira: JiraFake;
  slack: SlackFake;
  pagerduty: PagerDutyFake;
  pagerdutyEvents: PagerDutyEventsFake;
  victorops: VictorOpsFake;
  statuscast: StatusCastFake;
}

export type FakeName = keyof Fakes;

/** The settings that point warroom's integration with each fake given at it (as environment variables). */
export function fakeVendorEnv(fakes: Partial<Fakes>): Record<string, string> {
  const { jira, slack, pagerduty, victorops, pagerdutyEvents, statuscast } = fakes;
  return {
    ...(jira ? { JIRA_HOST: jira.url, JIRA_EMAIL: jira.email, JIRA_API_TOKEN: jira.apiToken } : {}),
    ...(slack ? { SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url } : {}),
    ...(pagerduty
      ? { PAGERDUTY_API_TOKEN: pagerduty.apiToken, PAGERDUTY_FROM_EMAIL: pagerduty.fromEmail, PAGERDUTY_API_URL: pagerduty.url }
      : {}),
    ...(victorops ? { VICTOROPS_REST_URL: victorops.url } : {}),
    ...(pagerdutyEvents
      ? {
          PAGERDUTY_EVENTS_URL: pagerdutyEvents.url,
          PAGERDUTY_ROUTING_KEY: pagerdutyEvents.routingKey,
          PAGERDUTY_CHANGE_ROUTING_KEY: pagerdutyEvents.changeRoutingKey,
          PAGERDUTY_ESCALATION_ROUTING_KEY: pagerdutyEvents.escalationRoutingKey,
        }
      : {}),
    ...(statuscast ? { STATUSCAST_URL: statuscast.url, STATUSCAST_API_TOKEN: statuscast.apiToken } : {}),
  };
}

/** The PagerDuty samples' assignee (test/fixtures): a user of the PagerDuty fake whenever every fake runs. */
export const SAMPLE_ASSIGNEE = { id: 'PUSR001', name: 'Dana Oncall', email: 'dana.oncall@example.com' };
/** The Slack fake's sample SRE, who is in the announcements channel. */
const SAMPLE_SRE = 'U0SAMSRE01';

export interface AllFakesOptions {
  jira?: JiraFakeOptions;
  slack?: SlackFakeOptions;
  pagerduty?: PagerDutyFakeOptions;
  pagerdutyEvents?: PagerDutyEventsFakeOptions;
  victorops?: VictorOpsFakeOptions;
  statuscast?: StatusCastFakeOptions;
  /** The fakes `env` points warroom at (default: all); the others run unused. */
  configure?: readonly FakeName[];
  /** A Slack channel for announcements, with the sample SRE and the bot in it; `env` sets SLACK_ANNOUNCE_CHANNEL. */
  announceChannel?: string;
}

/** Every vendor fake, started together; `env` points warroom at them. */
export interface AllFakes extends Fakes {
  env: Record<string, string>;
  /** Every fake answers each call `ms` later (0: as fast as it can). */
  setLatency(ms: number): void;
  /** Clears every fake's faults. */
  heal(): void;
  stop(): Promise<void>;
}

/** Starts every vendor fake (each with its own options), with the samples' assignee known to PagerDuty. */
export async function startAllFakes(options: AllFakesOptions = {}): Promise<AllFakes> {
  const [jira, slack, pagerduty, pagerdutyEvents, victorops, statuscast] = await Promise.all([
    startJiraFake(options.jira),
    startSlackFake(options.slack),
    startPagerDutyFake(options.pagerduty),
    startPagerDutyEventsFake(options.pagerdutyEvents),
    startVictorOpsFake(options.victorops),
    startStatusCastFake(options.statuscast),
  ]);
  const fakes: Fakes = { jira, slack, pagerduty, pagerdutyEvents, victorops, statuscast };
  const all = Object.values(fakes);
  pagerduty.addUser(SAMPLE_ASSIGNEE);
  const announce = options.announceChannel;
  if (announce) slack.addChannel({ name: announce, creator: SAMPLE_SRE, members: [SAMPLE_SRE, slack.bot.userId] });
  const configured = Object.fromEntries((options.configure ?? (Object.keys(fakes) as FakeName[])).map((name) => [name, fakes[name]]));
  return {
    ...fakes,
    env: { ...fakeVendorEnv(configured), ...(announce ? { SLACK_ANNOUNCE_CHANNEL: `#${announce}` } : {}) },
    setLatency(ms) {
      for (const fake of [jira, pagerduty, pagerdutyEvents, victorops, statuscast])
        fake.faults.set('*', ms > 0 ? { latencyMs: ms } : undefined);
      if (ms > 0) slack.faults.latency('*', ms);
      else slack.faults.clear('*');
    },
    heal: () => all.forEach((fake) => fake.faults.clear()),
    stop: async () => void (await Promise.all(all.map((fake) => fake.stop()))),
  };
}
