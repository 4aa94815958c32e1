import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { inject } from 'vitest';
import { createApp } from '../src/api.js';
import { loadConfig, secretValues, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { workflowIdFor } from '../src/shared/ids.js';
import type { IncidentState } from '../src/shared/incident.js';
import { incidentQuery } from '../src/shared/messages.js';
import { createWorker } from '../src/worker.js';
import { eventually } from './eventually.js';
import { recordLogs, recordSecrets } from './secrets-scan.js';

/** A sample body from test/fixtures, as bytes. */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}

export function fixtureJson<T = Record<string, any>>(name: string): T {
  return JSON.parse(fixture(name).toString('utf8')) as T;
}

/** A short unique suffix so every test has its own incidents. */
export function uniqueId(prefix = ''): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
}

export interface Harness {
  baseUrl: string;
  client: Client;
  config: Config;
  logs: string[];
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

export interface HarnessOptions {
  env?: Record<string, string>;
  workflowBundle?: WorkflowBundleOption;
  /** Without a worker, workflows are accepted but never run. */
  worker?: boolean;
  maxCachedWorkflows?: number;
  /** Connect the API to this address instead of the suite's server (e.g. a dead port). */
  apiTemporalAddress?: string;
}

/** The API on a real port and (optionally) a worker, on the suite's Temporal server, with a fresh task queue. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const address = inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const config = loadConfig({ TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue, ...options.env });
  recordSecrets(secretValues(options.env ?? {}));
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
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const apiConnection = options.apiTemporalAddress
    ? Connection.lazy({ address: options.apiTemporalAddress, connectTimeout: '1s' })
    : connection;
  const apiClient = options.apiTemporalAddress ? new Client({ connection: apiConnection }) : client;
  const app = createApp({ client: apiClient, config, logger, metrics: createMetrics() });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let worker: Worker | undefined;
  let workerConnection: NativeConnection | undefined;
  let running: Promise<void> | undefined;
  if (options.worker !== false) {
    workerConnection = await NativeConnection.connect({ address });
    worker = await createWorker({
      connection: workerConnection,
      config,
      workflowBundle: options.workflowBundle,
      maxCachedWorkflows: options.maxCachedWorkflows,
    });
    running = worker.run();
  }

  const request = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, { method, body, headers });
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
    baseUrl,
    client,
    config,
    logs,
    post: (path, body, headers = { 'content-type': 'application/json' }) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    async state(key) {
      const handle = client.workflow.getHandle(workflowIdFor(key));
      const description = await handle.describe();
      if (description.status.name === 'COMPLETED') return (await handle.result()) as IncidentState;
      return handle.query(incidentQuery);
    },
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
      try {
        await client.workflow.getHandle(workflowIdFor(key)).describe();
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
    async stop() {
      recordLogs(logs.join(''));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (worker) {
        worker.shutdown();
        await running;
      }
      await workerConnection?.close();
      if (apiConnection !== connection) await apiConnection.close();
      await connection.close();
    },
  };
  return harness;
}
