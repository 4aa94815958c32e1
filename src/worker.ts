import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundle, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityConfig } from './activities/index.js';
import type { Config } from './config.js';

const built = !import.meta.url.endsWith('.ts');

/** The workflow entry point, as source under tsx and as JavaScript once built. */
export const workflowsPath = fileURLToPath(new URL(`./workflows/index${built ? '.js' : '.ts'}`, import.meta.url));

/** Where `npm run build` writes the bundled workflow code: dist/workflow-bundle.js, beside this file once built. */
export const builtBundlePath = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

/**
 * Pure modules of the workflow code (constants, message definitions and readers, the step table):
 * evaluated once per worker thread and shared, frozen, by every run, instead of once per run. None
 * may hold state a run changes.
 */
const SHARED_WORKFLOW_MODULES = [
  './shared/incident',
  './shared/ids',
  './shared/text',
  './shared/messages',
  './shared/message-schemas',
  './shared/search-attributes',
  './workflows/activity-options',
  './workflows/steps',
].map((path) => fileURLToPath(new URL(`${path}${built ? '.js' : '.ts'}`, import.meta.url)));

/** Bundles the workflow code once (another entry for tests of older builds); tests and benchmarks share one bundle across workers. */
export async function bundleWorkflows(entry = workflowsPath): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: entry, preloadModules: SHARED_WORKFLOW_MODULES, logger: quietBundlerLogger });
}

/**
 * The workflow code a starting worker runs: the bundle `npm run build` wrote, so a built deployment
 * starts without webpack (seconds of CPU and about 200 MiB at start-up); bundled now under tsx.
 */
export async function workflowBundleForStart(): Promise<WorkflowBundleOption> {
  if (built && existsSync(builtBundlePath)) return { codePath: builtBundlePath };
  return bundleWorkflows();
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export interface WorkerDeps {
  connection: NativeConnection;
  config: ActivityConfig & Pick<Config, 'temporal'>;
  workflowBundle?: WorkflowBundleOption;
  /** Workflow cache size (default: the configured one); 0 makes every task replay (the replay test suite uses it). */
  maxCachedWorkflows?: number;
  taskQueue?: string;
}

/** A worker for incident workflows, with real activity clients built once. */
export async function createWorker({ connection, config, workflowBundle, maxCachedWorkflows, taskQueue }: WorkerDeps) {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueue ?? config.temporal.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    // Status-page runs are started and signalled from activities, on the worker's own connection.
    activities: createActivities(config, { client: new Client({ connection, namespace: config.temporal.namespace }) }),
    maxCachedWorkflows: maxCachedWorkflows ?? config.temporal.workflowCache,
    // The first workflow task schedules ticket, room, assignee lookup and status page together;
    // core's default of 3 eager slots sent the room (the longest path) through matching (bench:e2e).
    maxEagerActivityReservationsPerWorkflowTask: 8,
  });
}
