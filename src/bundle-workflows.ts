/**
 * `npm run build`, after tsc: bundles the compiled workflow code once into dist/workflow-bundle.js,
 * which the built worker loads instead of running webpack at every start (src/worker.ts).
 */
import { writeFileSync } from 'node:fs';
import { builtBundlePath, bundleWorkflows } from './worker.js';

const { code } = await bundleWorkflows();
writeFileSync(builtBundlePath, code);
process.stdout.write(`workflow bundle: ${builtBundlePath} (${Math.round(code.length / 1024)} KiB)\n`);
