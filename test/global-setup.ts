import type { TestProject } from 'vitest/node';
import { cliVersion, findTemporalCli, HOW_TO_GET_THE_CLI } from '../src/temporal/cli.js';
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: DevServer | undefined;

/** One real Temporal dev server (in memory) for the whole suite; each test file uses its own task queues. */
export async function setup(project: TestProject): Promise<void> {
  const cli = findTemporalCli();
  if (!cli) throw new Error(HOW_TO_GET_THE_CLI);
  process.stdout.write(`[warroom tests] Temporal CLI ${cli}: ${cliVersion(cli)}\n`);
  server = await startDevServer({ cliPath: cli, port: await freePort(), headless: true });
  project.provide('temporalAddress', server.address);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
