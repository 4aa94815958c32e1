import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SLACK_BOT_SCOPES } from '../src/activities/slack.js';
import { secretValues } from '../src/config.js';
import type { Line, Verdict } from '../src/doctor/check.js';
import { runDoctor, type DoctorReport } from '../src/doctor/index.js';
import { freePort } from '../src/temporal/dev-server.js';
import { startAllFakes, type AllFakes } from './fakes/env.js';
import { WARROOM_BOT_SCOPES } from './fakes/slack.js';
import { recordSecrets } from './secrets-scan.js';

const ANNOUNCE_CHANNEL = 'incidents';
/** What a fake vendor may be asked by doctor: reads only. */
const SLACK_READS = new Set(['auth.test', 'conversations.list', 'conversations.info']);
const WEBHOOK_SECRETS = {
  WARROOM_API_TOKEN: 'doctor-test-api-token',
  PAGERDUTY_WEBHOOK_SECRET: 'doctor-test-pagerduty-secret',
  VICTOROPS_WEBHOOK_KEY: 'doctor-test-victorops-key',
  VICTOROPS_WEBHOOK_URL: 'https://warroom.example.com/webhooks/victorops',
  VICTOROPS_WEBHOOK_TOKEN: 'doctor-test-victorops-token',
  ALERTMANAGER_WEBHOOK_TOKEN: 'doctor-test-alertmanager-token',
  GRAFANA_WEBHOOK_TOKEN: 'doctor-test-grafana-token',
  SLACK_SIGNING_SECRET: 'doctor-test-slack-signing-secret',
};
const MONITORS = `monitors:
  - name: checkout-api
    affectedComponents: [20609]
  - name: public-api
    affectedComponents: [20609, 20610]
`;
/** Short, so the unreachable cases stay quick; generous next to a loopback fake's answer. */
const TIMEOUT_MS = 2_000;

let fakes: AllFakes;
let dir: string;
let monitorsFile: string;

beforeAll(async () => {
  fakes = await startAllFakes();
  dir = mkdtempSync(join(tmpdir(), 'warroom-doctor-'));
  monitorsFile = join(dir, 'monitors.yaml');
  writeFileSync(monitorsFile, MONITORS);
});
afterAll(async () => {
  await fakes?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const fake of [fakes.jira, fakes.slack, fakes.pagerduty, fakes.pagerdutyEvents, fakes.victorops, fakes.statuscast]) fake.reset();
  fakes.slack.addChannel({ name: ANNOUNCE_CHANNEL, members: [fakes.slack.bot.userId] });
});
afterEach(() => {
  // Doctor only reads: no vendor saw a write, and every request was one the vendor's spec allows.
  expect(fakes.jira.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  expect(fakes.pagerduty.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  expect(fakes.statuscast.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  expect(fakes.slack.requests.map((request) => request.method).filter((method) => !SLACK_READS.has(method))).toEqual([]);
  expect(fakes.victorops.requests).toEqual([]);
  expect(fakes.pagerdutyEvents.requests).toEqual([]);
  expect(fakes.jira.refusals().map((request) => request.refused)).toEqual([]);
  expect(fakes.slack.problems()).toEqual([]);
  expect([...fakes.jira.responseProblems, ...fakes.pagerduty.responseProblems, ...fakes.statuscast.responseProblems]).toEqual([]);
});

/** warroom's settings for every fake and the suite's Temporal server, all right. */
function envFor(overrides: Record<string, string> = {}): Record<string, string> {
  const env = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    ...fakes.env,
    SLACK_ANNOUNCE_CHANNEL: `#${ANNOUNCE_CHANNEL}`,
    STATUSCAST_MONITORS_FILE: monitorsFile,
    ...WEBHOOK_SECRETS,
    ...overrides,
  };
  recordSecrets(secretValues(env));
  return env;
}

const doctor = (env: Record<string, string>) => runDoctor(env, { timeoutMs: TIMEOUT_MS });

/** The finding of one check, by group and check name; fails the test when doctor printed no such line. */
function finding(report: DoctorReport, group: string, check: string): Line['finding'] {
  const line = report.lines.find((candidate) => candidate.group === group && candidate.check === check);
  if (!line) throw new Error(`no line ${group} / ${check} in:\n${report.text}`);
  return line.finding;
}

const verdicts = (report: DoctorReport, verdict: Verdict) => report.lines.filter((line) => line.finding.verdict === verdict);

describe('warroom doctor', () => {
  it('passes every check against correctly configured vendors and a real Temporal server, and exits 0', async () => {
    const report = await doctor(envFor());
    expect(verdicts(report, 'fail'), report.text).toEqual([]);
    expect(verdicts(report, 'warn'), report.text).toEqual([]);
    expect(report.exitCode).toBe(0);
    const groups = new Set(report.lines.map((line) => line.group));
    expect([...groups]).toEqual(['Configuration', 'Temporal', 'Slack', 'Jira', 'PagerDuty', 'StatusCast', 'VictorOps', 'Webhooks']);
    // One printed line per check, each with its mark.
    for (const line of report.lines) expect(report.text).toMatch(new RegExp(`[✓!✗–] ${line.check.replace(/[/]/g, '\\/')}\\s`));
    expect(finding(report, 'Slack', 'token').detail).toContain(fakes.slack.bot.userId);
    expect(finding(report, 'PagerDuty', 'From user').detail).toContain(fakes.pagerduty.fromEmail);
  });

  it('names the Slack scopes the app lacks and what each is for, and exits 1', async () => {
    fakes.slack.setScopes(WARROOM_BOT_SCOPES.filter((scope) => scope !== 'pins:write' && scope !== 'channels:history'));
    const report = await doctor(envFor());
    const scopes = finding(report, 'Slack', 'scopes');
    expect(scopes.verdict).toBe('fail');
    expect(scopes.detail).toContain('pins:write');
    expect(scopes.detail).toContain('channels:history');
    expect(scopes.detail).not.toContain('chat:write.customize');
    expect(scopes.fix).toMatch(/reinstall/);
    expect(finding(report, 'Slack', 'announcements').verdict).toBe('ok');
    expect(report.exitCode).toBe(1);
  });

  it('asks for chat:write.customize only when warroom posts under a custom name or icon', async () => {
    fakes.slack.setScopes(WARROOM_BOT_SCOPES.filter((scope) => scope !== 'chat:write.customize'));
    expect(finding(await doctor(envFor()), 'Slack', 'scopes').verdict).toBe('ok');
    const customised = finding(await doctor(envFor({ SLACK_USERNAME: 'Incident Bot' })), 'Slack', 'scopes');
    expect(customised.verdict).toBe('fail');
    expect(customised.detail).toContain('chat:write.customize');
  });

  it('stops at a Slack token the workspace refuses, with Slack’s own error, and does not check the rest', async () => {
    const report = await doctor(envFor({ SLACK_BOT_TOKEN: 'xoxb-1111-2222-notAValidTokenAtAll' }));
    const token = finding(report, 'Slack', 'token');
    expect(token.verdict).toBe('fail');
    expect(token.detail).toContain('invalid_auth');
    expect(token.detail).toContain('SLACK_BOT_TOKEN');
    expect(finding(report, 'Slack', 'scopes').verdict).toBe('skip');
    expect(finding(report, 'Slack', 'announcements').verdict).toBe('skip');
  });

  it('says an announcement channel that is archived, missing, or without the bot cannot take announcements', async () => {
    fakes.slack.addChannel({ name: 'old-incidents', isArchived: true });
    fakes.slack.addChannel({ name: 'war-news' });
    const archived = finding(await doctor(envFor({ SLACK_ANNOUNCE_CHANNEL: '#old-incidents' })), 'Slack', 'announcements');
    expect([archived.verdict, archived.detail]).toEqual(['fail', expect.stringContaining('archived')]);
    const missing = finding(await doctor(envFor({ SLACK_ANNOUNCE_CHANNEL: '#no-such-channel' })), 'Slack', 'announcements');
    expect([missing.verdict, missing.detail]).toEqual(['fail', expect.stringContaining('not found')]);
    // A public channel without the bot: chat:write.public lets it post, but it cannot see its earlier posts.
    const notMember = finding(await doctor(envFor({ SLACK_ANNOUNCE_CHANNEL: '#war-news' })), 'Slack', 'announcements');
    expect([notMember.verdict, notMember.fix]).toEqual(['warn', expect.stringContaining('/invite @warroom')]);
    const byId = fakes.slack.channelByName(ANNOUNCE_CHANNEL)!.id;
    expect(finding(await doctor(envFor({ SLACK_ANNOUNCE_CHANNEL: byId })), 'Slack', 'announcements').verdict).toBe('ok');
  });

  it('reports a Jira project that does not exist and skips what depends on it', async () => {
    const report = await doctor(envFor({ JIRA_PROJECT_KEY: 'OPS' }));
    expect(finding(report, 'Jira', 'credentials').verdict).toBe('ok');
    const project = finding(report, 'Jira', 'project');
    expect(project.verdict).toBe('fail');
    expect(project.detail).toContain('OPS');
    expect(project.fix).toContain('JIRA_PROJECT_KEY');
    expect(finding(report, 'Jira', 'issue type').verdict).toBe('skip');
    expect(finding(report, 'Jira', 'permissions').verdict).toBe('skip');
    expect(report.exitCode).toBe(1);
  });

  it('reports a Jira issue type the project lacks, and permissions the account lacks', async () => {
    fakes.jira.permissions.delete('TRANSITION_ISSUES');
    const report = await doctor(envFor({ JIRA_ISSUE_TYPE: 'Incident Report' }));
    const type = finding(report, 'Jira', 'issue type');
    expect([type.verdict, type.detail]).toEqual(['fail', expect.stringContaining('Task, Bug, Story, Incident')]);
    const permissions = finding(report, 'Jira', 'permissions');
    expect(permissions.verdict).toBe('fail');
    expect(permissions.detail).toContain('transition issues');
    expect(permissions.detail).not.toContain('create issues');
  });

  it('reports Jira credentials Jira refuses', async () => {
    const report = await doctor(envFor({ JIRA_API_TOKEN: 'not-the-jira-token' }));
    const credentials = finding(report, 'Jira', 'credentials');
    expect([credentials.verdict, credentials.detail]).toEqual(['fail', expect.stringContaining('401')]);
    expect(finding(report, 'Jira', 'project').verdict).toBe('skip');
  });

  it('names the StatusCast component a monitor uses that the status page does not have', async () => {
    fakes.statuscast.components.delete(20610);
    const report = await doctor(envFor());
    const components = finding(report, 'StatusCast', 'monitor components');
    expect(components.verdict).toBe('fail');
    expect(components.detail).toContain('public-api: component 20610');
    expect(components.fix).toContain('20609 Checkout');
    expect(report.exitCode).toBe(1);
  });

  it('reports a StatusCast token StatusCast refuses', async () => {
    const report = await doctor(envFor({ STATUSCAST_API_TOKEN: 'sc-token-not-the-right-one' }));
    const token = finding(report, 'StatusCast', 'API token');
    expect([token.verdict, token.detail]).toEqual(['fail', expect.stringContaining('401')]);
    expect(finding(report, 'StatusCast', 'monitor components').verdict).toBe('skip');
  });

  it('reports a PagerDuty From e-mail that is no user of the account, and a bad REST key', async () => {
    const stranger = finding(await doctor(envFor({ PAGERDUTY_FROM_EMAIL: 'nobody@example.com' })), 'PagerDuty', 'From user');
    expect([stranger.verdict, stranger.detail]).toEqual(['fail', expect.stringContaining('nobody@example.com')]);
    const badKey = await doctor(envFor({ PAGERDUTY_API_TOKEN: 'pd-token-wrong' }));
    expect(finding(badKey, 'PagerDuty', 'REST API key')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('401') });
    expect(finding(badKey, 'PagerDuty', 'From user').verdict).toBe('skip');
  });

  it('checks the shape of routing keys and the VictorOps REST URL without sending anything', async () => {
    const report = await doctor(
      envFor({
        PAGERDUTY_CHANGE_ROUTING_KEY: `R${'0'.repeat(31)}`,
        PAGERDUTY_ROUTING_KEY: `${'a'.repeat(31)}-`,
        VICTOROPS_REST_URL: 'https://alert.victorops.com/integrations/generic/20131114/alert/only-the-key',
      }),
    );
    expect(finding(report, 'PagerDuty', 'change events key')).toMatchObject({
      verdict: 'fail',
      detail: expect.stringContaining('orchestration'),
    });
    expect(finding(report, 'PagerDuty', 'failure alerts key').verdict).toBe('fail');
    expect(finding(report, 'VictorOps', 'REST endpoint URL').verdict).toBe('fail');
  });

  it('fails fast with a clear line when Temporal cannot be reached, and still checks the vendors', async () => {
    const deadPort = await freePort();
    const started = Date.now();
    const report = await doctor(envFor({ TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}` }));
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 3_000);
    const reachable = finding(report, 'Temporal', 'reachable');
    expect(reachable.verdict).toBe('fail');
    expect(reachable.detail).toContain(`127.0.0.1:${deadPort}`);
    expect(reachable.fix).toContain('TEMPORAL_ADDRESS');
    expect(finding(report, 'Temporal', 'namespace').verdict).toBe('skip');
    expect(finding(report, 'Slack', 'token').verdict).toBe('ok');
    expect(report.exitCode).toBe(1);
  });

  it('gives up on a host that accepts connections but never answers within the timeout', async () => {
    const silent = await silentServer();
    try {
      fakes.jira.faults.set('getCurrentUser', { hang: true });
      const started = Date.now();
      const report = await doctor(envFor({ TEMPORAL_ADDRESS: `127.0.0.1:${silent.port}` }));
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 2 + 3_000);
      expect(finding(report, 'Temporal', 'reachable').verdict).toBe('fail');
      const jira = finding(report, 'Jira', 'credentials');
      expect([jira.verdict, jira.detail]).toEqual(['fail', expect.stringMatching(/no answer within/)]);
    } finally {
      await silent.close();
    }
  });

  it('reports a namespace the cluster does not have', async () => {
    const report = await doctor(envFor({ TEMPORAL_NAMESPACE: 'no-such-namespace' }));
    const namespace = finding(report, 'Temporal', 'namespace');
    expect([namespace.verdict, namespace.fix]).toEqual(['fail', expect.stringContaining('namespace create')]);
    expect(finding(report, 'Temporal', 'search attributes').verdict).toBe('skip');
  });

  it('skips vendors without settings (not a failure) and warns of open webhook endpoints', async () => {
    const report = await doctor({ TEMPORAL_ADDRESS: inject('temporalAddress') });
    for (const vendor of ['Slack', 'Jira', 'PagerDuty', 'StatusCast', 'VictorOps']) {
      const lines = report.lines.filter((line) => line.group === vendor);
      expect(lines.map((line) => line.finding.verdict)).toEqual(['skip']);
      expect(lines[0]!.finding.detail).toMatch(/^not configured \(/);
    }
    const webhooks = report.lines.filter((line) => line.group === 'Webhooks');
    expect(webhooks.map((line) => line.finding.verdict)).toEqual(['warn', 'warn', 'warn', 'warn', 'warn']);
    expect(finding(report, 'Webhooks', '/webhooks/pagerduty').fix).toContain('PAGERDUTY_WEBHOOK_SECRET');
    expect(report.exitCode).toBe(0);
  });

  it('warns that VictorOps JSON webhooks stay open when only the escalation webhook key is set', async () => {
    const report = await doctor(envFor({ VICTOROPS_WEBHOOK_TOKEN: '' }));
    const victorops = finding(report, 'Webhooks', '/webhooks/victorops');
    expect([victorops.verdict, victorops.detail]).toEqual(['warn', expect.stringContaining('VICTOROPS_WEBHOOK_TOKEN')]);
  });

  it('reports bad settings as ✗ lines naming the variable, never its value', async () => {
    const report = await doctor(envFor({ PAGERDUTY_ROUTING_KEY: 'too-short-routing-key' }));
    expect(report.exitCode).toBe(1);
    expect(report.lines.map((line) => line.group)).toEqual(['Configuration']);
    expect(report.text).toContain('PAGERDUTY_ROUTING_KEY');
    expect(report.text).not.toContain('too-short-routing-key');
  });

  it('never prints a secret, not even one a vendor echoes back in an error', async () => {
    const env = envFor();
    const echo = await echoingServer();
    try {
      const reports = [
        await doctor(env),
        // Every vendor answering with an error that quotes the Authorization header it got.
        await doctor({
          ...env,
          SLACK_API_URL: `${echo.url}/api/`,
          JIRA_HOST: echo.url,
          PAGERDUTY_API_URL: echo.url,
          STATUSCAST_URL: echo.url,
        }),
        // Wrong credentials everywhere (their own values are secrets too).
        await doctor({
          ...env,
          SLACK_BOT_TOKEN: 'xoxb-9999-8888-wrongBotTokenValue',
          JIRA_API_TOKEN: 'wrong-jira-api-token',
          PAGERDUTY_API_TOKEN: 'wrong-pagerduty-token',
          STATUSCAST_API_TOKEN: 'wrong-statuscast-token',
        }),
      ];
      expect(echo.echoed()).toBeGreaterThan(0);
      expect(reports[1]!.text).toContain('<redacted>');
      const secrets = [
        ...secretValues(env),
        ...['xoxb-9999-8888-wrongBotTokenValue', 'wrong-jira-api-token', 'wrong-pagerduty-token', 'wrong-statuscast-token'],
        Buffer.from(`${env.JIRA_EMAIL}:${env.JIRA_API_TOKEN}`).toString('base64'),
        fakes.victorops.apiKey,
      ];
      for (const report of reports) for (const secret of secrets) expect(report.text).not.toContain(secret);
    } finally {
      await echo.close();
    }
  });

  it('runs as `warroom doctor` from the entry point, printing the report and exiting non-zero on a ✗', async () => {
    const env = envFor({ JIRA_PROJECT_KEY: 'OPS' });
    const { code, stdout } = await run(['--import', 'tsx', 'src/main.ts', 'doctor', '--timeout=3s'], env);
    expect(code).toBe(1);
    expect(stdout).toMatch(/✗ project\s+no project OPS/);
    expect(stdout).toMatch(/each within 3 s/);
  });

  it('checks exactly the Slack scopes the README lists', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const row = readme.split('\n').find((line) => line.startsWith('| Slack |') && line.includes('bot scopes'));
    const listed = [...(row ?? '').matchAll(/`([a-z.:]+)`/g)].map((match) => match[1]);
    expect(listed.sort()).toEqual(Object.keys(SLACK_BOT_SCOPES).sort());
  });
});

/** A TCP server that accepts connections and never says a word (a black-holed Temporal). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A misbehaving proxy: answers every request 401, quoting the Authorization header in each vendor's error fields. */
async function echoingServer(): Promise<{ url: string; echoed(): number; close(): Promise<void> }> {
  let echoed = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    const said = `credentials ${req.headers.authorization ?? '(none)'} refused`;
    echoed += req.headers.authorization ? 1 : 0;
    // Slack answers HTTP 200 with ok:false; the others a 401 with their error fields.
    const slack = /^\/api\/\w+\.[\w.]+$/.test(req.url ?? '');
    const body = slack
      ? { ok: false, error: said }
      : { errorMessages: [said], errors: {}, error: { message: said, code: 2006 }, title: said, message: said };
    res.writeHead(slack ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    echoed: () => echoed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Runs node with `args` in the checkout (the fakes stay served by this process meanwhile). */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}
