/** Temporal: the cluster answers, the namespace exists, the incident search attributes are (or can be) registered. */
import { connect } from 'node:net';
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import type { Config } from '../config.js';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../shared/search-attributes.js';
import { connectClient, searchAttributeCommands, searchAttributeGaps } from '../temporal/connection.js';
import { errorText, fail, ok, seconds, warn, type CheckGroup, type DoctorOptions, type Finding } from './check.js';

/** gRPC status NOT_FOUND. */
const NOT_FOUND = 5;
const FIX_CONNECTION =
  'check TEMPORAL_ADDRESS, that the server is up and reachable from here, and TEMPORAL_TLS / TEMPORAL_API_KEY / TEMPORAL_TLS_*';

/** gRPC goes through a proxy when one of these is set: then only gRPC's own answer counts. */
function viaProxy(): boolean {
  return ['grpc_proxy', 'https_proxy', 'http_proxy'].some((name) => process.env[name] || process.env[name.toUpperCase()]);
}

export function temporalChecks(config: Config, options: DoctorOptions): CheckGroup {
  const settings = config.temporal;
  const { address, namespace } = settings;
  if (!address) {
    const detail = 'TEMPORAL_ADDRESS is unset: `npm start` embeds a dev server, for development only; no cluster to check';
    return {
      name: 'Temporal',
      checks: [{ name: 'address', run: async () => warn(detail, 'set TEMPORAL_ADDRESS to your cluster (host:7233)') }],
    };
  }
  let connection: Connection | undefined;
  const connected = () => connection as Connection;

  return {
    name: 'Temporal',
    where: `${address}, namespace ${namespace}`,
    checks: [
      {
        name: 'reachable',
        async run() {
          const reached = await reach({ ...settings, address }, options.timeoutMs);
          connection = reached.connection;
          return reached.finding;
        },
      },
      { name: 'namespace', needs: 'reachable', run: () => namespaceFinding(connected(), namespace) },
      {
        name: 'search attributes',
        needs: 'namespace',
        run: () => searchAttributesFinding(connected(), namespace, isTemporalCloud(address)),
      },
    ],
    close: async () => connection?.close(),
  };
}

/** Connects as warroom does (TLS, API key); when that fails, says why in the fewest words it can find. */
async function reach(
  settings: Config['temporal'] & { address: string },
  timeoutMs: number,
): Promise<{ finding: Finding; connection?: Connection }> {
  const started = Date.now();
  const unreachable = (why: string) => ({ finding: fail(`no connection to ${settings.address}: ${why}`, FIX_CONNECTION) });
  // Side by side with gRPC, which waits out its whole deadline: a plain TCP attempt says sooner, and in fewer words, why not.
  const tcp = tcpProbe(settings.address, timeoutMs);
  const connecting = connectClient(settings, { connectTimeoutMs: timeoutMs });
  const refused = tcp.then((why) => (why === 'open' || viaProxy() ? new Promise<never>(() => undefined) : why));
  try {
    const first = await Promise.race([connecting, refused]);
    if (typeof first === 'string') {
      void connecting.then(
        ({ connection: late }) => late.close(),
        () => undefined,
      );
      return unreachable(first);
    }
    return { finding: ok(`answered in ${Date.now() - started} ms${settings.tls ? ' over TLS' : ''}`), connection: first.connection };
  } catch (err) {
    const { path, code } = err as NodeJS.ErrnoException;
    if (path) return { finding: fail(`cannot read ${path} (${code ?? 'error'})`, 'check the TEMPORAL_TLS_*_PATH settings') };
    const why = await tcp;
    return unreachable(why === 'open' ? `the port is open, but no Temporal answered (${errorText(err)})` : why);
  }
}

async function namespaceFinding(connection: Connection, namespace: string): Promise<Finding> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return ok(`${namespace} exists`);
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === NOT_FOUND) {
      return fail(
        `namespace ${namespace} does not exist`,
        `create it (temporal operator namespace create --namespace ${namespace}; on Temporal Cloud in its UI) or set TEMPORAL_NAMESPACE`,
      );
    }
    throw err;
  }
}

async function searchAttributesFinding(connection: Connection, namespace: string, cloud: boolean): Promise<Finding> {
  const { missing, mistyped } = await searchAttributeGaps(connection, namespace);
  if (mistyped.length > 0) {
    const wrong = mistyped.map(({ name, type }) => `${name} is ${type}`).join(', ');
    return fail(`${wrong}; warroom needs Keyword`, 'remove them and register them again as Keyword');
  }
  if (missing.length === 0) return ok(`${INCIDENT_SEARCH_ATTRIBUTES.map((attribute) => attribute.name).join(', ')} registered (Keyword)`);
  if (cloud) {
    const commands = missing.map((name) => `tcld namespace search-attributes add --namespace ${namespace} --sa "${name}=Keyword"`);
    return fail(`${missing.join(', ')} not registered, and warroom cannot register them on Temporal Cloud`, commands.join('; '));
  }
  // Registering them is a write: doctor leaves it to warroom's start, which does it on any cluster that lets it.
  return warn(
    `${missing.join(', ')} not registered yet: warroom registers them when it starts`,
    `if its identity may not, run ${searchAttributeCommands(namespace, missing).join('; ')}`,
  );
}

/** Whether a TCP connection to `host:port` opens (`open`), or why not, in words. */
async function tcpProbe(address: string, timeoutMs: number): Promise<string> {
  const url = URL.parse(`tcp://${address}`);
  const host = url?.hostname.replace(/^\[|\]$/g, '');
  if (!host) return 'not a host:port address';
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(url?.port || 7233), timeout: timeoutMs });
    const done = (why: string) => {
      socket.destroy();
      resolve(why);
    };
    socket.once('connect', () => done('open'));
    socket.once('timeout', () => done(`no answer within ${seconds(timeoutMs)} (a firewall dropping packets?)`));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? 'connection refused: nothing listens on that port' : `network error (${err.code ?? err.message})`),
    );
  });
}

function isTemporalCloud(address: string): boolean {
  return /\.tmprl\.cloud(:\d+)?$/.test(address);
}
