/**
 * VictorOps: the REST endpoint URL has the documented shape. The endpoint takes alerts only, so
 * its key can be checked only by posting one, which doctor never does.
 */
import type { Config } from '../config.js';
import { fail, notConfiguredGroup, ok, warn, type CheckGroup, type Finding } from './check.js';

/** `…/integrations/generic/20131114/alert/{api key}/{routing key}` (API-NOTES §1c). */
const REST_PATH = /^\/integrations\/generic\/20131114\/alert\/[^/]+\/([^/]+)\/?$/;
const DOCUMENTED = 'https://alert.victorops.com/integrations/generic/20131114/alert/<api key>/<routing key>';
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export function victorOpsChecks(config: Config): CheckGroup {
  const restUrl = config.victorops.restUrl;
  if (!restUrl) return notConfiguredGroup('VictorOps', 'VICTOROPS_REST_URL');
  return { name: 'VictorOps', checks: [{ name: 'REST endpoint URL', run: async () => restUrlFinding(restUrl) }] };
}

/** Never prints the URL: it holds the API key. */
function restUrlFinding(restUrl: string): Finding {
  const url = URL.parse(restUrl);
  const routingKey = url ? REST_PATH.exec(url.pathname)?.[1] : undefined;
  if (!url || !routingKey) {
    return fail(
      'VICTOROPS_REST_URL does not have the REST endpoint shape',
      `copy it from VictorOps → Integrations → REST Endpoint and append the routing key: ${DOCUMENTED}`,
    );
  }
  const shape = `routing key ${decodeURIComponent(routingKey)} on ${url.host}; the API key is checked only by posting, which doctor does not`;
  if (url.protocol !== 'https:' && !LOOPBACK.has(url.hostname)) {
    return warn(`${shape}; plain http sends the API key in the clear`, 'use the https:// URL VictorOps gives');
  }
  return ok(shape);
}
