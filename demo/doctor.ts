/**
 * `npm run demo:doctor`: `warroom doctor` against the vendor fakes and an in-memory Temporal dev
 * server, twice: with everything right, then with three faults planted (the Slack app lacks two
 * scopes, JIRA_PROJECT_KEY names a project that does not exist, a StatusCast component a monitor
 * names was deleted). The README's "Before the first incident" section shows this output.
 */
import { runDoctor } from '../src/doctor/index.js';
import { startStack } from '../test/stack.js';
import { WARROOM_BOT_SCOPES } from '../test/fakes/slack.js';

/** Demo-only webhook secrets: with them set, no endpoint is open. */
const WEBHOOK_SECRETS = {
  WARROOM_API_TOKEN: 'demo-warroom-api-token',
  PAGERDUTY_WEBHOOK_SECRET: 'demo-pagerduty-signing-secret',
  VICTOROPS_WEBHOOK_KEY: 'demo-victorops-auth-key',
  VICTOROPS_WEBHOOK_URL: 'https://warroom.example.com/webhooks/victorops',
  VICTOROPS_WEBHOOK_TOKEN: 'demo-victorops-webhook-token',
  ALERTMANAGER_WEBHOOK_TOKEN: 'demo-alertmanager-token',
  GRAFANA_WEBHOOK_TOKEN: 'demo-grafana-token',
  SLACK_SIGNING_SECRET: 'demo-slack-signing-secret',
};
const MONITORS_YAML = `monitors:
  - name: checkout-api
    affectedComponents: [20609]
  - name: public-api
    affectedComponents: [20609, 20610]
`;

const stack = await startStack({
  name: 'doctor-demo',
  fakes: { announceChannel: 'incidents' },
  monitors: MONITORS_YAML,
  worker: false,
  api: false,
  env: WEBHOOK_SECRETS,
});
try {
  process.stdout.write('== warroom doctor, everything right\n\n');
  const green = await runDoctor(stack.env);
  process.stdout.write(`${green.text}(exit code ${green.exitCode})\n\n`);

  stack.fakes.slack.setScopes(WARROOM_BOT_SCOPES.filter((scope) => scope !== 'pins:write' && scope !== 'chat:write.public'));
  stack.fakes.statuscast.components.delete(20610);
  process.stdout.write(
    '== warroom doctor, three faults planted: the Slack app lacks pins:write and chat:write.public,\n' +
      '   JIRA_PROJECT_KEY=OPS names no project, StatusCast no longer has component 20610\n\n',
  );
  const faulty = await runDoctor({ ...stack.env, JIRA_PROJECT_KEY: 'OPS' });
  process.stdout.write(`${faulty.text}(exit code ${faulty.exitCode})\n`);
} finally {
  await stack.stop();
}
