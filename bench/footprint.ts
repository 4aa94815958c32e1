/**
 * Footprint of a built deployment: `npm run build`, then `node dist/main.js` (API and worker in
 * one process, as the Docker image runs it) against a Temporal dev server started here, with the
 * vendor fakes in this process. Reports the time from spawn to the first `GET /readyz` 200, the
 * idle RSS once settled, then opens incidents (signed PagerDuty webhooks, a closed loop) and
 * reports the RSS growth per open incident once every war room is furnished, and the CPU per
 * incident of warroom's process and of the server (the fakes' CPU is not in either).
 * Prints figures, never pass/fail.
 *
 *   npm run bench:footprint
 *   FOOTPRINT_INCIDENTS=1000 FOOTPRINT_CONCURRENCY=5 FOOTPRINT_SETTLE_S=30 FOOTPRINT_BUILD=0 BENCH_TIMEOUT_S=1200
 *   WARROOM_WORKFLOW_CACHE=100 VENDOR_BUDGETS=false   (passed on to the deployment; its defaults otherwise)
 *   MALLOC_ARENA_MAX=2           (passed on; 2 as the Dockerfile sets it)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { intFromEnv } from '../test/settings.js';
import { startStack } from '../test/stack.js';
import { closedLoop, tally } from './http-sender.js';
import { machineLine, processCpuUs, signedPagerDutyTrigger, watchdog } from './measure.js';
import { watchWarRoom } from './war-room-watch.js';

/** Targets from issue 10. */
const TARGET_READY_MS = 3000;
const TARGET_IDLE_RSS_MIB = 250;
const TARGET_PER_INCIDENT_KIB = 256;
const WEBHOOK_SECRET = 'footprint-webhook-secret';
const INCIDENT_DEADLINE_MS = 60_000;

const settings = {
  incidents: intFromEnv('FOOTPRINT_INCIDENTS', 200),
  concurrency: intFromEnv('FOOTPRINT_CONCURRENCY', 5),
  settleMs: intFromEnv('FOOTPRINT_SETTLE_S', 30) * 1000,
  build: process.env.FOOTPRINT_BUILD !== '0',
  /** As the Dockerfile sets it: glibc's per-thread malloc arenas otherwise keep what the worker's threads freed. */
  mallocArenas: process.env.MALLOC_ARENA_MAX ?? '2',
  timeoutMs: intFromEnv('BENCH_TIMEOUT_S', 1200) * 1000,
};

/** Resident set size of a process in MiB, from /proc (Linux). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!line?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) / 1024;
}

/**
 * The lowest RSS sampled each second over `ms`: what the process holds once a collection has
 * returned its garbage (when V8 collects after a burst varies from run to run).
 */
async function settledRss(pid: number, ms: number): Promise<number> {
  let lowest = rssMiB(pid);
  for (let waited = 0; waited < ms; waited += 1000) {
    await sleep(1000);
    lowest = Math.min(lowest, rssMiB(pid));
  }
  return lowest;
}

/** The main thread's V8 heap in use, in MiB, from the API's /metrics (prom-client's default metrics). */
async function mainHeapMiB(apiUrl: string): Promise<number> {
  const text = await fetch(`${apiUrl}/metrics`).then((response) => response.text());
  const used = text.match(/^nodejs_heap_size_used_bytes (\S+)$/m)?.[1];
  return used === undefined ? Number.NaN : Number(used) / 1024 / 1024;
}

const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

console.log(`machine: ${machineLine()}`);
console.log(
  `settings: ${settings.incidents} open incidents, ${settings.concurrency} opened at a time; settle ${settings.settleMs / 1000} s; ` +
    `build ${settings.build ? 'yes' : 'no (dist/ as it is)'}; MALLOC_ARENA_MAX=${settings.mallocArenas}`,
);
const disarm = watchdog(settings.timeoutMs);

if (settings.build) {
  const started = performance.now();
  const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status})`);
  console.log(`npm run build: ${fixed((performance.now() - started) / 1000, 1)} s`);
}

// Temporal and the fakes first: the deployment starts against a server that is already up.
const stack = await startStack({
  name: 'footprint',
  temporal: { headless: true },
  fakes: { slack: { seed: 7 }, configure: ['jira', 'slack', 'pagerduty', 'victorops'], announceChannel: 'incidents' },
  worker: false,
  api: false,
  env: {
    PAGERDUTY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    SLACK_DEFAULT_RESPONDERS: 'sam.sre@example.com,nobody@example.com',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  },
});

const spawnedAt = performance.now();
const child = spawn(process.execPath, ['dist/main.js'], {
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...stack.env,
    ...(process.env.WARROOM_WORKFLOW_CACHE ? { WARROOM_WORKFLOW_CACHE: process.env.WARROOM_WORKFLOW_CACHE } : {}),
    ...(process.env.VENDOR_BUDGETS ? { VENDOR_BUDGETS: process.env.VENDOR_BUDGETS } : {}),
    MALLOC_ARENA_MAX: settings.mallocArenas,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const pid = child.pid;
let exited = false;
child.once('exit', () => (exited = true));

try {
  if (pid === undefined) throw new Error('node dist/main.js did not start');
  let readyMs = Number.NaN;
  while (Number.isNaN(readyMs)) {
    if (exited) throw new Error('node dist/main.js exited before it was ready');
    const ok = await fetch(`${stack.apiUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) readyMs = performance.now() - spawnedAt;
    else await sleep(20);
  }
  const startCpuMs = (processCpuUs(pid) ?? Number.NaN) / 1000;
  const idle = await settledRss(pid, settings.settleMs);
  const idleHeap = await mainHeapMiB(stack.apiUrl);
  console.log(`\nspawn → /readyz 200: ${fixed(readyMs)} ms   target <= ${TARGET_READY_MS} ms (CPU to get there ${fixed(startCpuMs)} ms)`);
  console.log(
    `idle RSS (lowest over ${settings.settleMs / 1000} s): ${fixed(idle, 1)} MiB   target <= ${TARGET_IDLE_RSS_MIB} MiB (main thread's heap in use ${fixed(idleHeap, 1)} MiB)`,
  );

  const { fakes } = stack;
  const watch = watchWarRoom(fakes);
  const nodeBefore = processCpuUs(pid);
  const serverBefore = processCpuUs(stack.temporal.pid);
  const { labels, elapsedMs } = await closedLoop(settings.incidents, settings.concurrency, async (index) => {
    const incident = fakes.pagerduty.addIncident({ title: `checkout-api: 5xx rate above 5% (${index})` });
    const trace = watch.follow(incident.id, stack.config.slack?.channelTemplate);
    const { body, headers } = signedPagerDutyTrigger(incident.id, `01FOOT${index}${incident.id}`, WEBHOOK_SECRET);
    const response = await fetch(`${stack.apiUrl}/webhooks/pagerduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    if (response.status !== 202) return String(response.status);
    const late = sleep(INCIDENT_DEADLINE_MS, 'late' as const, { ref: false });
    return (await Promise.race([trace.furnished.then(() => '202'), late])) ?? 'late';
  });
  const nodeCpuMs = ((processCpuUs(pid) ?? Number.NaN) - (nodeBefore ?? Number.NaN)) / 1000 / settings.incidents;
  const serverCpuMs = ((processCpuUs(stack.temporal.pid) ?? Number.NaN) - (serverBefore ?? Number.NaN)) / 1000 / settings.incidents;
  const failures = Object.entries(tally(labels).statuses).filter(([status]) => status !== '202');
  const open = await settledRss(pid, settings.settleMs);
  const openHeap = await mainHeapMiB(stack.apiUrl);
  const perIncidentKiB = ((open - idle) * 1024) / settings.incidents;
  console.log(
    `${settings.incidents} incidents opened in ${fixed(elapsedMs / 1000, 1)} s` +
      (failures.length ? `; failures: ${failures.map(([status, n]) => `${status} ×${n}`).join(', ')}` : '; no failures'),
  );
  console.log(
    `RSS with ${settings.incidents} open (lowest over ${settings.settleMs / 1000} s): ${fixed(open, 1)} MiB (main thread's heap in use ${fixed(openHeap, 1)} MiB)`,
  );
  console.log(
    `RSS growth per open incident: ${fixed(perIncidentKiB)} KiB (${settings.incidents} open)   target <= ${TARGET_PER_INCIDENT_KIB} KiB at 1,000 open`,
  );
  console.log(
    `CPU per incident while opening: warroom ${fixed(nodeCpuMs, 1)} ms + server ${fixed(serverCpuMs, 1)} ms = ${fixed(nodeCpuMs + serverCpuMs, 1)} ms ` +
      '(the fakes run in this benchmark process, outside both)',
  );
} finally {
  if (!exited) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await stack.stop().catch((err: Error) => console.error(`cleanup failed: ${err.message}`));
  disarm();
}
