import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll } from 'vitest';
import { recordLogs } from './secrets-scan.js';

const SHOWN = new Set(['WARN', 'ERROR']);
/** Expected by the fault-injection tests by the hundred; the step's outcome on the timeline is what tests check. */
const QUIET = new Set(['Activity failed']);
const kept: string[] = [];

// Worker lifecycle chatter at INFO drowns test output: warnings and errors still show. Every
// entry from INFO up is kept for the suite's final secrets scan (activity and workflow logs too).
Runtime.install({
  logger: new DefaultLogger('INFO', (entry) => {
    const line = `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`;
    kept.push(line);
    if (SHOWN.has(entry.level) && !QUIET.has(entry.message) && !entry.message.startsWith('No workflows registered'))
      process.stderr.write(
        `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {}, null, 2)}\n`,
      );
  }),
});

// Per test file (a process may run several): hand the entries over and start afresh.
afterAll(() => {
  recordLogs(kept.splice(0).join('\n'));
});
