/**
 * A Temporal cluster as an operator runs one, in a folder of its own: PostgreSQL (Debian's build,
 * its own data directory, on a free loopback port), the schema applied by Temporal's SQL tool, the
 * official server (frontend, history, matching and worker services in one process) with a config
 * file and a dynamic config file written here, and the `default` namespace created with the
 * Temporal CLI. Each part can be stopped and started again on the same data, as a fault.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { findTemporalCli, HOW_TO_GET_THE_CLI } from '../../src/temporal/cli.js';
import { REPO_ROOT } from '../stack.js';
import { TEMPORAL_SERVER_VERSION, unpackPostgres, type ClusterTools } from './install.js';

const run = promisify(execFile);

const DB_USER = 'temporal';
const DB_PASSWORD = 'temporal';
const DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;

/** One long-lived child process that can be stopped and started again (the same command each time). */
export interface Service {
  readonly name: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  running(): boolean;
  /** Starts it and waits until it is ready. */
  start(): Promise<void>;
  /** Stops it with `signal` (SIGKILL after `graceMs`) and waits until it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (PostgreSQL refuses to run as root). */
  user?: { uid: number; gid: number };
  logFile: string;
  /** Resolves once the new process is ready to serve. */
  ready(child: ChildProcess, output: () => string): Promise<void>;
}

const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of everyChild) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function service(spec: ServiceSpec): Service {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name: spec.name,
    get pid() {
      return alive() ? child?.pid : undefined;
    },
    logFile: spec.logFile,
    running: alive,
    async start() {
      if (alive()) throw new Error(`${spec.name} is already running`);
      const started = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...spec.user,
      });
      child = started;
      everyChild.add(started);
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-16_384);
        log.write(chunk);
      };
      started.stdout?.on('data', keep);
      started.stderr?.on('data', keep);
      exited = new Promise((resolve) =>
        started.once('exit', () => {
          everyChild.delete(started);
          resolve();
        }),
      );
      const gone = exited.then(() => {
        throw new Error(`${spec.name} exited (code ${started.exitCode}, signal ${started.signalCode}) while starting; see ${spec.logFile}`);
      });
      await Promise.race([spec.ready(started, () => output), gone]);
      gone.catch(() => undefined);
    },
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      if (!alive()) return;
      child?.kill(signal);
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `output()` contains `line`. */
async function untilOutput(output: () => string, line: string, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(line)) {
    if (Date.now() > deadline) throw new Error(`${what} did not print "${line}" within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

const taken = new Set<number>();

/**
 * A free loopback port below 32768, not handed out before by this process. The server records
 * each service's membership port in a `smallint` column on SQL stores: one from Linux's
 * ephemeral range (32768 and up) stops it at start ("out of range for type smallint").
 */
export async function freeLowPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = randomInt(20_000, 32_768);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port below 32768 on 127.0.0.1');
}

/** The unprivileged user PostgreSQL runs as when this process is root: `nobody`. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no user `nobody` to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL.

export interface Postgres extends Service {
  port: number;
}

/** Unpacks PostgreSQL into `dir`, creates a cluster (user `temporal`) and starts it on a free port. */
export async function startPostgres(tools: Pick<ClusterTools, 'postgresDebs'>, dir: string): Promise<Postgres> {
  const binaries = unpackPostgres(tools, join(dir, 'postgresql'));
  const user = postgresUser();
  const dataDir = join(dir, 'pgdata');
  mkdirSync(dataDir, { mode: 0o700 });
  const passwordFile = join(dir, 'pgpass');
  writeFileSync(passwordFile, `${DB_PASSWORD}\n`, { mode: 0o644 });
  if (user) {
    // The unprivileged user must reach its data directory and the programs in this folder.
    chmodSync(dir, 0o755);
    chownSync(dataDir, user.uid, user.gid);
  }
  const env = { ...process.env, ...(binaries.libraryPath ? { LD_LIBRARY_PATH: binaries.libraryPath } : {}) };
  await run(
    join(binaries.bin, 'initdb'),
    ['-D', dataDir, '-U', DB_USER, `--pwfile=${passwordFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8'],
    { cwd: dir, env, ...user },
  );
  const port = await freeLowPort();
  const postgres = service({
    name: 'PostgreSQL',
    command: join(binaries.bin, 'postgres'),
    args: [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    cwd: dir,
    env,
    user,
    logFile: join(dir, 'postgresql.log'),
    ready: (_child, output) => untilOutput(output, 'database system is ready to accept connections', 60_000, 'PostgreSQL'),
  });
  await postgres.start();
  return Object.assign(postgres, { port });
}

/** Creates Temporal's two databases and applies their schemas with Temporal's own SQL tool (setup-schema, then every versioned update). */
export async function applySchema(tools: Pick<ClusterTools, 'sqlTool' | 'schemaDir'>, postgres: Postgres): Promise<void> {
  const common = ['--ep', '127.0.0.1', '-p', String(postgres.port), '-u', DB_USER, '--pw', DB_PASSWORD, '--pl', 'postgres12'];
  for (const [name, database] of Object.entries(DATABASES)) {
    const tool = (...args: string[]) => run(tools.sqlTool, [...common, '--db', database, ...args]);
    await tool('create-database');
    await tool('setup-schema', '-v', '0.0');
    await tool('update-schema', '-d', join(tools.schemaDir, name, 'versioned'));
  }
}

// ---------------------------------------------------------------------------------------------
// The Temporal server.

/** Whether `version` (`v1.32.0`) is at least `major.minor`. */
function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The dynamic config docker-compose.yml mounts into its server, and operators copy (docs/BUDGETS.md). */
export const DEPLOY_DYNAMIC_CONFIG = join(REPO_ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml');

/**
 * The server's dynamic config: deploy/temporal/dynamicconfig.yaml as it is (one partition per
 * vendor budget's queue of the task queue `warroom`, the priority matcher, IDs no longer than
 * PostgreSQL's columns), so the test proves what Compose runs; from server 1.31 also polls
 * cancelled when a worker shuts down (a setting 1.29 does not know).
 */
export function dynamicConfig(serverVersion: string): Record<string, unknown> {
  const deployed = parse(readFileSync(DEPLOY_DYNAMIC_CONFIG, 'utf8')) as Record<string, unknown>;
  return {
    ...deployed,
    ...(atLeast(serverVersion, 1, 31) ? { 'frontend.enableCancelWorkerPollsOnShutdown': [{ value: true }] } : {}),
  };
}

export interface TemporalServer extends Service {
  /** The frontend's gRPC address. */
  address: string;
  configFile: string;
  dynamicConfigFile: string;
}

/** Writes the server's config (PostgreSQL persistence and visibility, one cluster, every port free) and starts it. */
export async function startTemporalServer(
  tools: Pick<ClusterTools, 'temporalServer'>,
  postgres: Postgres,
  dir: string,
  options: { numHistoryShards?: number } = {},
): Promise<TemporalServer> {
  const configDir = join(dir, 'temporal-config');
  mkdirSync(configDir, { recursive: true });
  const ports = {
    frontend: await freeLowPort(),
    frontendHttp: await freeLowPort(),
    frontendMembership: await freeLowPort(),
    history: await freeLowPort(),
    historyMembership: await freeLowPort(),
    matching: await freeLowPort(),
    matchingMembership: await freeLowPort(),
    worker: await freeLowPort(),
    workerMembership: await freeLowPort(),
  };
  const address = `127.0.0.1:${ports.frontend}`;
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${postgres.port}`,
      connectProtocol: 'tcp',
      user: DB_USER,
      password: DB_PASSWORD,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  const dynamicConfigFile = join(configDir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, stringify(dynamicConfig(TEMPORAL_SERVER_VERSION)));
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.numHistoryShards ?? 4,
      datastores: { 'postgres-default': store(DATABASES.temporal, 20), 'postgres-visibility': store(DATABASES.visibility, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      history: rpc(ports.history, ports.historyMembership),
      matching: rpc(ports.matching, ports.matchingMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: address } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
  const configFile = join(configDir, 'cluster.yaml');
  writeFileSync(configFile, stringify(config));
  // The server checks the dynamic config file the same way at start; a typo would only be logged.
  await run(tools.temporalServer, ['validate-dynamic-config', dynamicConfigFile]);

  const server = service({
    name: 'Temporal server',
    command: tools.temporalServer,
    // The config folder is relative to --root.
    args: ['--root', dir, '--config', 'temporal-config', '--env', 'cluster', '--allow-no-auth', 'start'],
    cwd: dir,
    logFile: join(dir, 'temporal-server.log'),
    ready: () => untilServing(address, 'temporal-system', 120_000),
  });
  await server.start();
  return Object.assign(server, { address, configFile, dynamicConfigFile });
}

/** Waits until the frontend at `address` answers for `namespace`. */
export async function untilServing(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(
          `Temporal at ${address} did not serve namespace ${namespace} within ${timeoutMs / 1000} s: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await sleep(250);
    }
  }
}

/** `temporal operator namespace create`, as an operator does once per cluster; waits until the frontend serves it. */
export async function createNamespace(server: TemporalServer, namespace: string): Promise<void> {
  const cli = findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_THE_CLI);
  await run(cli, ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', '72h', '--address', server.address]);
  await untilServing(server.address, namespace, 60_000);
}
