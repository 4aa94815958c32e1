/**
 * `npm run build`, after tsc: bundles the compiled workflow code once into dist/workflow-bundle.js,
 * which the built worker loads instead of running webpack at every start (src/worker.ts).
 */
import { writeFileSync } from 'node:fs';
import { builtBundlePath, bundleWorkflows } from './worker.js';

const SOURCE_MAP = '//# sourceMappingURL=data:';

/**
 * The bundle with its inline source map kept (stack traces name our files and lines) but without
 * the sources' text, which no worker reads (only `showStackTraceSources` would): half the file,
 * and less for every worker to read and parse at start.
 */
function withoutSourcesContent(code: string): string {
  const at = code.lastIndexOf(SOURCE_MAP);
  const data = code.indexOf('base64,', at) + 'base64,'.length;
  if (at < 0 || data < at) return code;
  const map = JSON.parse(Buffer.from(code.slice(data).trim(), 'base64').toString()) as { sourcesContent?: unknown };
  delete map.sourcesContent;
  return `${code.slice(0, data)}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

const { code } = await bundleWorkflows();
const written = withoutSourcesContent(code);
writeFileSync(builtBundlePath, written);
process.stdout.write(`workflow bundle: ${builtBundlePath} (${Math.round(written.length / 1024)} KiB)\n`);
