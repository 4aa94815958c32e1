/**
 * The production-topology test (issue 11): warroom as it runs in production, on the official
 * Temporal server (built from go.temporal.io/server) on PostgreSQL (Debian's), two API and two
 * worker processes of the built `dist/`, the vendor fakes, and a sender spreading deliveries over
 * both APIs, as a load balancer would. During a storm of duplicate and distinct deliveries it
 * rolls the workers (SIGTERM, start again, one at a time), restarts each API, kill -9s a worker,
 * restarts the Temporal server and stops PostgreSQL for 20 s; meanwhile hostile deliveries keep
 * arriving. Asserts: every delivery answered 2xx was acted on, every incident's war room and
 * close-out complete, nothing done twice at any vendor, never a 5xx for bad input.
 *
 *   npm run test:cluster                                   300 incidents, every fault
 *   CLUSTER_INCIDENTS=40 CLUSTER_RATE=0.25 CLUSTER_WAVE=4 npm run test:cluster   the small run CI makes
 *
 * Settings: CLUSTER_INCIDENTS (300), CLUSTER_COPIES (3: deliveries of each trigger), CLUSTER_RATE
 * (new incidents a second, 1.5), CLUSTER_WAVE (incidents released together, 1), CLUSTER_FAULTS
 * (every one of FAULTS, comma-separated, in that order), CLUSTER_POSTGRES_DOWN_S (20),
 * CLUSTER_TEMPORAL_SERVER (the server version, chaos/cluster/install.ts); `--keep` keeps the
 * run's folder (data, config, logs). Each fault strikes once at least 3 incidents have work in
 * flight (or after 30 s), so that it has something to break.
 * Installs what it needs first (chaos/cluster/install.ts; cached in ~/.cache/warroom-cluster).
 *
 * Prints one line per figure and check, then `cluster: N passed, M failed`; exits 1 when a check
 * failed, 2 when the run itself broke.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SLACK_EVENT_TYPES } from '../src/activities/slack.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { INCIDENT_WORKFLOW, STATUS_PAGE_WORKFLOW, statusPageWorkflowId } from '../src/shared/messages.js';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../src/shared/search-attributes.js';
import { freePort } from '../src/temporal/dev-server.js';
import { DELIVERY_KINDS, incidentDelivery, type IncidentDelivery, type SenderSecrets } from '../test/deliveries.js';
import { eventually } from '../test/eventually.js';
import {
  closedOutTallies,
  closeOutMissing,
  contractProblems,
  extra,
  roomMissing,
  short,
  tallyProblems,
  total,
  vendorEffects,
  type Tally,
} from '../test/exactly-once.js';
import { intFromEnv } from '../test/settings.js';
import { signPagerDuty } from '../test/signing.js';
import { startStack, type Stack } from '../test/stack.js';
import { machineLine } from '../bench/measure.js';
import { formatSteps, installClusterTools, TEMPORAL_SERVER_VERSION, type InstallStep } from './cluster/install.js';
import {
  applySchema,
  createNamespace,
  startPostgres,
  startTemporalServer,
  type Postgres,
  type TemporalServer,
} from './cluster/topology.js';
import {
  countKinds,
  genericAction,
  pagerDutyEvent,
  pagerDutyNote,
  pool,
  post,
  sendWithRetries,
  type Attempt,
  type Delivery,
  type Sent,
} from './deliveries.js';
import {
  API_TOKEN,
  keepScratchDirs,
  PAGERDUTY_WEBHOOK_SECRET,
  REPO_ROOT,
  scratchDir,
  startWarroom,
  tail,
  type WarroomProcess,
} from './stack.js';

// ---------------------------------------------------------------------------------------------
// Settings.

export const FAULTS = ['rolling-deploy', 'api-restart', 'worker-kill', 'temporal-restart', 'postgres-stop'] as const;
type FaultName = (typeof FAULTS)[number];

function faultsFromEnv(): FaultName[] {
  const raw = process.env.CLUSTER_FAULTS?.trim();
  if (!raw) return [...FAULTS];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !FAULTS.includes(name as FaultName));
  if (unknown.length > 0) throw new Error(`CLUSTER_FAULTS: unknown ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  return names as FaultName[];
}

function rateFromEnv(): number {
  const raw = process.env.CLUSTER_RATE;
  const rate = raw ? Number(raw) : 1.5;
  if (!(rate > 0)) throw new Error(`CLUSTER_RATE must be a positive number, got "${raw}"`);
  return rate;
}

const settings = {
  incidents: intFromEnv('CLUSTER_INCIDENTS', 300),
  copies: intFromEnv('CLUSTER_COPIES', 3),
  rate: rateFromEnv(),
  wave: intFromEnv('CLUSTER_WAVE', 1),
  faults: faultsFromEnv(),
  postgresDownMs: intFromEnv('CLUSTER_POSTGRES_DOWN_S', 20) * 1000,
};

/** The task queue deploy/temporal/dynamicconfig.yaml names the budget queues of. */
const TASK_QUEUE = 'warroom';
const NAMESPACE = 'default';
const ANNOUNCE = 'incidents';
const SECRETS: SenderSecrets = {
  pagerDutySecret: PAGERDUTY_WEBHOOK_SECRET,
  victorOpsKey: 'cluster-victorops-webhook-key',
  victorOpsUrl: 'https://warroom.example.com/webhooks/victorops',
  victorOpsToken: 'cluster-victorops-outgoing-token',
  apiToken: API_TOKEN,
};
/** Generic incidents alternate between a status page of their own and one the monitor's incidents share. */
const OWN_PAGE = 'payments-api';
const SHARED_PAGE = 'orders-cluster';
const MONITORS = `monitors:\n${['checkout-api', 'prometheus-prod', 'database', OWN_PAGE].map((name) => `  - name: ${name}\n`).join('')}  - name: ${SHARED_PAGE}\n    combineAlerts: true\n`;

/** How long one sender keeps retrying a delivery (an outage here lasts well under a minute). */
const SEND_DEADLINE_MS = 300_000;
/** How long the run waits for everything accepted to be done, after the storm and the faults. */
const SETTLE_MS = 600_000;

// ---------------------------------------------------------------------------------------------
// Reporting.

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function figure(name: string, value: string | number): void {
  console.log(`  ${name.padEnd(46)} ${value}`);
}

function section(title: string): void {
  console.log(`\n${title}`);
}

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}
const checks: Check[] = [];

function check(name: string, ok: boolean, detail?: string): void {
  checks.push({ name, ok, detail });
}

// ---------------------------------------------------------------------------------------------
// The topology: PostgreSQL, the Temporal server, warroom's processes.

interface Topology {
  dir: string;
  setup: InstallStep[];
  postgres: Postgres;
  server: TemporalServer;
  stack: Stack;
  apis: Replica[];
  workers: Replica[];
  apiUrls: string[];
}

/** One API or worker replica: whichever process currently serves it. */
interface Replica {
  name: string;
  process: WarroomProcess;
  starts: number;
  /** Exits nobody asked for (a supervisor would restart it; this run does too, and counts them). */
  unplannedExits: number;
  planned: boolean;
  start(): Promise<void>;
  stop(signal: NodeJS.Signals): Promise<void>;
}

async function timedStep<T>(steps: InstallStep[], name: string, work: () => Promise<T>, detail = ''): Promise<T> {
  const started = Date.now();
  const result = await work();
  steps.push({ name, ms: Date.now() - started, cached: false, detail });
  return result;
}

function npmBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

function replica(name: string, role: 'api' | 'worker', env: Record<string, string>, dir: string): Replica {
  const self: Replica = {
    name,
    process: undefined as unknown as WarroomProcess,
    starts: 0,
    unplannedExits: 0,
    planned: false,
    async start() {
      self.starts += 1;
      const child = startWarroom(role, env, join(dir, `${name}-${self.starts}.log`), 'dist');
      self.process = child;
      self.planned = false;
      // A process that ends without being asked is started again, as Compose or Kubernetes would.
      void child.exited.then(() => {
        if (self.planned || self.process !== child || stopping) return;
        self.unplannedExits += 1;
        console.log(`  ! ${name} exited on its own; see ${child.logFile}:\n${tail(child.logFile, 8)}`);
        self.start().catch((err: Error) => console.log(`  ! ${name} did not start again: ${err.message}`));
      });
      await child.ready;
    },
    async stop(signal) {
      self.planned = true;
      await self.process.stop(signal);
    },
  };
  return self;
}

let stopping = false;

async function startTopology(): Promise<Topology> {
  const setup: InstallStep[] = [];
  const tools = await installClusterTools();
  setup.push(...tools.steps);
  const dir = scratchDir('cluster');
  const postgres = await timedStep(setup, 'PostgreSQL: unpack, initdb, start', () => startPostgres(tools, dir));
  setup.at(-1)!.detail = `${tools.postgresVersion}, 127.0.0.1:${postgres.port}`;
  await timedStep(setup, 'schema: temporal + temporal_visibility (sql tool)', () => applySchema(tools, postgres), 'postgres12 v12 schema');
  const server = await timedStep(setup, `Temporal server ${TEMPORAL_SERVER_VERSION}: config, start`, () =>
    startTemporalServer(tools, postgres, dir),
  );
  setup.at(-1)!.detail = server.address;
  await timedStep(setup, `namespace ${NAMESPACE} (temporal operator namespace create)`, () => createNamespace(server, NAMESPACE));
  await timedStep(setup, 'npm run build (dist/)', npmBuild);
  const stack = await timedStep(setup, 'vendor fakes + client', () =>
    startStack({
      name: 'cluster',
      temporal: { address: server.address },
      fakes: {
        slack: { seed: 11 },
        // PagerDuty's own events limit is not what this test is about.
        pagerdutyEvents: { eventsPerMinute: 1_000_000 },
        announceChannel: ANNOUNCE,
      },
      monitors: MONITORS,
      worker: false,
      api: false,
      env: {
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        TEMPORAL_NAMESPACE: NAMESPACE,
        LOG_LEVEL: 'info',
        PAGERDUTY_WEBHOOK_SECRET: SECRETS.pagerDutySecret,
        VICTOROPS_WEBHOOK_KEY: SECRETS.victorOpsKey,
        VICTOROPS_WEBHOOK_URL: SECRETS.victorOpsUrl,
        VICTOROPS_WEBHOOK_TOKEN: SECRETS.victorOpsToken,
        WARROOM_API_TOKEN: SECRETS.apiToken,
        SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
        SLACK_ARCHIVE_DELAY: '1s',
        TEMPORAL_UI_URL: 'http://localhost:8080',
      },
    }),
  );
  const ports = [await freePort(), await freePort()];
  const apis = ports.map((port, index) => replica(`api-${index + 1}`, 'api', { ...stack.env, PORT: String(port) }, dir));
  const workers = [1, 2].map((n) => replica(`worker-${n}`, 'worker', stack.env, dir));
  // All four at once, as Compose or a Deployment starts them: each registers the search attributes it finds missing.
  await timedStep(setup, 'warroom: 2 APIs + 2 workers from dist/ (started together)', () =>
    Promise.all([...apis, ...workers].map((one) => one.start())),
  );
  return { dir, setup, postgres, server, stack, apis, workers, apiUrls: ports.map((port) => `http://127.0.0.1:${port}`) };
}

async function stopTopology(topology: Topology | undefined): Promise<void> {
  stopping = true;
  if (!topology) return;
  await Promise.all([...topology.apis, ...topology.workers].map((one) => one.stop('SIGTERM').catch(() => undefined)));
  await topology.stack.stop().catch(() => undefined);
  await topology.server.stop('SIGTERM').catch(() => undefined);
  await topology.postgres.stop('SIGINT').catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Incidents and their deliveries.

/** One incident of the storm and everything sent for it. */
interface Planned {
  incident: IncidentDelivery;
  ownPage: boolean;
  /** PagerDuty incidents are resolved in PagerDuty (its webhook); the others through warroom's API. */
  fromSource: boolean;
  trigger: Delivery;
  note?: Delivery;
  resolve: Delivery;
  triggers: Sent[];
  notes: Sent[];
  resolves: Sent[];
  /** When the first trigger copy was answered 2xx. */
  acceptedAt?: number;
  resolveAcceptedAt?: number;
  /** When the fakes first held its complete war room / its close-out. */
  roomAt?: number;
  closedAt?: number;
}

function plan(stack: Stack): Planned[] {
  return Array.from({ length: settings.incidents }, (_, index) => {
    const incident = incidentDelivery(index, {
      tag: 'cluster',
      numberBase: 8_100_000,
      secrets: SECRETS,
      apiService: (i) => (Math.floor(i / DELIVERY_KINDS.length) % 2 === 0 ? OWN_PAGE : SHARED_PAGE),
      registerPagerDuty: (title) => stack.fakes.pagerduty.addIncident({ id: `PCLUSTER${String(index + 1).padStart(4, '0')}`, title }).id,
    });
    const fromSource = incident.source === 'pagerduty';
    return {
      incident,
      ownPage: incident.service !== SHARED_PAGE,
      fromSource,
      trigger: { key: incident.key, expect: { what: `trigger from ${incident.source}` }, ...incident.delivery },
      // A distinct delivery for an open run: a note in PagerDuty, which the timeline must show once.
      note: fromSource ? pagerDutyNote(incident.externalId, `cluster note ${index + 1} ${randomUUID().slice(0, 8)}`) : undefined,
      resolve: fromSource ? pagerDutyEvent('resolve', incident.externalId) : genericAction(incident.key, 'resolve', 'sam.sre@example.com'),
      triggers: [],
      notes: [],
      resolves: [],
    };
  });
}

const accepted = (sent: Sent) => sent.final.kind === '2xx';
/** A resolve through the API answers 409 "already resolved" to a copy that comes after another: it is applied. */
const resolveApplied = (sent: Sent) => accepted(sent) || (sent.final.status === 409 && /already resolved/.test(sent.final.detail ?? ''));

/** Sends `copies` copies at once over the APIs, each retried as an alerting tool retries. */
async function sendCopies(urls: readonly string[], delivery: Delivery, copies: number, first: number): Promise<Sent[]> {
  return Promise.all(
    Array.from({ length: copies }, (_, copy) =>
      sendWithRetries(urls, delivery, {
        first: first + copy,
        deadlineMs: SEND_DEADLINE_MS,
        onAttempt: (attempt) => attempts.push(attempt),
      }),
    ),
  );
}

const attempts: Attempt[] = [];

// ---------------------------------------------------------------------------------------------
// What the fakes hold: cheap to ask, so the run can watch every incident all the time.

function watcher(topology: Topology, incidents: Planned[]) {
  const effects = vendorEffects(topology.stack.fakes, ANNOUNCE);
  const roomDone = (planned: Planned): boolean => {
    const { incident } = planned;
    const ticket = effects.ticketsOf(incident)[0];
    const channel = effects.channelsOf(incident)[0];
    if (!ticket || !channel || !channel.topic.value.includes(ticket.key)) return false;
    const summary = effects.messagesOf(incident, SLACK_EVENT_TYPES.summary)[0];
    if (!summary || !channel.pins.has(summary.ts) || effects.announcementsOf(incident).length === 0) return false;
    if (incident.source === 'pagerduty' && effects.pagerDutyNotesOf(incident) === 0) return false;
    if (incident.source === 'victorops' && effects.victorOpsInfosOf(incident) === 0) return false;
    return !planned.ownPage || effects.statusPagesOf(incident).length > 0;
  };
  const closedDone = (planned: Planned): boolean => {
    const { incident } = planned;
    const ticket = effects.ticketsOf(incident)[0];
    const channel = effects.channelsOf(incident)[0];
    if (!ticket || ticket.fields.status.statusCategory.key !== 'done' || ticket.comments.length === 0 || !channel?.isArchived) return false;
    if (planned.ownPage && effects.statusPagesOf(incident)[0]?.status !== 'Closed') return false;
    return planned.fromSource || incident.source !== 'victorops' || effects.victorOpsRecoveriesOf(incident) > 0;
  };
  let timer: NodeJS.Timeout | undefined;
  const look = () => {
    const now = Date.now();
    for (const planned of incidents) {
      if (planned.acceptedAt !== undefined && planned.roomAt === undefined && roomDone(planned)) planned.roomAt = now;
      if (planned.resolveAcceptedAt !== undefined && planned.closedAt === undefined && closedDone(planned)) planned.closedAt = now;
    }
  };
  return {
    effects,
    start() {
      timer = setInterval(look, 250);
    },
    stop() {
      clearInterval(timer);
      look();
    },
  };
}

/** Incidents with accepted work not yet done at `at`: rooms to open, close-outs to finish. */
function backlogAt(incidents: readonly Planned[], at: number): Planned[] {
  return incidents.filter(
    (planned) =>
      (planned.acceptedAt !== undefined && planned.acceptedAt <= at && !(planned.roomAt !== undefined && planned.roomAt <= at)) ||
      (planned.resolveAcceptedAt !== undefined &&
        planned.resolveAcceptedAt <= at &&
        !(planned.closedAt !== undefined && planned.closedAt <= at)),
  );
}

/** When everything accepted by `at` was done (undefined while some of it is not). */
function drainedAt(backlog: readonly Planned[], at: number): number | undefined {
  let last = at;
  for (const planned of backlog) {
    const roomPending = planned.acceptedAt !== undefined && planned.acceptedAt <= at;
    const closePending = planned.resolveAcceptedAt !== undefined && planned.resolveAcceptedAt <= at;
    if (roomPending) {
      if (planned.roomAt === undefined) return undefined;
      last = Math.max(last, planned.roomAt);
    }
    if (closePending) {
      if (planned.closedAt === undefined) return undefined;
      last = Math.max(last, planned.closedAt);
    }
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// The storm: incidents released at a steady rate, each one's lifecycle on its own.

async function lifecycle(topology: Topology, planned: Planned, index: number): Promise<void> {
  planned.triggers = await sendCopies(topology.apiUrls, planned.trigger, settings.copies, index);
  const first = planned.triggers.filter(accepted).map((sent) => sent.final.answeredAt);
  if (first.length === 0) return;
  planned.acceptedAt = Math.min(...first);
  if (planned.note) planned.notes = await sendCopies(topology.apiUrls, planned.note, 2, index + 1);
  // A person resolves once the room is there.
  const roomSeen = await eventually(`${planned.incident.key} room`, async () => planned.roomAt !== undefined, {
    timeoutMs: SETTLE_MS,
    intervalMs: 500,
  }).catch(() => false);
  if (!roomSeen) return;
  planned.resolves = await sendCopies(topology.apiUrls, planned.resolve, 2, index);
  const applied = planned.resolves.filter(resolveApplied).map((sent) => sent.final.answeredAt);
  if (applied.length > 0) planned.resolveAcceptedAt = Math.min(...applied);
}

/** Lets incidents go in index order: by the schedule, or sooner when a fault wants work in flight. */
interface Releaser {
  released(): number;
  upTo(count: number): void;
  waitFor(index: number): Promise<void>;
}

function releaser(total: number): Releaser {
  let released = 0;
  const opens: (() => void)[] = [];
  const gates = Array.from({ length: total }, (_, index) => new Promise<void>((resolve) => (opens[index] = resolve)));
  return {
    released: () => released,
    upTo(count) {
      for (; released < Math.min(count, total); released += 1) opens[released]?.();
    },
    waitFor: (index) => gates[index] ?? Promise.resolve(),
  };
}

// ---------------------------------------------------------------------------------------------
// Hostile input, all the time: bad input is answered 4xx whatever state Temporal is in.

interface Probe {
  name: string;
  expected: number;
  delivery: Pick<Delivery, 'path' | 'body' | 'headers'>;
}

function probes(): Probe[] {
  const pagerDuty = JSON.stringify({ event: { id: 'EVBAD', event_type: 'incident.triggered', data: { id: 'PBAD' } } });
  const json = { 'content-type': 'application/json' };
  const bearer = { authorization: `Bearer ${API_TOKEN}` };
  return [
    {
      name: 'PagerDuty, wrong signature',
      expected: 401,
      delivery: { path: '/webhooks/pagerduty', body: pagerDuty, headers: { ...json, ...signPagerDuty(pagerDuty, 'not-the-secret') } },
    },
    {
      name: 'PagerDuty, signed, malformed JSON',
      expected: 400,
      delivery: {
        path: '/webhooks/pagerduty',
        body: '{"event":',
        headers: { ...json, ...signPagerDuty('{"event":', PAGERDUTY_WEBHOOK_SECRET) },
      },
    },
    {
      name: 'POST /incidents without a title',
      expected: 400,
      delivery: { path: '/incidents', body: JSON.stringify({ id: 'bad-1' }), headers: { ...json, ...bearer } },
    },
    {
      name: 'POST /incidents, wrong token',
      expected: 401,
      delivery: {
        path: '/incidents',
        body: JSON.stringify({ id: 'bad-2', title: 'x' }),
        headers: { ...json, authorization: 'Bearer nope' },
      },
    },
    {
      name: 'VictorOps outgoing, wrong token',
      expected: 401,
      delivery: { path: '/webhooks/victorops', body: '{}', headers: { ...json, 'x-warroom-token': 'nope' } },
    },
    {
      name: 'POST /incidents, text/plain',
      expected: 415,
      delivery: { path: '/incidents', body: 'id=bad-3', headers: { 'content-type': 'text/plain', ...bearer } },
    },
  ];
}

interface ProbeAnswer {
  probe: Probe;
  attempt: Attempt;
}

/** Sends one hostile delivery every `intervalMs`, to each API in turn, until `done()`. */
async function hostile(urls: readonly string[], done: () => boolean, intervalMs = 250): Promise<ProbeAnswer[]> {
  const all = probes();
  const answers: ProbeAnswer[] = [];
  for (let n = 0; !done(); n += 1) {
    const probe = all[n % all.length] as Probe;
    answers.push({ probe, attempt: await post(urls[n % urls.length] as string, probe.delivery) });
    await sleep(intervalMs);
  }
  return answers;
}

// ---------------------------------------------------------------------------------------------
// Faults.

interface FaultRecord {
  name: FaultName;
  /** What was done, with how long each part took. */
  what: string;
  startedAt: number;
  /** Incidents with accepted work not done when it struck. */
  pendingAtStrike: number;
  /** When the faulted part was serving again. */
  recoveredAt: number;
  /** Incidents with accepted work not done when it recovered. */
  backlog: number;
  /** From recovery until everything accepted by then was done (undefined: not within the deadline). */
  drainMs?: number;
  /** Stopped window for counting answers (PostgreSQL: stop → start). */
  window?: { from: number; to: number };
}

async function restartReplica(one: Replica, signal: NodeJS.Signals): Promise<string> {
  const started = Date.now();
  await one.stop(signal);
  const gone = Date.now();
  await one.start();
  return `${one.name} ${signal}: gone ${seconds(gone - started)}, serving again ${seconds(Date.now() - gone)} later`;
}

async function runFault(
  topology: Topology,
  name: FaultName,
  release: Releaser,
): Promise<Omit<FaultRecord, 'backlog' | 'drainMs' | 'pendingAtStrike'>> {
  const startedAt = Date.now();
  const parts: string[] = [];
  let window: FaultRecord['window'];
  switch (name) {
    case 'rolling-deploy':
      // One worker at a time, each drained by SIGTERM and replaced before the next goes.
      for (const worker of topology.workers) parts.push(await restartReplica(worker, 'SIGTERM'));
      break;
    case 'api-restart':
      for (const api of topology.apis) parts.push(await restartReplica(api, 'SIGTERM'));
      break;
    case 'worker-kill':
      parts.push(await restartReplica(topology.workers[0] as Replica, 'SIGKILL'));
      break;
    case 'temporal-restart': {
      await topology.server.stop('SIGTERM');
      const gone = Date.now();
      await topology.server.start();
      parts.push(`server SIGTERM: gone ${seconds(gone - startedAt)}, serving again ${seconds(Date.now() - gone)} later`);
      break;
    }
    case 'postgres-stop': {
      await topology.postgres.stop('SIGINT');
      const from = Date.now();
      // New incidents fire while it is down, as they would: 503, retried until it is back.
      release.upTo(release.released() + Math.max(3, settings.wave));
      await sleep(settings.postgresDownMs);
      await topology.postgres.start();
      window = { from, to: Date.now() };
      parts.push(`PostgreSQL fast shutdown, down ${seconds(window.to - window.from)}`);
      break;
    }
  }
  return { name, what: parts.join('; '), startedAt, recoveredAt: Date.now(), window };
}

async function faults(topology: Topology, incidents: Planned[], release: Releaser): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  // Warm up: some incidents in every stage before the first fault.
  await eventually(
    'the storm to warm up',
    async () => release.released() >= Math.min(incidents.length, Math.max(5, incidents.length / 10)),
    {
      timeoutMs: SETTLE_MS,
      intervalMs: 250,
    },
  );
  for (const name of settings.faults) {
    // Strike with work in flight: at least 3 incidents not done yet. When the storm is between
    // waves, its next wave comes now; after 30 s it strikes with whatever there is.
    if (backlogAt(incidents, Date.now()).length < 3) release.upTo(release.released() + Math.max(3, settings.wave));
    await eventually('work in flight', async () => backlogAt(incidents, Date.now()).length >= 3, {
      timeoutMs: 30_000,
      intervalMs: 100,
    }).catch(() => undefined);
    const pendingAtStrike = backlogAt(incidents, Date.now()).length;
    const done = await runFault(topology, name, release);
    const backlog = backlogAt(incidents, done.recoveredAt);
    const drained = await eventually(`drain after ${name}`, async () => drainedAt(backlog, done.recoveredAt), {
      timeoutMs: SETTLE_MS,
      intervalMs: 250,
    }).catch(() => undefined);
    const record: FaultRecord = {
      ...done,
      pendingAtStrike,
      backlog: backlog.length,
      drainMs: drained === undefined ? undefined : drained - done.recoveredAt,
    };
    records.push(record);
    console.log(
      `  fault ${name}: struck with ${pendingAtStrike} incidents in flight; ${record.what}; ${record.backlog} incidents with work pending at recovery, drained ${record.drainMs === undefined ? 'NOT within the deadline' : `${seconds(record.drainMs)} after recovery`}`,
    );
    // A pause between faults, so that one fault's answers are not counted in the next one's window.
    await sleep(3000);
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// After the storm: what Temporal says, what the fakes hold.

async function finalStates(stack: Stack, incidents: readonly Planned[]): Promise<Map<string, IncidentState | string>> {
  const finals = new Map<string, IncidentState | string>();
  await pool(incidents, 8, async (planned) => {
    const key = planned.incident.key;
    try {
      const state = await eventually(
        `${key} completed`,
        async () => ((await stack.status(key)) === 'COMPLETED' ? stack.state(key) : undefined),
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      finals.set(key, state);
    } catch (err) {
      finals.set(key, `${(err as Error).message} (status ${await stack.status(key).catch(() => '?')})`);
    }
  });
  return finals;
}

const { EventType } = proto.temporal.api.enums.v1;

/** What the runs' histories show of recovery: activity attempts retried after a timeout, workflow tasks that timed out; when each happened. */
async function timeoutsInHistories(stack: Stack, incidents: readonly Planned[]): Promise<{ at: number; what: string }[]> {
  const found: { at: number; what: string }[] = [];
  const when = (event: proto.temporal.api.history.v1.IHistoryEvent) =>
    Number(event.eventTime?.seconds ?? 0) * 1000 + Math.round((event.eventTime?.nanos ?? 0) / 1e6);
  await pool(incidents, 8, async (planned) => {
    const history = await stack.client.workflow.getHandle(workflowIdFor(planned.incident.key)).fetchHistory();
    const typeOf = new Map<string, string>();
    for (const event of history.events ?? []) {
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        typeOf.set(String(event.eventId), event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
      }
      const started = event.activityTaskStartedEventAttributes;
      if (
        event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
        started?.lastFailure?.timeoutFailureInfo &&
        (started.attempt ?? 1) > 1
      ) {
        found.push({ at: when(event), what: `activity ${typeOf.get(String(started.scheduledEventId)) ?? '?'}` });
      }
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) found.push({ at: when(event), what: 'workflow task' });
    }
  });
  return found;
}

async function runsPerWorkflow(stack: Stack, type: string): Promise<Map<string, number>> {
  const runs = new Map<string, number>();
  for await (const run of stack.client.workflow.list({ query: `WorkflowType = '${type}'` })) {
    runs.set(run.workflowId, (runs.get(run.workflowId) ?? 0) + 1);
  }
  return runs;
}

async function searchAttributeAliases(stack: Stack): Promise<Map<string, number>> {
  const described = await stack.client.connection.workflowService.describeNamespace({ namespace: NAMESPACE });
  const aliases = Object.values(described.config?.customSearchAttributeAliases ?? {});
  return new Map(
    INCIDENT_SEARCH_ATTRIBUTES.map((attribute) => [attribute.name, aliases.filter((alias) => alias === attribute.name).length]),
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  keepScratchDirs(process.argv.includes('--keep'));
  // This process's own Temporal client must not chatter; the servers and warroom log to files.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  console.log(`warroom production-topology test · ${machineLine()}`);
  console.log(
    `settings: ${settings.incidents} incidents, ${settings.copies} copies of each trigger, ${settings.rate} new a second; faults ${settings.faults.join(', ')}`,
  );
  const runStarted = Date.now();
  let topology: Topology | undefined;
  let broke = false;
  try {
    topology = await startTopology();
    const setupMs = Date.now() - runStarted;
    section('set-up');
    for (const line of formatSteps(topology.setup)) console.log(`  ${line}`);
    figure('set-up in all', seconds(setupMs));
    const aliases = await searchAttributeAliases(topology.stack);
    figure('search attributes (registered by the replicas)', [...aliases].map(([name, n]) => `${name} ×${n}`).join(', '));
    check(
      'search attributes registered once each by four replicas starting together',
      [...aliases.values()].every((n) => n === 1),
      JSON.stringify(Object.fromEntries(aliases)),
    );

    const incidents = plan(topology.stack);
    const watch = watcher(topology, incidents);
    watch.start();
    section('storm and faults');
    const stormStarted = Date.now();
    const interval = 1000 / settings.rate;
    const release = releaser(incidents.length);
    const schedule = (async () => {
      for (let index = 0; index < incidents.length; index += settings.wave) {
        await sleep(Math.max(0, stormStarted + index * interval - Date.now()));
        release.upTo(index + settings.wave);
      }
    })();
    const lifecycles = Promise.all(
      incidents.map(async (planned, index) => {
        await release.waitFor(index);
        await lifecycle(topology!, planned, index);
      }),
    );
    let finished = false;
    const hostility = hostile(topology.apiUrls, () => finished);
    const faultRecords = await faults(topology, incidents, release);
    await schedule;
    await lifecycles;
    const stormMs = Date.now() - stormStarted;
    // Everything accepted done (rooms, close-outs), then the last hostile delivery.
    const settled = await eventually('every accepted incident done', async () => drainedAt(incidents, Date.now()), {
      timeoutMs: SETTLE_MS,
      intervalMs: 500,
    }).catch(() => undefined);
    finished = true;
    const hostileAnswers = await hostility;
    watch.stop();
    const finals = await finalStates(topology.stack, incidents);
    const stack = topology.stack;

    // ---- figures
    section('deliveries');
    const byKind = DELIVERY_KINDS.map((kind) => `${kind} ${incidents.filter((p) => p.incident.kind === kind).length}`).join(', ');
    figure('incidents', `${incidents.length} (${byKind})`);
    const sent = incidents.flatMap((p) => [...p.triggers, ...p.notes, ...p.resolves]);
    figure(
      'deliveries',
      `${sent.length}: ${incidents.reduce((n, p) => n + p.triggers.length, 0)} triggers (${settings.copies} copies each), ${incidents.reduce((n, p) => n + p.notes.length, 0)} PagerDuty notes (2 copies), ${incidents.reduce((n, p) => n + p.resolves.length, 0)} resolves (2 copies)`,
    );
    const kinds = countKinds(attempts);
    figure(
      'attempts (with retries)',
      `${attempts.length}: 2xx ${kinds['2xx']}, 4xx ${kinds['4xx']}, 5xx ${kinds['5xx']}, refused ${kinds.refused}, reset ${kinds.reset}, timeout ${kinds.timeout}, error ${kinds.error}`,
    );
    figure(
      'attempts per API',
      topology.apiUrls.map((url, index) => `api-${index + 1} ${attempts.filter((attempt) => attempt.baseUrl === url).length}`).join(', '),
    );
    const outcomes = new Map<string, number>();
    for (const one of sent) {
      const outcome = `${one.final.status ?? one.final.kind} ${one.final.detail ?? ''}`.trim();
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    figure('final answers', [...outcomes].map(([what, n]) => `${what} ×${n}`).join(', '));
    figure(
      'storm lasted',
      `${seconds(stormMs)} (incidents released ${settings.wave} at a time over ${seconds(Math.floor((incidents.length - 1) / settings.wave) * settings.wave * interval)})`,
    );

    section('faults');
    const timeouts = await timeoutsInHistories(stack, incidents);
    for (const record of faultRecords) {
      const during = attempts.filter((a) => a.answeredAt >= record.startedAt && a.sentAt <= record.recoveredAt);
      const counted = countKinds(during);
      figure(
        record.name,
        `struck with ${record.pendingAtStrike} incidents in flight; ${record.what}; answers meanwhile 2xx ${counted['2xx']}, 503 ${counted['5xx']}, refused ${counted.refused}, reset ${counted.reset}; ${record.backlog} incidents pending, drained ${record.drainMs === undefined ? 'never' : seconds(record.drainMs)} after`,
      );
      // Recovered by a timeout: retried after a timeout that ran out between the fault and the end of its drain.
      const until = record.recoveredAt + (record.drainMs ?? 0) + 1000;
      const recovered = timeouts.filter((one) => one.at >= record.startedAt && one.at <= until);
      const activities = recovered.filter((one) => one.what.startsWith('activity'));
      figure(
        `  recovered by timeouts`,
        `${activities.length} activity attempts retried after their start-to-close timeout${activities.length ? ` (${[...new Set(activities.map((one) => one.what.slice(9)))].join(', ')})` : ''}, ${recovered.length - activities.length} workflow tasks timed out`,
      );
      check(
        `drained after ${record.name}`,
        record.drainMs !== undefined,
        `${record.backlog} incidents still pending after ${SETTLE_MS / 1000} s`,
      );
      if (record.window) {
        const { from, to } = record.window;
        const inWindow = attempts.filter((a) => a.answeredAt >= from && a.answeredAt <= to);
        figure(
          '503s while PostgreSQL was down',
          `${inWindow.filter((a) => a.status === 503).length} (of ${inWindow.length} answers; every one retried)`,
        );
      }
    }
    const unplanned = [...topology.apis, ...topology.workers].map((one) => `${one.name} ${one.unplannedExits}`).join(', ');
    figure('processes that exited on their own', unplanned);
    check(
      'no warroom process exited on its own',
      [...topology.apis, ...topology.workers].every((one) => one.unplannedExits === 0),
      unplanned,
    );
    check('the Temporal server stayed up (but for its planned restart)', topology.server.running());
    check('PostgreSQL stayed up (but for its planned stop)', topology.postgres.running());

    // ---- every 2xx acted on
    section('checks');
    const neverAccepted = incidents.filter((p) => p.acceptedAt === undefined).map((p) => `${p.incident.key}: ${p.triggers[0]?.final.kind}`);
    check('every incident accepted (2xx) in the end', neverAccepted.length === 0, neverAccepted.slice(0, 5).join('; '));
    const unresolved = incidents
      .filter((p) => p.resolveAcceptedAt === undefined)
      .map((p) => `${p.incident.key}: ${p.resolves[0]?.final.status ?? 'room never seen'}`);
    check('every incident resolved (2xx, or 409 already resolved)', unresolved.length === 0, unresolved.slice(0, 5).join('; '));
    const problems: string[] = [];
    for (const planned of incidents) {
      const final = finals.get(planned.incident.key);
      if (typeof final === 'string' || final === undefined) {
        problems.push(`${planned.incident.key}: ${final ?? 'no state'}`);
        continue;
      }
      const room = roomMissing(final);
      const closeOut = closeOutMissing(planned.incident, final, { fromSource: planned.fromSource });
      if (final.status !== 'resolved') problems.push(`${planned.incident.key}: ${final.status}`);
      if (room) problems.push(`${planned.incident.key}: room ${room}`);
      if (closeOut) problems.push(`${planned.incident.key}: close-out ${closeOut}`);
      const { note } = planned;
      if (note && planned.notes.some(accepted)) {
        const shown = final.timeline.filter((entry) => entry.what === note.expect.what && entry.detail === note.expect.detail).length;
        if (shown !== 1) problems.push(`${planned.incident.key}: note accepted, on the timeline ${shown} times`);
      }
    }
    figure(
      'runs completed, room and close-out complete',
      `${incidents.length - new Set(problems.map((p) => p.split(':')[0])).size}/${incidents.length}`,
    );
    check('every run completed with its war room, notes and close-out complete', problems.length === 0, problems.slice(0, 8).join('; '));
    const runs = await runsPerWorkflow(stack, INCIDENT_WORKFLOW);
    const notOnce = incidents
      .filter((p) => runs.get(workflowIdFor(p.incident.key)) !== 1)
      .map((p) => `${p.incident.key} ${runs.get(workflowIdFor(p.incident.key)) ?? 0}`);
    figure('incident runs', `${[...runs.values()].reduce((a, b) => a + b, 0)} for ${incidents.length} incidents`);
    check('one run per incident', notOnce.length === 0 && runs.size === incidents.length, notOnce.slice(0, 5).join('; '));

    // ---- nothing doubled
    const { effects } = watch;
    const tallies = closedOutTallies(
      effects,
      incidents.map((p) => p.incident),
      {
        ownPage: (incident) => incident.service !== SHARED_PAGE,
        fromSource: (incident) => incident.source === 'pagerduty',
      },
    );
    const incidentsOf = incidents.map((p) => p.incident);
    const notes: Tally = {
      name: 'PagerDuty notes',
      counts: incidentsOf.map(effects.pagerDutyNotesOf),
      expected: incidentsOf.map((i) => (i.source === 'pagerduty' ? 1 : 0)),
    };
    const infos: Tally = {
      name: 'VictorOps INFO alerts',
      counts: incidentsOf.map(effects.victorOpsInfosOf),
      expected: incidentsOf.map((i) => (i.source === 'victorops' ? 1 : 0)),
    };
    // Exactly once: what warroom looks up before it writes. At least once (README): VictorOps posts, which can be neither read back nor keyed, and PagerDuty change events, which have no de-duplication key.
    const exactlyOnce = [
      tallies.tickets,
      tallies.channels,
      tallies.summaries,
      tallies.announcements,
      notes,
      tallies.pages,
      tallies.statusMessages,
      tallies.comments,
      tallies.postmortems,
      tallies.pagerDutyResolves,
    ];
    const atLeastOnce = [
      infos,
      tallies.victorOpsRecoveries,
      tallies.ticketEvents,
      tallies.roomEvents,
      tallies.pageEvents,
      tallies.resolvedEvents,
    ];
    figure('exactly once', exactlyOnce.map((t) => `${t.name} ${total(t)}`).join(', '));
    const doubled = exactlyOnce.reduce((sum, t) => sum + extra(t), 0);
    const lost = [...exactlyOnce, ...atLeastOnce].reduce((sum, t) => sum + short(t), 0);
    figure('at least once (repeats)', atLeastOnce.map((t) => `${t.name} ${total(t)} (${extra(t)})`).join(', '));
    const sharedPages = effects.sharedStatusPages(SHARED_PAGE);
    const pageRuns = (await runsPerWorkflow(stack, STATUS_PAGE_WORKFLOW)).get(statusPageWorkflowId(SHARED_PAGE)) ?? 0;
    const sharedIds = new Set(sharedPages.map((page) => page.externalId));
    figure(
      'shared status pages',
      `${sharedPages.length} (${sharedIds.size} episodes) in ${pageRuns} runs of the monitor's status-page workflow, ${sharedPages.filter((page) => page.status === 'Closed').length} closed`,
    );
    // A run makes a page per episode (incidents that join while the last one's page closes start another in the same run).
    check(
      "shared status pages: each episode's page made once (no repeated externalId), each closed",
      sharedIds.size === sharedPages.length && sharedPages.length >= pageRuns && sharedPages.every((page) => page.status === 'Closed'),
      `${pageRuns} runs; pages: ${sharedPages.map((page) => `${page.externalId} ${page.status}`).join(', ')}`,
    );
    figure('lost', lost);
    figure('doubled', doubled);
    check(
      'nothing lost: every ticket, room, note, status page, close-out there',
      lost === 0,
      tallyProblems([...exactlyOnce, ...atLeastOnce]).join('; '),
    );
    check(
      'nothing doubled: tickets, channels, summaries, announcements, notes, status pages, status messages, comments, postmortems',
      doubled === 0,
      tallyProblems(exactlyOnce).join('; '),
    );
    const contract = contractProblems(stack.fakes);
    check('every vendor call as the real API accepts it', contract.length === 0, contract.slice(0, 5).join('; '));

    // ---- hostile input
    const probeKinds = countKinds(hostileAnswers.map((answer) => answer.attempt));
    const wrong = hostileAnswers.filter((answer) => answer.attempt.status !== undefined && answer.attempt.status !== answer.probe.expected);
    const duringOutage = (answer: ProbeAnswer) =>
      faultRecords.some(
        (r) =>
          (r.name === 'postgres-stop' || r.name === 'temporal-restart') &&
          answer.attempt.sentAt >= r.startedAt &&
          answer.attempt.sentAt <= r.recoveredAt,
      );
    figure(
      'bad input',
      `${hostileAnswers.length} sent (${hostileAnswers.filter(duringOutage).length} while Temporal or PostgreSQL was down): 4xx ${probeKinds['4xx']}, 5xx ${probeKinds['5xx']}, refused ${probeKinds.refused} (an API restarting), other ${probeKinds.reset + probeKinds.timeout + probeKinds.error + probeKinds['2xx']}`,
    );
    check(
      'bad input never answered 5xx (or 2xx): always its 4xx',
      wrong.length === 0 && probeKinds['5xx'] === 0,
      wrong
        .slice(0, 5)
        .map((w) => `${w.probe.name}: ${w.attempt.status}`)
        .join('; '),
    );
    figure('everything done', settled === undefined ? 'NOT within the deadline' : `${seconds(settled - runStarted)} after the start`);
    figure('wall time', seconds(Date.now() - runStarted));
    if (checks.some((one) => !one.ok)) {
      console.log(`  logs: ${topology.dir} (kept)`);
      keepScratchDirs(true);
    }
  } catch (err) {
    broke = true;
    check('the run itself', false, (err as Error).stack ?? String(err));
    if (topology) console.log(`  logs: ${topology.dir} (kept)`);
    keepScratchDirs(true);
  } finally {
    await stopTopology(topology);
  }
  for (const one of checks) console.log(`${one.ok ? '✓' : '✗'} ${one.name}${one.ok || !one.detail ? '' : `: ${one.detail}`}`);
  const failed = checks.filter((one) => !one.ok).length;
  console.log(`cluster: ${checks.length - failed} passed, ${failed} failed`);
  return broke ? 2 : failed === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping`);
    process.exit(130);
  });
}

// Every child process and the run's folder go with this process (chaos/stack.ts, chaos/cluster/topology.ts).
main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`cluster: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
