/**
 * What the production-topology test runs on, from registries only, built or fetched once and
 * cached under `~/.cache/warroom-cluster/` (or `$XDG_CACHE_HOME/warroom-cluster/`), keyed by version:
 *
 * - the official Temporal server and its SQL schema tool, `go install go.temporal.io/server/cmd/server`
 *   and `…/cmd/tools/sql` at TEMPORAL_SERVER_VERSION (about 6 minutes on 2 cores with empty Go caches, once),
 *   and the PostgreSQL schema files from that module's source;
 * - PostgreSQL from Debian's packages: the `.deb` files of POSTGRES_PACKAGE (and of any library it
 *   needs that the machine lacks), fetched with `apt-get download` and unpacked per run into the
 *   run's own directory, so nothing is installed machine-wide and no service is started.
 *
 *   npx tsx chaos/cluster/install.ts      (or npm run cluster:install): install, print what took how long
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The server version docker-compose.yml pins, as a Go module version. */
export const DEFAULT_TEMPORAL_SERVER_VERSION = 'v1.29.1';

/**
 * The Temporal server release the cluster test proves: the one docker-compose.yml runs
 * (`temporalio/server:1.29.1`; test/deploy.test.ts keeps the two equal). `CLUSTER_TEMPORAL_SERVER=v1.32.0`
 * runs the one the Temporal CLI 1.9.1's dev server embeds, the newest that builds with Go 1.26.8
 * (1.31.5 and 1.32.2 need 1.26.10).
 */
export const TEMPORAL_SERVER_VERSION = process.env.CLUSTER_TEMPORAL_SERVER || DEFAULT_TEMPORAL_SERVER_VERSION;
if (!/^v\d+\.\d+\.\d+$/.test(TEMPORAL_SERVER_VERSION)) {
  throw new Error(`CLUSTER_TEMPORAL_SERVER must be a version such as v1.32.0, got "${TEMPORAL_SERVER_VERSION}"`);
}
/** PostgreSQL from Debian 12's packages; the exact build is whatever Debian serves for it, recorded in the cache. */
export const POSTGRES_PACKAGE = 'postgresql-15';
const POSTGRES_MAJOR = '15';

export const CACHE_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'warroom-cluster');

/** One installation step and how long it took (0 s and `cached` when the cache had it). */
export interface InstallStep {
  name: string;
  ms: number;
  cached: boolean;
  detail: string;
}

export interface ClusterTools {
  temporalServer: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the server's source: `temporal/versioned`, `visibility/versioned`. */
  schemaDir: string;
  /** The PostgreSQL `.deb` files to unpack, the server's first. */
  postgresDebs: string[];
  postgresVersion: string;
  steps: InstallStep[];
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${(result.stderr || result.stdout).trim().slice(-4000)}`);
  }
  return result.stdout;
}

async function timed(steps: InstallStep[], name: string, work: () => Promise<{ cached: boolean; detail: string }>): Promise<void> {
  const started = Date.now();
  const { cached, detail } = await work();
  steps.push({ name, ms: cached ? 0 : Date.now() - started, cached, detail });
}

// ---------------------------------------------------------------------------------------------
// Temporal server and schema tool.

/** The Go that builds the server (go itself refuses one older than the module's `go` line, and says so). */
function goVersion(): string {
  return run('go', ['env', 'GOVERSION']).trim();
}

/** Builds both binaries into the cache (a staging folder renamed into place, so a killed build leaves nothing half-done). */
function installTemporal(dir: string): { cached: boolean; detail: string } {
  const marker = join(dir, 'complete');
  if (existsSync(marker)) return { cached: true, detail: dir };
  const builtWith = goVersion();
  mkdirSync(CACHE_DIR, { recursive: true });
  const staging = mkdtempSync(join(CACHE_DIR, `.staging-temporal-${TEMPORAL_SERVER_VERSION}-`));
  try {
    const bin = join(staging, 'bin');
    mkdirSync(bin);
    run(
      'go',
      [
        'install',
        `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
        `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
      ],
      {
        env: { ...process.env, GOBIN: bin },
      },
    );
    renameSync(join(bin, 'server'), join(bin, 'temporal-server'));
    renameSync(join(bin, 'sql'), join(bin, 'temporal-sql-tool'));
    // The schema files ship in the module's source, not in the binaries.
    const module = JSON.parse(run('go', ['mod', 'download', '-json', `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`])) as {
      Dir?: string;
    };
    if (!module.Dir) throw new Error(`go mod download gave no source folder for go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`);
    cpSync(join(module.Dir, 'schema', 'postgresql', 'v12'), join(staging, 'schema', 'postgresql', 'v12'), { recursive: true });
    writeFileSync(join(staging, 'complete'), `go.temporal.io/server@${TEMPORAL_SERVER_VERSION} built with ${builtWith}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { cached: false, detail: `${dir} (${builtWith})` };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL from Debian's packages.

/** The version apt would fetch, or undefined when its package lists do not know the package (run apt-get update). */
function aptCandidate(pkg: string): string | undefined {
  const policy = spawnSync('apt-cache', ['policy', pkg], { encoding: 'utf8' });
  const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout ?? '')?.[1];
  return candidate && candidate !== '(none)' ? candidate : undefined;
}

function installed(pkg: string): boolean {
  const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return status.status === 0 && status.stdout.includes('install ok installed');
}

/** The server package and every `lib*` package it depends on that the machine does not have. */
function packagesToFetch(): string[] {
  const depends = run('apt-cache', ['depends', '--no-recommends', '--no-suggests', POSTGRES_PACKAGE]);
  const libraries = [...depends.matchAll(/^\s*\|?Depends:\s*(lib[^\s<>]+)/gm)].map((match) => match[1] as string);
  return [POSTGRES_PACKAGE, ...new Set(libraries.filter((pkg) => !installed(pkg)))];
}

function installPostgres(root: string): { cached: boolean; detail: string; version: string; debs: string[] } {
  const marker = join(root, 'complete');
  if (existsSync(marker)) {
    const version = readFileSync(marker, 'utf8').trim();
    const debs = readdirSync(root)
      .filter((name) => name.endsWith('.deb'))
      .sort((a, b) => Number(!a.startsWith(`${POSTGRES_PACKAGE}_`)) - Number(!b.startsWith(`${POSTGRES_PACKAGE}_`)));
    return { cached: true, detail: `${POSTGRES_PACKAGE} ${version}`, version, debs: debs.map((name) => join(root, name)) };
  }
  if (!aptCandidate(POSTGRES_PACKAGE)) {
    // A fresh machine may have no package lists yet.
    run('apt-get', ['update', '-qq']);
  }
  const version = aptCandidate(POSTGRES_PACKAGE);
  if (!version) throw new Error(`apt knows no ${POSTGRES_PACKAGE} (Debian 12's PostgreSQL); this test expects a Debian 12 machine`);
  mkdirSync(CACHE_DIR, { recursive: true });
  const staging = mkdtempSync(join(CACHE_DIR, '.staging-postgresql-'));
  try {
    const packages = packagesToFetch();
    try {
      run('apt-get', ['download', '-qq', ...packages], { cwd: staging });
    } catch {
      // Package lists older than the mirror name files it no longer has: refresh them once.
      run('apt-get', ['update', '-qq']);
      run('apt-get', ['download', '-qq', ...packages], { cwd: staging });
    }
    writeFileSync(join(staging, 'complete'), `${version}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(staging, root);
    const debs = readdirSync(root).filter((name) => name.endsWith('.deb'));
    return {
      cached: false,
      detail: `${POSTGRES_PACKAGE} ${version} (${packages.join(', ')})`,
      version,
      debs: [
        ...debs.filter((name) => name.startsWith(`${POSTGRES_PACKAGE}_`)),
        ...debs.filter((name) => !name.startsWith(`${POSTGRES_PACKAGE}_`)),
      ].map((name) => join(root, name)),
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Where an unpacked PostgreSQL lives: its programs, and the libraries unpacked beside them. */
export interface PostgresBinaries {
  bin: string;
  /** For LD_LIBRARY_PATH; empty when every library came from the machine. */
  libraryPath: string;
}

/**
 * Unpacks the cached `.deb` files into `dir` (world-readable: the server runs as an unprivileged
 * user when this process is root) and checks that every library the server needs resolves.
 * PostgreSQL finds its share and lib folders relative to its programs, so it runs from anywhere.
 */
export function unpackPostgres(tools: Pick<ClusterTools, 'postgresDebs'>, dir: string): PostgresBinaries {
  for (const deb of tools.postgresDebs) run('dpkg-deb', ['-x', deb, dir]);
  const bin = join(dir, 'usr', 'lib', 'postgresql', POSTGRES_MAJOR, 'bin');
  const libDir = join(dir, 'usr', 'lib', 'x86_64-linux-gnu');
  const libraryPath = existsSync(libDir) ? libDir : '';
  for (const program of ['postgres', 'initdb']) {
    const ldd = run('ldd', [join(bin, program)], { env: { ...process.env, LD_LIBRARY_PATH: libraryPath } });
    const missing = ldd.split('\n').filter((line) => line.includes('not found'));
    if (missing.length > 0) {
      throw new Error(`${program} from ${POSTGRES_PACKAGE} lacks libraries: ${missing.map((line) => line.trim()).join('; ')}`);
    }
  }
  return { bin, libraryPath };
}

// ---------------------------------------------------------------------------------------------

/** Installs (or finds in the cache) the Temporal server, its schema tool and PostgreSQL; each step timed. */
export async function installClusterTools(): Promise<ClusterTools> {
  const steps: InstallStep[] = [];
  const temporalDir = join(CACHE_DIR, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  await timed(steps, `Temporal server ${TEMPORAL_SERVER_VERSION} + sql tool (go install)`, async () => installTemporal(temporalDir));
  let postgres: ReturnType<typeof installPostgres> | undefined;
  await timed(steps, `PostgreSQL (${POSTGRES_PACKAGE}, apt-get download)`, async () => {
    postgres = installPostgres(join(CACHE_DIR, POSTGRES_PACKAGE));
    return postgres;
  });
  return {
    temporalServer: join(temporalDir, 'bin', 'temporal-server'),
    sqlTool: join(temporalDir, 'bin', 'temporal-sql-tool'),
    schemaDir: join(temporalDir, 'schema', 'postgresql', 'v12'),
    postgresDebs: postgres!.debs,
    postgresVersion: postgres!.version,
    steps,
  };
}

/** One line per step: what, how long, and where it came from. */
export function formatSteps(steps: readonly InstallStep[]): string[] {
  return steps.map((step) => `${step.name.padEnd(58)} ${step.cached ? 'cached' : `${(step.ms / 1000).toFixed(1)} s`}  ${step.detail}`);
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  installClusterTools().then(
    (tools) => {
      for (const line of formatSteps(tools.steps)) console.log(line);
      console.log(`${'installed in'.padEnd(58)} ${((Date.now() - started) / 1000).toFixed(1)} s  ${CACHE_DIR}`);
      console.log(execFileSync(tools.temporalServer, ['--version'], { encoding: 'utf8' }).trim());
    },
    (err: Error) => {
      console.error(`cluster install failed: ${err.message}`);
      process.exit(1);
    },
  );
}
