import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  Runtime,
  Worker,
  type ActivityInterceptorsFactory,
  type NativeConnection,
  type State,
  type WorkflowBundle,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities, type ActivityConfig } from './activities/index.js';
import type { Config } from './config.js';
import { BUDGET_NAMES, budgetQueue } from './shared/budgets.js';
import { countAttempts, stepMetricSinks } from './temporal/step-metrics.js';
import { BudgetKeeper } from './temporal/budget-keeper.js';
import { NO_TRACING_SINKS, type Tracing } from './tracing.js';

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
  './shared/budgets',
  './shared/incident',
  './shared/ids',
  './shared/text',
  './shared/messages',
  './shared/message-schemas',
  './shared/postmortem',
  './shared/search-attributes',
  './workflows/activity-options',
  './workflows/steps',
].map((path) => fileURLToPath(new URL(`${path}${built ? '.js' : '.ts'}`, import.meta.url)));

/** Workflow interceptors: tracing, for the runs whose start carried a trace (src/workflows/tracing.ts). */
const tracingInterceptors = fileURLToPath(new URL(`./workflows/tracing${built ? '.js' : '.ts'}`, import.meta.url));

/**
 * Bundles the workflow code once (another entry for tests of older builds); tests and benchmarks
 * share one bundle across workers. Every bundle holds the tracing interceptors, which load
 * OpenTelemetry lazily with a `require`: webpack treats the compiled ES module as one that may
 * (under tsx the TypeScript source already is one).
 */
export async function bundleWorkflows(entry = workflowsPath): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: entry,
    workflowInterceptorModules: [tracingInterceptors],
    preloadModules: SHARED_WORKFLOW_MODULES,
    logger: quietBundlerLogger,
    webpackConfigHook: (config) => {
      config.module?.rules?.push({ resource: tracingInterceptors, type: 'javascript/auto' });
      return config;
    },
  });
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
  config: ActivityConfig & Pick<Config, 'temporal' | 'budgets'>;
  workflowBundle?: WorkflowBundleOption;
  /** Workflow cache size (default: the configured one); 0 makes every task replay (the replay test suite uses it). */
  maxCachedWorkflows?: number;
  taskQueue?: string;
  /** Tracing of this process (src/tracing.ts); absent: none. */
  tracing?: Tracing;
}

/** What runs incidents in one process: the workflows' worker and one activity worker per vendor budget, started and stopped together. */
export interface IncidentWorker {
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
  /** Pauses budgets on a 429 for every worker. */
  readonly budgets: BudgetKeeper;
}

/**
 * A worker for incident workflows, with real activity clients built once; beside it, one
 * activity-only worker per vendor budget (src/shared/budgets.ts), polling the budget's task queue
 * at the budget's rate. The server enforces that rate across every worker of the deployment.
 */
export async function createWorker({
  connection,
  config,
  workflowBundle,
  maxCachedWorkflows,
  taskQueue,
  tracing,
}: WorkerDeps): Promise<IncidentWorker> {
  const queue = taskQueue ?? config.temporal.taskQueue;
  const namespace = config.temporal.namespace;
  // Status-page runs are started and signalled from activities, on the worker's own connection.
  const activities = createActivities(config, {
    client: new Client({ connection, namespace, interceptors: tracing?.clientInterceptors }),
  });
  const keeper = new BudgetKeeper({ workflowService: connection.workflowService, namespace, taskQueue: queue, budgets: BUDGET_NAMES });
  // One interceptor for every activity of every budget worker.
  const pauseOn429 = keeper.interceptor();
  // Steps and attempts, in the Runtime's meter (a no-op unless it exports metrics); an attempt is
  // timed innermost, without the tracing around it or a 429's pause after it.
  const meter = Runtime.instance().metricMeter;
  const attempts = countAttempts(meter);
  const traced: ActivityInterceptorsFactory[] = tracing?.activityInterceptors ?? [];
  const counted: ActivityInterceptorsFactory = () => ({ inbound: attempts });
  const main = await Worker.create({
    connection,
    namespace,
    taskQueue: queue,
    // Always a bundle of ours: it holds the tracing interceptors (bundleWorkflows).
    workflowBundle: workflowBundle ?? (await bundleWorkflows()),
    activities,
    interceptors: { activity: [...traced, counted] },
    sinks: { ...stepMetricSinks(meter), ...(tracing?.sinks ?? NO_TRACING_SINKS) },
    maxCachedWorkflows: maxCachedWorkflows ?? config.temporal.workflowCache,
    // The first workflow task schedules ticket, room, assignee lookup and status page together;
    // core's default of 3 eager slots sent the room (the longest path) through matching (bench:e2e).
    maxEagerActivityReservationsPerWorkflowTask: 8,
  });
  const budgetWorkers = await Promise.all(
    BUDGET_NAMES.map((budget) =>
      Worker.create({
        connection,
        namespace,
        taskQueue: budgetQueue(queue, budget),
        activities,
        interceptors: { activity: [...traced, () => ({ inbound: pauseOn429 }), counted] },
        ...(config.budgets.enabled ? { maxTaskQueueActivitiesPerSecond: config.budgets.perMinute[budget] / 60 } : {}),
        maxConcurrentActivityTaskPolls: 2,
      }),
    ),
  );
  const workers = [main, ...budgetWorkers];
  const group: IncidentWorker = {
    budgets: keeper,
    getState: () => main.getState(),
    shutdown() {
      keeper.stop();
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
    async run() {
      await keeper.start().catch(() => undefined);
      // One stops, all stop: a process never keeps half its queues.
      const runs = workers.map((worker) =>
        worker.run().catch((err: unknown) => {
          group.shutdown();
          throw err;
        }),
      );
      await Promise.all(runs);
    },
  };
  return group;
}
