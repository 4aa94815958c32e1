/**
 * The stack a process-level chaos scenario runs on: test/stack.ts's vendor fakes in this process
 * and Temporal dev server on a SQLite file in a temporary directory, with warroom's API and worker
 * as separate child processes (`node --import tsx src/main.ts --role=…`, one process each, so a
 * kill -9 hits the process that does the work, not a launcher). Every child is registered so that
 * it is killed on any exit of this process, failures included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '../test/stack.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Where warroom's processes run from: this checkout, or CHAOS_WARROOM_ROOT (a patched copy, to try a fix). */
export const WARROOM_ROOT = resolve(process.env.CHAOS_WARROOM_ROOT ?? REPO_ROOT);

export const PAGERDUTY_WEBHOOK_SECRET = 'chaos-pagerduty-webhook-secret';
export const API_TOKEN = 'chaos-api-token';
export const ANNOUNCE_CHANNEL = 'incidents';

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

const liveStacks = new Set<ProcessStack>();

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

/**
 * Starts warroom with `role` and `env` (added to a minimal environment: nothing leaks in from ours),
 * from the sources under tsx, or as deployed: the build in `dist/` (`npm run build` first).
 */
export function startWarroom(role: Role, env: Record<string, string>, logFile: string, from: 'src' | 'dist' = 'src'): WarroomProcess {
  const baseEnv: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }
  const entry = from === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...entry, `--role=${role}`], {
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
    const timer = setTimeout(
      () => reject(new Error(`warroom ${role} did not start within ${START_TIMEOUT_MS / 1000} s; see ${logFile}`)),
      START_TIMEOUT_MS,
    );
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

export interface ProcessStackOptions {
  name: string;
  /** Latency every fake adds to each call, in ms. */
  latencyMs: number;
  /** Extra environment for both warroom processes. */
  env?: Record<string, string>;
}

/** test/stack.ts's stack (fakes, dev server on a file, this process's client) with warroom as two processes. */
export interface ProcessStack extends Omit<Stack, 'apiServer' | 'worker'> {
  dir: string;
  api: WarroomProcess;
  worker: WarroomProcess;
  startApi(): WarroomProcess;
  startWorker(): WarroomProcess;
}

/** Fakes, dev server on a SQLite file, API and worker processes; waits until both are running. */
export async function startProcessStack(options: ProcessStackOptions): Promise<ProcessStack> {
  const dir = scratchDir(options.name);
  const base = await startStack({
    name: `chaos-${options.name}`,
    temporal: { dbFile: join(dir, 'temporal.sqlite'), logFile: join(dir, 'temporal.log'), headless: true },
    fakes: { slack: { seed: 5 }, announceChannel: ANNOUNCE_CHANNEL },
    worker: false,
    api: false,
    env: {
      LOG_LEVEL: 'info',
      PAGERDUTY_WEBHOOK_SECRET,
      WARROOM_API_TOKEN: API_TOKEN,
      SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com',
      SLACK_ARCHIVE_DELAY: '1s',
      TEMPORAL_UI_URL: 'http://localhost:8233',
      ...options.env,
    },
  });
  base.fakes.setLatency(options.latencyMs);
  let apiCount = 0;
  let workerCount = 0;
  const startApi = () => startWarroom('api', base.env, join(dir, `api-${++apiCount}.log`));
  const startWorker = () => startWarroom('worker', base.env, join(dir, `worker-${++workerCount}.log`));
  const stack: ProcessStack = {
    get temporal() {
      return base.temporal;
    },
    taskQueue: base.taskQueue,
    env: base.env,
    config: base.config,
    client: base.client,
    fakes: base.fakes,
    apiPort: base.apiPort,
    apiUrl: base.apiUrl,
    state: base.state,
    status: base.status,
    stopTemporal: base.stopTemporal,
    restartTemporal: base.restartTemporal,
    dir,
    api: startApi(),
    worker: startWorker(),
    startApi,
    startWorker,
    async stop() {
      liveStacks.delete(stack);
      await Promise.all([stack.api.stop('SIGTERM'), stack.worker.stop('SIGTERM')]);
      await base.stop().catch(() => undefined);
    },
  };
  liveStacks.add(stack);
  try {
    await Promise.all([stack.api.ready, stack.worker.ready]);
  } catch (err) {
    process.stderr.write(`api log:\n${tail(stack.api.logFile)}\nworker log:\n${tail(stack.worker.logFile)}\n`);
    await stack.stop();
    throw err;
  }
  return stack;
}
