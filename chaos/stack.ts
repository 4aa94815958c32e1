/**
 * The stack a process-level chaos scenario runs on: the vendor fakes in this process, a Temporal
 * dev server on a SQLite file in a temporary directory, and warroom's API and worker as separate
 * child processes (`node --import tsx src/main.ts --role=…`, one process each, so a kill -9 hits
 * the process that does the work, not a launcher). Every child is registered so that it is
 * killed on any exit of this process, failures included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { startAllFakes, type AllFakes } from '../test/fakes/env.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Where warroom's processes run from: this checkout, or CHAOS_WARROOM_ROOT (a patched copy, to try a fix). */
export const WARROOM_ROOT = resolve(process.env.CHAOS_WARROOM_ROOT ?? REPO_ROOT);

export const PAGERDUTY_WEBHOOK_SECRET = 'chaos-pagerduty-webhook-secret';
export const API_TOKEN = 'chaos-api-token';
export const ANNOUNCE_CHANNEL = 'incidents';
export const ASSIGNEE = { id: 'PUSR001', name: 'Dana Oncall', email: 'dana.oncall@example.com' };

// ---------------------------------------------------------------------------------------------
// Everything this process started, torn down on every way out.

const children = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
let keepScratch = false;

/** Keep the temporary directories (SQLite file, logs) instead of deleting them on exit. */
export function keepScratchDirs(keep: boolean): void {
  keepScratch = keep;
}

function killEveryChild(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function removeScratch(): void {
  if (keepScratch) return;
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

const liveStacks = new Set<Stack>();

/** Stops every stack still running and waits for its processes to be gone (failures, Ctrl-C). */
export async function stopAllStacks(): Promise<void> {
  await Promise.all([...liveStacks].map((stack) => stack.stop().catch(() => undefined)));
}

process.once('exit', () => {
  killEveryChild();
  removeScratch();
});

/** A fresh temporary directory, removed when this process exits. */
export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `warroom-chaos-${name}-`));
  scratchDirs.add(dir);
  return dir;
}

/** Stops `child` with `signal` and waits for it to be gone; SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolveGone) => child.once('exit', () => resolveGone()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// warroom processes.

export type Role = 'api' | 'worker';

/** One warroom process (`--role=api` or `--role=worker`). */
export interface WarroomProcess {
  role: Role;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Settles once the process prints that it is running; rejects if it exits first. */
  ready: Promise<void>;
  /** Settles when the process is gone, with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM (graceful: warroom drains and exits) or SIGKILL (a crash); resolves once gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const READY_LINE = 'warroom is running';
const START_TIMEOUT_MS = 120_000;

/** Starts warroom with `role` and `env` (added to a minimal environment: nothing leaks in from ours). */
export function startWarroom(role: Role, env: Record<string, string>, logFile: string): WarroomProcess {
  const baseEnv: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', `--role=${role}`], {
    cwd: WARROOM_ROOT,
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolveExit({ code, signal });
    }),
  );
  const ready = new Promise<void>((resolveReady, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`warroom ${role} did not start within ${START_TIMEOUT_MS / 1000} s; see ${logFile}`)), START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes(READY_LINE)) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`warroom ${role} exited (code ${code}, signal ${signal}) before it was running; see ${logFile}`));
    });
  });
  ready.catch(() => undefined);
  return {
    role,
    pid: child.pid ?? -1,
    child,
    logFile,
    ready,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
}

/** The last `lines` lines of a log file, for a failure report. */
export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------
// The whole stack.

export interface StackOptions {
  name: string;
  /** Latency every fake adds to each call, in ms. */
  latencyMs: number;
  /** Extra environment for both warroom processes. */
  env?: Record<string, string>;
}

export interface Stack {
  dir: string;
  fakes: AllFakes;
  temporal: DevServer;
  temporalPort: number;
  dbFile: string;
  apiPort: number;
  apiUrl: string;
  /** The environment both warroom roles run with. */
  env: Record<string, string>;
  api: WarroomProcess;
  worker: WarroomProcess;
  /** This process's own client of the dev server, for checks (never used by warroom). */
  client: Client;
  startApi(): WarroomProcess;
  startWorker(): WarroomProcess;
  /** Stops the dev server (SIGTERM); its SQLite file stays. */
  stopTemporal(): Promise<void>;
  /** Starts the dev server again on the same file and port. */
  restartTemporal(): Promise<void>;
  /** State of the incident's latest run (queried while open, the result once completed). */
  state(key: string): Promise<IncidentState>;
  /** Status name of the incident's latest run, or `missing`. */
  status(key: string): Promise<string>;
  stop(): Promise<void>;
}

/** Every fake answers each call `ms` later. */
export function setLatency(fakes: AllFakes, ms: number): void {
  for (const table of [fakes.jira.faults, fakes.pagerduty.faults, fakes.victorops.faults, fakes.pagerdutyEvents.faults, fakes.statuscast.faults]) {
    table.set('*', ms > 0 ? { latencyMs: ms } : undefined);
  }
  if (ms > 0) fakes.slack.faults.latency('*', ms);
  else fakes.slack.faults.clear('*');
}

/** Fakes, dev server on a SQLite file, API and worker processes; waits until both are running. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = scratchDir(options.name);
  const dbFile = join(dir, 'temporal.sqlite');
  const temporalLog = join(dir, 'temporal.log');
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const fakes = await startAllFakes({ slackSeed: 5 });
    cleanups.push(() => fakes.stop());
    fakes.slack.addChannel({ name: ANNOUNCE_CHANNEL, creator: 'U0SAMSRE01', members: ['U0SAMSRE01', fakes.slack.bot.userId] });
    fakes.pagerduty.addUser(ASSIGNEE);
    setLatency(fakes, options.latencyMs);

    const [temporalPort, apiPort] = await Promise.all([freePort(), freePort()]);
    const launch = async () => {
      const server = await startDevServer({ port: temporalPort, dbFile, logFile: temporalLog, headless: true });
      children.add(server.process);
      server.process.once('exit', () => children.delete(server.process));
      return server;
    };
    let temporal = await launch();
    cleanups.push(() => temporal.stop());

    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const taskQueue = `chaos-${options.name}`;
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PAGERDUTY_WEBHOOK_SECRET,
      WARROOM_API_TOKEN: API_TOKEN,
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
      SLACK_ANNOUNCE_CHANNEL: `#${ANNOUNCE_CHANNEL}`,
      SLACK_ARCHIVE_DELAY: '1s',
      TEMPORAL_UI_URL: 'http://localhost:8233',
      ...fakes.env,
      ...options.env,
    };
    let apiCount = 0;
    let workerCount = 0;
    const startApi = () => startWarroom('api', env, join(dir, `api-${++apiCount}.log`));
    const startWorker = () => startWarroom('worker', env, join(dir, `worker-${++workerCount}.log`));

    const stack: Stack = {
      dir,
      fakes,
      get temporal() {
        return temporal;
      },
      temporalPort,
      dbFile,
      apiPort,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      env,
      api: startApi(),
      worker: startWorker(),
      client,
      startApi,
      startWorker,
      stopTemporal: () => temporal.stop(),
      async restartTemporal() {
        temporal = await launch();
      },
      async state(key) {
        const handle = client.workflow.getHandle(workflowIdFor(key));
        const description = await handle.describe();
        if (description.status.name === 'COMPLETED') return (await handle.result()) as IncidentState;
        return handle.query(incidentQuery);
      },
      async status(key) {
        try {
          return (await client.workflow.getHandle(workflowIdFor(key)).describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return 'missing';
          throw err;
        }
      },
      async stop() {
        liveStacks.delete(stack);
        await Promise.all([stack.api.stop('SIGTERM'), stack.worker.stop('SIGTERM')]);
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
      },
    };
    cleanups.push(async () => {
      await Promise.all([stack.api.stop('SIGKILL'), stack.worker.stop('SIGKILL')]);
    });
    liveStacks.add(stack);
    try {
      await Promise.all([stack.api.ready, stack.worker.ready]);
    } catch (err) {
      process.stderr.write(`api log:\n${tail(stack.api.logFile)}\nworker log:\n${tail(stack.worker.logFile)}\n`);
      throw err;
    }
    return stack;
  } catch (err) {
    for (const live of liveStacks) if (live.dir === dir) liveStacks.delete(live);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    throw err;
  }
}
