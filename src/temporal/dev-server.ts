import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../shared/search-attributes.js';
import { findTemporalCli, HOW_TO_GET_THE_CLI } from './cli.js';

export interface DevServerOptions {
  cliPath?: string;
  /** SQLite file to persist to; in memory when absent (tests). */
  dbFile?: string;
  /** Where the server's own log goes; discarded when absent. */
  logFile?: string;
  port: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** Server dynamic config, e.g. a low `limit.historyCount.suggestContinueAsNew` for tests. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * A vendor budget's task queue has one partition: the server paces a queue's rate per partition,
 * so at a Slack budget's 20 a minute four partitions would each dispatch in bursts of their own.
 * (A production cluster sets this for the budget queues only; see docs/BUDGETS.md.)
 */
export const BUDGET_QUEUE_CONFIG = { 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 } as const;

/** A running `temporal server start-dev`. */
export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on loopback, for tests and benchmarks. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolveUse) => {
    const server = createServer();
    server.once('error', () => resolveUse(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveUse(false)));
  });
}

/** Starts the Temporal dev server with warroom's search attributes and waits until it answers. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = options.cliPath ?? findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_THE_CLI);
  if (await portInUse(options.port)) {
    throw new Error(
      `port ${options.port} is already in use: another Temporal server (or an earlier warroom) is running. Stop it, or set TEMPORAL_DEV_PORT, or point TEMPORAL_ADDRESS at it.`,
    );
  }
  const address = `127.0.0.1:${options.port}`;
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--namespace', namespace];
  args.push('--log-level', 'warn');
  if (options.dbFile) {
    mkdirSync(resolve(options.dbFile, '..'), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.headless || options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
  for (const attribute of INCIDENT_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${attribute.name}=Keyword`);
  for (const [key, value] of Object.entries({ ...BUDGET_QUEUE_CONFIG, ...options.dynamicConfig })) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile) {
    mkdirSync(join(options.logFile, '..'), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolveExit) =>
    child.once('exit', (code) => {
      exited = code;
      resolveExit();
    }),
  );

  const stop = async () => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([exit.then(() => true), sleep(10_000, undefined, { ref: false }).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await exit;
    }
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`temporal server start-dev exited with code ${exited}${options.logFile ? `; see ${options.logFile}` : ''}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return {
          address,
          uiUrl: options.headless || options.uiPort === undefined ? undefined : `http://localhost:${options.uiPort}`,
          process: child,
          stop,
        };
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Temporal dev server did not become ready at ${address}: ${(err as Error).message}`, { cause: err });
      }
      await sleep(200);
    }
  }
}
