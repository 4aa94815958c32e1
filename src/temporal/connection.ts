import { readFile } from 'node:fs/promises';
import { Client, Connection, type ClientInterceptors, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../config.js';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../shared/search-attributes.js';
import proto from '@temporalio/proto';

type TemporalSettings = Config['temporal'] & { address: string };

async function tlsOptions(settings: TemporalSettings) {
  if (!settings.tls) return undefined;
  const { clientCertPath, clientKeyPath, serverCaCertPath, serverName } = settings.tls;
  return {
    serverNameOverride: serverName,
    serverRootCACertificate: serverCaCertPath ? await readFile(serverCaCertPath) : undefined,
    clientCertPair:
      clientCertPath && clientKeyPath ? { crt: await readFile(clientCertPath), key: await readFile(clientKeyPath) } : undefined,
  };
}

/** Options shared by the client and the worker connection, from TEMPORAL_* settings. */
async function connectionOptions(settings: TemporalSettings): Promise<ConnectionOptions & NativeConnectionOptions> {
  return {
    address: settings.address,
    tls: await tlsOptions(settings),
    apiKey: settings.apiKey,
  };
}

/**
 * The one Temporal client of a process; `connectTimeoutMs` bounds the first connection (default
 * 10 s); `interceptors` (tracing) see every call it makes.
 */
export async function connectClient(
  settings: TemporalSettings,
  { connectTimeoutMs = 10_000, interceptors }: { connectTimeoutMs?: number; interceptors?: ClientInterceptors } = {},
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({
    ...(await connectionOptions(settings)),
    connectTimeout: connectTimeoutMs,
    // grpc-js backs reconnects off up to 120 s: after a Temporal outage the API kept answering 503
    // for up to 73 s after Temporal was back (chaos/processes.ts). Retry at least every 2 s instead.
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 2000 },
  });
  return { connection, client: new Client({ connection, namespace: settings.namespace, interceptors }) };
}

/** The worker's connection; the caller closes it. */
export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(await connectionOptions(settings));
}

const { IndexedValueType } = proto.temporal.api.enums.v1;
const KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** The incident search attributes a namespace lacks, and those registered with another type than Keyword. */
export async function searchAttributeGaps(
  connection: Connection,
  namespace: string,
): Promise<{ missing: string[]; mistyped: Array<{ name: string; type: string }> }> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const types: Record<string, number> = { ...existing.systemAttributes, ...existing.customAttributes };
  const names = INCIDENT_SEARCH_ATTRIBUTES.map((attribute) => attribute.name);
  return {
    missing: names.filter((name) => !(name in types)),
    mistyped: names
      .filter((name) => name in types && types[name] !== KEYWORD)
      .map((name) => ({ name, type: (IndexedValueType[types[name] as number] ?? 'unknown').replace('INDEXED_VALUE_TYPE_', '') })),
  };
}

/** The commands that register `names` on `namespace` by hand. */
export function searchAttributeCommands(namespace: string, names: readonly string[]): string[] {
  return names.map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`);
}

/**
 * Makes sure the incident search attributes exist on a cluster warroom did not start itself.
 * Throws with the command to run when the cluster refuses (Temporal Cloud registers them with tcld).
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { missing } = await searchAttributeGaps(connection, namespace);
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
    });
  } catch (err) {
    throw new Error(
      `search attributes ${missing.join(', ')} are not registered and could not be added (${(err as Error).message}). Register them:\n  ${searchAttributeCommands(namespace, missing).join('\n  ')}`,
      { cause: err },
    );
  }
  return missing;
}
