import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake vendor listening on loopback; `stop()` also ends requests left hanging by a fault. */
export interface LoopbackServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 at a random port. A handler that throws answers 500 and the error is kept. */
export async function listenOnLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
  onError: (err: unknown) => void = () => {},
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        onError(err);
        if (!res.headersSent) sendJson(res, 500, { error: `fake failed: ${(err as Error).message}` });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers })
    .end(text);
}

/** What can go wrong on one route. Counts (`errors`, `rateLimit.count`, numeric `hang`/`applyThenFail`) are used up call by call. */
export interface Fault {
  /** Probability (0..1) that a call answers 500. */
  errorRate?: number;
  /** The next N calls answer 500. */
  errors?: number;
  /** The next `count` calls answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit?: { count: number; retryAfterSeconds: number };
  /** Delay before every answer, in ms. */
  latencyMs?: number;
  /** Never answer (until the fake stops): every call when true, else the next N calls. */
  hang?: boolean | number;
  /** Apply the change, then answer 500 (what makes naive retries duplicate things): every call when true, else the next N. */
  applyThenFail?: boolean | number;
}

/** What the fake should do with one call. */
export type FaultDecision =
  { kind: 'hang' } | { kind: 'rateLimit'; retryAfterSeconds: number } | { kind: 'error' } | { kind: 'proceed'; applyThenFail: boolean };

/** Faults by route key (an operationId, or `*` for every route), consulted once per call. */
export class FaultTable {
  private readonly faults = new Map<string, Fault>();

  constructor(private readonly random: () => number = Math.random) {}

  set(route: string, fault: Fault | undefined): void {
    if (fault) this.faults.set(route, { ...fault, rateLimit: fault.rateLimit && { ...fault.rateLimit } });
    else this.faults.delete(route);
  }

  get(route: string): Fault | undefined {
    return this.faults.get(route);
  }

  clear(): void {
    this.faults.clear();
  }

  /** Decides the fate of one call on `routes` (most specific first); waits out any latency. */
  async decide(routes: string[]): Promise<FaultDecision> {
    const fault = routes.map((route) => this.faults.get(route)).find(Boolean);
    if (!fault) return { kind: 'proceed', applyThenFail: false };
    if (fault.latencyMs) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
    if (take(fault, 'hang')) return { kind: 'hang' };
    if (fault.rateLimit && fault.rateLimit.count > 0) {
      fault.rateLimit.count -= 1;
      return { kind: 'rateLimit', retryAfterSeconds: fault.rateLimit.retryAfterSeconds };
    }
    if (fault.errors && fault.errors > 0) {
      fault.errors -= 1;
      return { kind: 'error' };
    }
    if (fault.errorRate && this.random() < fault.errorRate) return { kind: 'error' };
    return { kind: 'proceed', applyThenFail: take(fault, 'applyThenFail') };
  }
}

function take(fault: Fault, key: 'hang' | 'applyThenFail'): boolean {
  const value = fault[key];
  if (value === true) return true;
  if (typeof value === 'number' && value > 0) {
    fault[key] = value - 1;
    return true;
  }
  return false;
}

/** A seeded generator (mulberry32): the same seed gives the same sequence, so faults and orders repeat. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
