/**
 * The load side of the ingress and storm benchmarks: a closed loop of N concurrent senders, and
 * webhook POSTs over keep-alive HTTP. Runs in a worker thread so the senders' CPU does not share an
 * event loop with the API being measured (a real PagerDuty is another machine).
 */
import { Agent, request } from 'node:http';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/** What one timed run of a path produced. */
export interface RunResult {
  /** Per-request time from send to answer, in milliseconds, by request index. */
  latenciesMs: Float64Array;
  /** Wall time from the first send to the last answer. */
  elapsedMs: number;
  /** HTTP status (or `error`) -> count; the bare path counts `ok` and `error`. */
  statuses: Record<string, number>;
  /** `outcome` of each 202 body (started / signaled / repeat) -> count. */
  outcomes: Record<string, number>;
}

/** Runs `count` operations with at most `concurrency` in flight; each sender starts its next at once. */
export async function closedLoop(
  count: number,
  concurrency: number,
  operation: (index: number) => Promise<string>,
): Promise<{ latenciesMs: Float64Array; elapsedMs: number; labels: string[] }> {
  const latenciesMs = new Float64Array(count);
  const labels = new Array<string>(count);
  let next = 0;
  const sender = async () => {
    for (let index = next++; index < count; index = next++) {
      const sent = performance.now();
      let label: string;
      try {
        label = await operation(index);
      } catch (err) {
        label = `error: ${(err as Error).message.slice(0, 80)}`;
      }
      latenciesMs[index] = performance.now() - sent;
      labels[index] = label;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, sender));
  return { latenciesMs, elapsedMs: performance.now() - started, labels };
}

/** Counts labels `<status> <outcome>` (or `error: ...`) into statuses and 202 outcomes. */
export function tally(labels: readonly string[]): Pick<RunResult, 'statuses' | 'outcomes'> {
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  for (const label of labels) {
    const [status = label, outcome] = label.startsWith('error:') ? [label] : label.split(' ');
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === '202' && outcome) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  return { statuses, outcomes };
}

/** One batch of webhook deliveries to POST. */
export interface PostPlan {
  port: number;
  path: string;
  concurrency: number;
  bodies: string[];
  /** Extra headers per body (the signature), same order as `bodies`. */
  headers: Record<string, string>[];
}

const REQUEST_TIMEOUT_MS = 10_000;

/** POSTs each body once over `agent` and answers `<status> <outcome>` from the JSON reply. */
function post(agent: Agent, plan: PostPlan, index: number): Promise<string> {
  const body = Buffer.from(plan.bodies[index] ?? '');
  return new Promise((resolvePost, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: plan.port,
        method: 'POST',
        path: plan.path,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...plan.headers[index] },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let outcome = '';
          if (res.statusCode === 202) {
            try {
              outcome = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { outcome?: unknown }).outcome);
            } catch {
              outcome = 'unparsable';
            }
          }
          resolvePost(`${res.statusCode} ${outcome}`);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs every body of the plan through the closed loop. */
export async function postAll(agent: Agent, plan: PostPlan): Promise<RunResult> {
  const { labels, ...run } = await closedLoop(plan.bodies.length, plan.concurrency, (index) => post(agent, plan, index));
  return { ...run, ...tally(labels) };
}

/** Where the HTTP senders run; the API always runs on this process's main event loop. */
export interface HttpSender {
  run(plan: PostPlan): Promise<RunResult>;
  close(): Promise<void>;
  utilization(): EventLoopUtilization | undefined;
}

/** Senders in a worker thread of their own, as a real alerting tool is another machine. */
export function threadSender(concurrency: number): HttpSender {
  const worker = new Worker(new URL('./http-sender.ts', import.meta.url), {
    workerData: { role: 'http-sender', concurrency },
  });
  let failure: Error | undefined;
  worker.on('error', (err) => (failure = err));
  return {
    run: (plan) =>
      new Promise((resolveRun, reject) => {
        if (failure) return reject(failure);
        worker.once('message', (message: RunResult | { error: string }) =>
          'error' in message ? reject(new Error(message.error)) : resolveRun(message),
        );
        worker.postMessage(plan);
      }),
    close: async () => {
      worker.postMessage('close');
      await worker.terminate();
    },
    utilization: () => worker.performance.eventLoopUtilization(),
  };
}

/** Senders on this event loop (to compare with the thread). */
export function inlineSender(concurrency: number): HttpSender {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  return {
    run: (plan) => postAll(agent, plan),
    close: async () => agent.destroy(),
    utilization: () => undefined,
  };
}

/** Worker-thread entry: one keep-alive agent for the thread's life, one plan per message. */
if (parentPort && (workerData as { role?: string } | undefined)?.role === 'http-sender') {
  const port = parentPort;
  const { concurrency } = workerData as { concurrency: number };
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  port.on('message', (plan: PostPlan | 'close') => {
    if (plan === 'close') {
      agent.destroy();
      port.close();
      return;
    }
    postAll(agent, plan).then(
      (result) => port.postMessage(result),
      (err: Error) => port.postMessage({ error: err.message }),
    );
  });
}
