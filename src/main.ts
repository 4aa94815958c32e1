/**
 * The entry: `npm start` runs an embedded Temporal dev server, the worker and the API in one
 * process tree; `--role=api` / `--role=worker` run one part against TEMPORAL_ADDRESS;
 * `doctor` checks what warroom will need and exits (src/doctor/).
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { DefaultLogger, Runtime, type LogLevel, type MetricsExporterConfig } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createApp } from './api.js';
import { ConfigError, loadConfig, secretValues, SOURCE_SECRET_VARIABLES, type Config } from './config.js';
import { doctorCommand } from './doctor/index.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { SOURCE_REGISTRY } from './sources/index.js';
import { connectClient, connectWorker, ensureSearchAttributes } from './temporal/connection.js';
import { freePort, startDevServer, type DevServer } from './temporal/dev-server.js';
import { DEFAULT_SDK_METRICS_PORT, sdkMetricsEndpoint, sdkMetricsExporter } from './temporal/sdk-metrics.js';
import { startTracing } from './tracing.js';
import { createWorker, workflowBundleForStart, type IncidentWorker } from './worker.js';

type Role = 'all' | 'api' | 'worker';

const SHUTDOWN_GRACE_MS = 15_000;

function roleFromArgs(argv: string[], env: NodeJS.ProcessEnv): Role {
  const flag = argv.find((arg) => arg.startsWith('--role='))?.slice('--role='.length) ?? env.WARROOM_ROLE ?? 'all';
  if (flag === 'all' || flag === 'api' || flag === 'worker') return flag;
  throw new ConfigError(`invalid configuration:\n  --role / WARROOM_ROLE: expected all, api or worker, got "${flag}"`);
}

/**
 * The Temporal Runtime, process-global, installed before any NativeConnection: the SDK's logs go to
 * pino, and where this process runs a worker its metrics (the SDK's and warroom's step metrics) are
 * served at `metrics`.
 */
function installRuntime(logger: Logger, level: Config['logLevel'], metrics?: MetricsExporterConfig): void {
  const sdkLevel: LogLevel = level === 'debug' || level === 'trace' ? 'DEBUG' : level === 'info' ? 'INFO' : 'WARN';
  Runtime.install({
    ...(metrics ? { telemetryOptions: { metrics } } : {}),
    logger: new DefaultLogger(sdkLevel, (entry) => {
      // The vendor budgets' workers run activities only, and warroom serves no Nexus: by design, not worth a line each.
      if (entry.message.startsWith('No workflows registered') || entry.message.startsWith('No Nexus services registered')) return;
      // Their lifecycle too: the workflows' worker says it once for the process.
      const budgetLifecycle = entry.message === 'Worker state changed' && String(entry.meta?.taskQueue ?? '').includes('.');
      const method =
        entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : entry.level === 'INFO' && !budgetLifecycle ? 'info' : 'debug';
      logger[method]({ sdk: true, ...entry.meta }, entry.message);
    }),
  });
}

/** Undo steps, run in reverse on shutdown and on a failed start. */
const cleanups: (() => Promise<void>)[] = [];

async function runCleanups(logger?: Logger): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err: Error) => logger?.error({ err: { message: err.message } }, 'shutdown step failed'));
  }
}

async function main(): Promise<void> {
  // A .env beside the project is read for convenience; variables already set win.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const role = roleFromArgs(process.argv.slice(2), process.env);
  if (!config.temporal.address && role === 'all' && process.env.NODE_ENV === 'production') {
    throw new ConfigError(
      'invalid configuration:\n  TEMPORAL_ADDRESS: required in production (the embedded dev server is for development)',
    );
  }
  const logger = createLogger(config.logLevel);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) logger.warn({ node: process.versions.node }, 'warroom targets Node >= 22; this Node is end-of-life');
  // A worker's metrics: on their own port (9464 for a worker-only process); with the API here, on
  // its /metrics too, and then, unless a port is set, on a loopback port of their own.
  let sdkMetrics: ReturnType<typeof sdkMetricsEndpoint> | undefined;
  if (role !== 'api') {
    const local = role === 'all' && config.sdkMetricsPort === undefined;
    const port = config.sdkMetricsPort ?? (local ? await freePort() : DEFAULT_SDK_METRICS_PORT);
    sdkMetrics = sdkMetricsEndpoint(local ? '127.0.0.1' : config.http.host, port);
  }
  try {
    installRuntime(logger, config.logLevel, sdkMetrics && sdkMetricsExporter(sdkMetrics.bindAddress));
  } catch (err) {
    // A port warroom chose that is taken (two workers on one host) costs the metrics, not the worker.
    if (!sdkMetrics || config.sdkMetricsPort !== undefined) throw err;
    logger.warn(
      { err: { message: (err as Error).message }, address: sdkMetrics.bindAddress },
      "the worker's metrics are off: their port is taken; set WARROOM_SDK_METRICS_PORT",
    );
    sdkMetrics = undefined;
    installRuntime(logger, config.logLevel);
  }
  // Stopped last (cleanups run in reverse), so the spans of the final work are sent.
  const tracing = config.tracing
    ? startTracing(config.tracing, {
        secrets: secretValues(process.env),
        warn: (message) => logger.warn({ otel: true, message }, 'tracing'),
      })
    : undefined;
  if (tracing) cleanups.push(() => tracing.shutdown());
  if (role !== 'worker' && secretValues(process.env, SOURCE_SECRET_VARIABLES).length === 0) {
    logger.warn('no webhook secret or API token is set: anyone who can reach this port can open and resolve incidents');
  }

  let shuttingDown = 0;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      // One Ctrl-C can arrive twice (the terminal, then the tsx/npm relay); only a later one forces.
      if (Date.now() - shuttingDown < 1000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = Date.now();
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    await runCleanups(logger);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let devServer: DevServer | undefined;
  let address = config.temporal.address;
  if (!address && role === 'all') {
    const dataDir = resolve(config.embedded.dataDir);
    devServer = await startDevServer({
      cliPath: config.embedded.cliPath,
      dbFile: join(dataDir, 'temporal.sqlite'),
      logFile: join(dataDir, 'temporal.log'),
      port: config.embedded.port,
      uiPort: config.embedded.uiPort,
      namespace: config.temporal.namespace,
    });
    const server = devServer;
    cleanups.push(() => server.stop());
    // Last resort: never leave the dev server behind if this process dies abruptly.
    process.once('exit', () => server.process.kill('SIGTERM'));
    address = devServer.address;
    logger.info({ address, ui: devServer.uiUrl, db: join(dataDir, 'temporal.sqlite') }, 'embedded Temporal started');
  }
  address ??= 'localhost:7233';
  const temporal = { ...config.temporal, address, uiUrl: devServer?.uiUrl ?? config.temporal.uiUrl };

  const { client, connection } = await connectClient(temporal, { interceptors: tracing?.clientInterceptors });
  cleanups.push(() => connection.close());
  if (!devServer) {
    const added = await ensureSearchAttributes(connection, temporal.namespace);
    if (added.length > 0) logger.info({ added }, 'registered search attributes');
  }

  let worker: IncidentWorker | undefined;
  if (role !== 'api') {
    const workerConnection = await connectWorker(temporal);
    const started = await createWorker({
      connection: workerConnection,
      config: { ...config, temporal },
      workflowBundle: await workflowBundleForStart(),
      tracing,
    });
    worker = started;
    const running = started.run();
    running.catch((err: Error) => {
      logger.fatal({ err: { name: err.name, message: err.message } }, 'worker stopped');
      void shutdown('worker-failure');
    });
    cleanups.push(async () => {
      if (started.getState() === 'RUNNING') started.shutdown();
      await running.catch(() => undefined);
      await workerConnection.close();
    });
  }

  let server: Server | undefined;
  if (role !== 'worker') {
    const metrics = createMetrics({ processMetrics: true, sdkMetricsUrl: sdkMetrics?.url });
    const app = createApp({ client, config: { ...config, temporal }, logger, metrics });
    const listening = app.listen(config.http.port, config.http.host);
    server = listening;
    await new Promise<void>((resolveListen, reject) => {
      listening.once('listening', resolveListen);
      listening.once('error', reject);
    });
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          listening.close(() => resolveClose());
          listening.closeIdleConnections();
        }),
    );
  }

  const uiUrl = devServer?.uiUrl ?? config.temporal.uiUrl;
  const lines = [
    '',
    `warroom is running (${role})`,
    server ? `  API          http://localhost:${config.http.port}  (POST ${SOURCE_REGISTRY.map((source) => source.path).join(', ')})` : '',
    `  Temporal     ${address}  namespace ${temporal.namespace}${devServer ? '  (embedded, data in ' + resolve(config.embedded.dataDir) + ')' : ''}`,
    uiUrl ? `  Temporal UI  ${uiUrl}` : '',
    worker ? `  Worker       task queue ${temporal.taskQueue}` : '',
    server ? `  Metrics      http://localhost:${config.http.port}/metrics${sdkMetrics ? " (the worker's included)" : ''}` : '',
    sdkMetrics && (role === 'worker' || config.sdkMetricsPort !== undefined) ? `  SDK metrics  ${sdkMetrics.url}` : '',
    tracing && config.tracing ? `  Traces       OTLP/HTTP to ${new URL(config.tracing.url).origin} as ${config.tracing.serviceName}` : '',
    '  Ctrl-C stops everything.',
    '',
  ].filter((line) => line !== '');
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

if (process.argv[2] === 'doctor') {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Exits at once: a request left hanging by an unreachable vendor must not hold the process.
  doctorCommand(process.argv.slice(3)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`warroom doctor: ${err.message}\n`);
      process.exit(2);
    },
  );
} else {
  main().catch(async (err: Error) => {
    if (err instanceof ConfigError) process.stderr.write(`warroom: ${err.message}\n`);
    else process.stderr.write(`warroom: failed to start: ${err.message}\n`);
    await runCleanups();
    process.exit(2);
  });
}
