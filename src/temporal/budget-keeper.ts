/**
 * A 429 that still arrives pauses its budget for every worker: the budget's task queue gets a
 * server-side rate of 0 until the vendor's Retry-After has passed (Temporal's task queue config,
 * which overrides the rate the workers set), then the pause is lifted. The pause's end is in its
 * reason, so any worker lifts a pause whose end has passed (one that paused it may have died).
 */
import { Context } from '@temporalio/activity';
import type { Connection as ClientConnection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { RATE_LIMITED } from '../activities/errors.js';
import { budgetOfQueue, budgetQueue, type BudgetName } from '../shared/budgets.js';

const ACTIVITY_QUEUE = proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
const NORMAL_KIND = proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL;
/** The reason a pause carries: `<prefix> <ISO end>`; a rate someone else set is never lifted. */
const PAUSE_PREFIX = 'warroom: a vendor answered 429; paused until';
/** How often a worker looks for pauses whose end has passed. */
const SWEEP_MS = 15_000;

type WorkflowService = (NativeConnection | ClientConnection)['workflowService'];

export interface BudgetKeeperOptions {
  workflowService: WorkflowService;
  namespace: string;
  taskQueue: string;
  budgets: readonly BudgetName[];
  identity?: string;
  now?: () => number;
  /** Told of each pause and lift (the worker logs them). */
  onChange?: (change: { budget: BudgetName; pausedUntil?: string }) => void;
}

export class BudgetKeeper {
  private readonly pausedUntil = new Map<BudgetName, number>();
  /** One timer per paused budget: it lifts the pause at its end. */
  private readonly timers = new Map<BudgetName, NodeJS.Timeout>();
  private sweeper?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: BudgetKeeperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Lifts pauses that ended while no worker was watching, then keeps looking. */
  async start(): Promise<void> {
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Pauses a budget for every worker until `retryAfterMs` from now (a later end wins; an earlier one changes nothing). */
  async pause(budget: BudgetName, retryAfterMs: number): Promise<void> {
    const until = this.now() + retryAfterMs;
    if (until <= (this.pausedUntil.get(budget) ?? 0)) return;
    this.pausedUntil.set(budget, until);
    const pausedUntil = new Date(until).toISOString();
    await this.update(budget, { rateLimit: { requestsPerSecond: 0 }, reason: `${PAUSE_PREFIX} ${pausedUntil}` });
    this.options.onChange?.({ budget, pausedUntil });
    this.liftAfter(budget, retryAfterMs);
  }

  /** Looks again when the pause should have ended (a later pause by another worker moves its end). */
  private liftAfter(budget: BudgetName, ms: number): void {
    clearTimeout(this.timers.get(budget));
    const timer = setTimeout(
      () => {
        this.timers.delete(budget);
        void this.liftIfEnded(budget).catch(() => this.liftAfter(budget, 1000));
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.timers.set(budget, timer);
  }

  /** An activity interceptor: a rate-limited failure (a 429's Retry-After) pauses the budget its queue paces. */
  interceptor(): ActivityInboundCallsInterceptor {
    return {
      execute: async (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => {
        try {
          return await next(input);
        } catch (err) {
          const budget = budgetOfQueue(this.options.taskQueue, Context.current().info.taskQueue);
          if (budget && err instanceof ApplicationFailure && err.type === RATE_LIMITED && err.nextRetryDelay !== undefined) {
            await this.pause(budget, msToNumber(err.nextRetryDelay)).catch(() => undefined);
          }
          throw err;
        }
      },
    };
  }

  /** The pause on a budget's queue, if warroom set one: its end. */
  async pauseOf(budget: BudgetName): Promise<number | undefined> {
    const answer = await this.options.workflowService.describeTaskQueue({
      namespace: this.options.namespace,
      taskQueue: { name: budgetQueue(this.options.taskQueue, budget), kind: NORMAL_KIND },
      taskQueueType: ACTIVITY_QUEUE,
      reportConfig: true,
    });
    const reason = answer.config?.queueRateLimit?.metadata?.reason ?? '';
    if (!reason.startsWith(PAUSE_PREFIX)) return undefined;
    const until = Date.parse(reason.slice(PAUSE_PREFIX.length).trim());
    return Number.isNaN(until) ? undefined : until;
  }

  private async sweep(): Promise<void> {
    await Promise.all(this.options.budgets.map((budget) => this.liftIfEnded(budget).catch(() => undefined)));
  }

  private async liftIfEnded(budget: BudgetName): Promise<void> {
    const until = await this.pauseOf(budget);
    if (until === undefined) return;
    // Not over yet (a timer a moment early, or another worker's later pause): look again at its end.
    if (until > this.now()) return this.liftAfter(budget, until - this.now() + 50);
    // No rate limit in the update lifts the override: the workers' own rate applies again.
    await this.update(budget, { reason: 'warroom: the vendor accepts calls again' });
    this.pausedUntil.delete(budget);
    this.options.onChange?.({ budget });
  }

  private async update(budget: BudgetName, rateLimitUpdate: { rateLimit?: { requestsPerSecond: number }; reason: string }) {
    await this.options.workflowService.updateTaskQueueConfig({
      namespace: this.options.namespace,
      identity: this.options.identity ?? `warroom-budget-keeper@${process.pid}`,
      taskQueue: budgetQueue(this.options.taskQueue, budget),
      taskQueueType: ACTIVITY_QUEUE,
      updateQueueRateLimit: rateLimitUpdate,
    });
  }
}
