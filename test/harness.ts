import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { inject } from 'vitest';
import { secretValues, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { eventually } from './eventually.js';
import type { AllFakes } from './fakes/env.js';
import { recordLogs, recordSecrets } from './secrets-scan.js';
import { startStack, type StackOptions } from './stack.js';

/** A short unique suffix so every test has its own incidents. */
export function uniqueId(prefix = ''): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
}

export interface Harness {
  baseUrl: string;
  client: Client;
  config: Config;
  logs: string[];
  /** The vendor fakes, when `HarnessOptions.fakes` started them. */
  fakes: AllFakes;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  state(key: string): Promise<IncidentState>;
  /** Number of runs ever made for the incident's workflow ID. */
  runCount(key: string): Promise<number>;
  /** Like runCount, once visibility (eventually consistent) lists at least one run. */
  listedRuns(key: string): Promise<number>;
  exists(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

export interface HarnessOptions extends Pick<StackOptions, 'fakes' | 'monitors' | 'env' | 'tracing'> {
  workflowBundle?: WorkflowBundleOption;
  /** Without a worker, workflows are accepted but never run. */
  worker?: boolean;
  maxCachedWorkflows?: number;
  /** Connect the API to this address instead of the suite's server (e.g. a dead port). */
  apiTemporalAddress?: string;
}

/** The stack on the suite's Temporal server, with a fresh task queue: the API on a real port, a worker unless told not to, fakes if asked. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const logs: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const stack = await startStack({
    name: 'test',
    temporal: { address: inject('temporalAddress') },
    fakes: options.fakes,
    monitors: options.monitors,
    env: options.env,
    worker: options.worker === false ? false : { workflowBundle: options.workflowBundle, maxCachedWorkflows: options.maxCachedWorkflows },
    api: { logger, temporalAddress: options.apiTemporalAddress },
    tracing: options.tracing,
  });
  recordSecrets(secretValues(stack.env));
  const { client } = stack;

  const request = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(`${stack.apiUrl}${path}`, { method, body, headers });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics, errors from outside the app)
    }
    return { status: response.status, body: parsed as any };
  };

  const harness: Harness = {
    baseUrl: stack.apiUrl,
    client,
    config: stack.config,
    logs,
    get fakes() {
      return stack.fakes;
    },
    post: (path, body, headers = { 'content-type': 'application/json' }) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    state: (key) => stack.state(key),
    async runCount(key) {
      let count = 0;
      for await (const _run of client.workflow.list({ query: `WorkflowId = '${workflowIdFor(key)}'` })) count += 1;
      return count;
    },
    async listedRuns(key) {
      return eventually(`a run of ${key} listed`, async () => {
        const count = await harness.runCount(key);
        return count > 0 && count;
      });
    },
    async exists(key) {
      return (await stack.status(key)) !== 'missing';
    },
    async stop() {
      recordLogs(logs.join(''));
      await stack.stop();
    },
  };
  return harness;
}
