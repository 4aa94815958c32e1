import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestProject } from 'vitest/node';
import { cliVersion, findTemporalCli, HOW_TO_GET_THE_CLI } from '../src/temporal/cli.js';
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server.js';
import { historyText, prepareSecretsDir, readRecorded, SECRETS_DIR_VARIABLE } from './secrets-scan.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: DevServer | undefined;
let secretsDir: string | undefined;

/** One real Temporal dev server (in memory) for the whole suite; each test file uses its own task queues. */
export async function setup(project: TestProject): Promise<void> {
  const cli = findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_THE_CLI);
  process.stdout.write(`[warroom tests] Temporal CLI ${cli}: ${cliVersion(cli)}\n`);
  server = await startDevServer({ cliPath: cli, port: await freePort(), headless: true });
  project.provide('temporalAddress', server.address);
  // Test processes inherit it: they record the secrets they configure and their logs there.
  secretsDir = mkdtempSync(join(tmpdir(), 'warroom-secrets-'));
  prepareSecretsDir(secretsDir);
  process.env[SECRETS_DIR_VARIABLE] = secretsDir;
}

export async function teardown(): Promise<void> {
  try {
    if (server && secretsDir) await scanForSecrets(server.address, secretsDir);
  } finally {
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
    await server?.stop();
  }
}

/** Issue 5, scenario 7: no secret any test configured appears in any workflow history or any log line. */
async function scanForSecrets(address: string, folder: string): Promise<void> {
  const { secrets, logs } = readRecorded(folder);
  const connection = await Connection.connect({ address });
  const hits: string[] = [];
  let runs = 0;
  let historyBytes = 0;
  try {
    const client = new Client({ connection });
    for await (const run of client.workflow.list()) {
      const text = historyText(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
      runs += 1;
      historyBytes += text.length;
      // Names the place and the secret's variable-free index, never the value.
      secrets.forEach((secret, index) => {
        if (text.includes(secret)) hits.push(`history of ${run.workflowId} (${run.runId}) holds secret #${index}`);
      });
    }
  } finally {
    await connection.close();
  }
  let logBytes = 0;
  for (const [name, text] of logs) {
    logBytes += text.length;
    secrets.forEach((secret, index) => {
      if (text.includes(secret)) hits.push(`${name} holds secret #${index}`);
    });
  }
  process.stdout.write(
    `[warroom tests] secrets scan: ${secrets.length} secret values, ${runs} workflow runs (${historyBytes} bytes of history), ${logs.size} log files (${logBytes} bytes): ${hits.length} hits\n`,
  );
  if (hits.length > 0) {
    // vitest reports a teardown error but still exits 0: fail the run explicitly.
    process.exitCode = 1;
    throw new Error(`secrets leaked:\n  ${hits.join('\n  ')}`);
  }
}
