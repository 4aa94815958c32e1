/**
 * The one way tests, benchmarks, chaos and the demo bring warroom up: a Temporal server (a
 * running one, such as the test suite's, or a dev server started here), the vendor fakes, and
 * warroom's worker and API in this process, each only when asked for. `stop()` stops what
 * started, as does a start that fails half-way; a dev server started here is killed if this
 * process exits without stopping it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import { createApp } from '../src/api.js';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { BUDGET_NAMES } from '../src/shared/budgets.js';
import { freePort, startDevServer, type DevServer, type DevServerOptions } from '../src/temporal/dev-server.js';
import type { Tracing } from '../src/tracing.js';
import { bundleWorkflows, createWorker, type IncidentWorker, type WorkerDeps } from '../src/worker.js';
import { startAllFakes, type AllFakes, type AllFakesOptions } from './fakes/env.js';

/** A dev server to start: `startDevServer`'s settings, on a free port unless one is named. */
export type DevServerSettings = Omit<DevServerOptions, 'port'> & { port?: number };

/** How a stack's worker is made: `createWorker`, or a variant to compare (bench:e2e). */
export type CreateWorker = (deps: WorkerDeps & { workflowBundle: WorkflowBundleOption }) => Promise<IncidentWorker>;

export interface StackOptions {
  /** Prefix of the task queue's name (`<name>-<random>`) and of temporary files. */
  name?: string;
  /** A running server's address, or a dev server to start (default: one in memory, headless). */
  temporal?: { address: string } | DevServerSettings;
  /** Start every vendor fake with these options; their `env` points warroom at them. */
  fakes?: AllFakesOptions;
  /** STATUSCAST_MONITORS_FILE's YAML, written to a temporary file for this stack. */
  monitors?: string;
  /** Settings on top of the stack's own (Temporal, task queue, API port, fakes, monitors file). */
  env?: Record<string, string>;
  /** warroom's worker in this process (the default); `false` runs none, so workflows only queue. */
  worker?: false | { workflowBundle?: WorkflowBundleOption; maxCachedWorkflows?: number; create?: CreateWorker };
  /**
   * warroom's API in this process on 127.0.0.1 (the default), on a free port unless told one;
   * `false` serves none here, yet a port for `env` and `apiUrl` is still chosen, for an API
   * started elsewhere. `temporalAddress` connects the API (only) to another address, lazily,
   * e.g. a dead port.
   */
  api?: false | { port?: number; logger?: ReturnType<typeof createLogger>; temporalAddress?: string };
  /** Tracing for this process's Client (the API's) and worker (src/tracing.ts); absent: none, as in production without an OTLP endpoint. */
  tracing?: Tracing;
}

export interface Stack {
  /** The server's address; for a dev server started here, its process and UI too. */
  readonly temporal: { address: string; uiUrl?: string; pid?: number };
  taskQueue: string;
  /** What warroom is configured with, as environment variables (for warroom processes started elsewhere)... */
  env: Record<string, string>;
  /** ...and as parsed by warroom. */
  config: Config;
  /** This process's client of the server; the API here uses it too (unless given another address). */
  client: Client;
  /** The vendor fakes; throws if the stack started none. */
  readonly fakes: AllFakes;
  apiPort: number;
  apiUrl: string;
  /** The API's HTTP server, when it runs here. */
  apiServer?: Server;
  worker?: IncidentWorker;
  /** State of the incident's latest run: queried while open, its result once completed. */
  state(key: string): Promise<IncidentState>;
  /** Status name of the incident's latest run, or `missing`. */
  status(key: string): Promise<string>;
  /** Stops the dev server started here (SIGTERM); one on a file keeps it. */
  stopTemporal(): Promise<void>;
  /** Starts that dev server again, on the same port and file. */
  restartTemporal(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts what `options` ask for and answers once all of it is up. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const name = options.name ?? 'warroom';
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    let failure: unknown;
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => (failure ??= err));
    }
    if (failure !== undefined) throw failure;
  };
  try {
    const wanted = options.temporal ?? {};
    const running = 'address' in wanted ? wanted : undefined;
    const devServer = 'address' in wanted ? undefined : { ...wanted, port: wanted.port ?? (await freePort()) };
    const workerOptions = options.worker === false ? undefined : (options.worker ?? {});
    const apiOptions = options.api === false ? undefined : (options.api ?? {});

    let server: DevServer | undefined;
    const killOnExit = () => server?.process.kill('SIGKILL');
    const launch = async (settings: DevServerOptions) => {
      server = await startDevServer(settings);
      process.on('exit', killOnExit);
      return server;
    };
    const stopTemporal = async () => {
      await server?.stop();
      process.off('exit', killOnExit);
    };
    if (devServer) cleanups.push(stopTemporal);
    const starting = [
      running ? Promise.resolve(running) : launch(devServer!),
      options.fakes
        ? startAllFakes(options.fakes).then((started) => {
            cleanups.push(() => started.stop());
            return started;
          })
        : Promise.resolve(undefined),
      workerOptions ? Promise.resolve(workerOptions.workflowBundle ?? bundleWorkflows()) : Promise.resolve(undefined),
    ] as const;
    // Side by side; all settled before a failure is thrown, so that none is still starting behind stopAll.
    await Promise.allSettled(starting);
    const [temporal, fakes, workflowBundle] = await Promise.all(starting);

    let monitorsFile: string | undefined;
    if (options.monitors !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), `warroom-${name}-monitors-`));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      monitorsFile = join(dir, 'monitors.yaml');
      writeFileSync(monitorsFile, options.monitors);
    }

    // An API here listens before warroom is configured (on a port of its own choosing unless
    // told one), so that PORT is the port it holds; one started elsewhere gets a free port.
    const http = apiOptions ? await listen(createServer(), apiOptions.port ?? 0) : undefined;
    const closeHttp = () =>
      new Promise<void>((resolve) => {
        if (!http?.listening) return resolve();
        http.close(() => resolve());
        http.closeAllConnections();
      });
    cleanups.push(closeHttp);
    const apiPort = http ? (http.address() as AddressInfo).port : await freePort();
    const taskQueue = `${name}-${randomUUID()}`;
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ...(server?.uiUrl ? { TEMPORAL_UI_URL: server.uiUrl } : {}),
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      // Vendor calls go through the budgets' queues as in production, but tests open rooms by the
      // dozen, faster than Slack allows: every budget is far above what a test spends, and nothing holds.
      VENDOR_BUDGETS_PER_MINUTE: BUDGET_NAMES.map((name) => `${name}=60000`).join(','),
      SLACK_ROOM_HOLD_WARNING: '0',
      SLACK_ROOM_HOLD_INFO: '0',
      ...fakes?.env,
      ...(monitorsFile ? { STATUSCAST_MONITORS_FILE: monitorsFile } : {}),
      ...options.env,
    };
    const config = loadConfig(env);
    const settings = { ...config.temporal, address: temporal.address };

    const { client, connection } = await connectClient(settings, { interceptors: options.tracing?.clientInterceptors });
    cleanups.push(() => connection.close());

    let worker: IncidentWorker | undefined;
    if (workerOptions && workflowBundle) {
      const workerConnection: NativeConnection = await connectWorker(settings);
      cleanups.push(() => workerConnection.close());
      const create: CreateWorker = workerOptions.create ?? createWorker;
      const made = await create({
        connection: workerConnection,
        config,
        workflowBundle,
        maxCachedWorkflows: workerOptions.maxCachedWorkflows,
        tracing: options.tracing,
      });
      const running = made.run();
      // A worker that stops early fails stop(), where its error is seen.
      running.catch(() => undefined);
      cleanups.push(async () => {
        if (made.getState() === 'RUNNING') made.shutdown();
        await running;
      });
      worker = made;
    }

    if (http && apiOptions) {
      let apiClient = client;
      if (apiOptions.temporalAddress) {
        const elsewhere = Connection.lazy({ address: apiOptions.temporalAddress, connectTimeout: '1s' });
        cleanups.push(() => elsewhere.close());
        apiClient = new Client({ connection: elsewhere, namespace: settings.namespace });
      }
      http.on(
        'request',
        createApp({ client: apiClient, config, logger: apiOptions.logger ?? createLogger('silent'), metrics: createMetrics() }),
      );
      // Registered again, last, so that stop() closes the API before what it uses.
      cleanups.push(closeHttp);
    }

    return {
      get temporal() {
        return { address: temporal.address, uiUrl: server?.uiUrl, pid: server?.process.pid };
      },
      taskQueue: config.temporal.taskQueue,
      env,
      config,
      client,
      get fakes(): AllFakes {
        if (!fakes) throw new Error('this stack started no fakes (StackOptions.fakes)');
        return fakes;
      },
      apiPort,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      apiServer: http,
      worker,
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
      async stopTemporal() {
        if (!devServer) throw new Error('this stack did not start its Temporal server');
        await stopTemporal();
      },
      async restartTemporal() {
        if (!devServer) throw new Error('this stack did not start its Temporal server');
        await launch(devServer);
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** Listens on 127.0.0.1 at `port` (0: any free one); answers once listening. */
async function listen(server: Server, port: number): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
