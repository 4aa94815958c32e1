/**
 * What the Helm chart must keep doing, checked on `helm template` renders. Run by deploy/helm/check,
 * which builds helm and passes it as HELM (`node --import tsx --test deploy/helm/chart.test.ts`);
 * it is not part of vitest, so that `npm test` needs no Go toolchain.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig, SECRET_VARIABLES } from '../../src/config.js';

const HELM = process.env.HELM ?? 'helm';
const CHART = fileURLToPath(new URL('./warroom', import.meta.url));
/** How long main.ts drains on SIGTERM (SHUTDOWN_GRACE_MS in src/main.ts), in seconds. */
const DRAIN_SECONDS = 15;
const PUBLIC_PATHS = ['/webhooks', '/incidents', '/slack/interactions', '/slack/commands'];

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: any };

const scratch = mkdtempSync(join(tmpdir(), 'warroom-chart-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let renders = 0;

/** `helm template` with these values; resolves to its stdout, or rejects with its stderr. */
function helmTemplate(values: object): Promise<string> {
  const file = join(scratch, `values-${++renders}.json`);
  writeFileSync(file, JSON.stringify(values));
  return new Promise((resolve, reject) => {
    execFile(HELM, ['template', 'warroom', CHART, '--namespace', 'incidents', '--values', file], (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error(`${HELM} not found: run deploy/helm/check`));
      else if (err) reject(new Error(stderr || err.message));
      else resolve(stdout);
    });
  });
}

async function render(values: object = {}): Promise<Manifest[]> {
  const documents = parseAllDocuments(await helmTemplate(values));
  return documents.map((document) => document.toJS() as Manifest | null).filter((manifest): manifest is Manifest => manifest !== null);
}

/** The render's error message; fails the test if it rendered. */
async function refusal(values: object): Promise<string> {
  try {
    await helmTemplate(values);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`rendered with ${JSON.stringify(values)}; expected a refusal`);
}

function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  assert.ok(found, `no ${kind} ${name} in ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found;
}

const apiOf = (manifests: Manifest[]) => find(manifests, 'Deployment', 'warroom-api');
const workerOf = (manifests: Manifest[]) => find(manifests, 'Deployment', 'warroom-worker');
const containerOf = (deployment: Manifest) => deployment.spec.template.spec.containers[0];
const settingsOf = (manifests: Manifest[]) => find(manifests, 'ConfigMap', 'warroom-config').data as Record<string, string>;

/** Every setting the chart can set, at once. */
const EVERYTHING = {
  existingSecret: 'warroom-secrets',
  config: {
    JIRA_HOST: 'https://example.atlassian.net',
    JIRA_EMAIL: 'warroom@example.com',
    PAGERDUTY_FROM_EMAIL: 'oncall-bot@example.com',
    PAGERDUTY_SYNC: false,
    DELIVERY_MEMORY_SIZE: 1000000,
    STATUSCAST_URL: 'https://example.statuscast.com',
  },
  logLevel: 'debug',
  temporal: {
    address: 'incidents.a1b2c.tmprl.cloud:7233',
    namespace: 'incidents.a1b2c',
    taskQueue: 'warroom-prod',
    uiUrl: 'https://cloud.temporal.io/namespaces/incidents.a1b2c',
    tls: true,
    serverName: 'incidents.a1b2c.tmprl.cloud',
    apiKey: { existingSecret: 'temporal-cloud', key: 'api-key' },
    mtls: { existingSecret: 'temporal-client-tls' },
    serverCA: { existingSecret: 'temporal-ca' },
  },
  statuscast: {
    monitors: [
      { name: 'checkout', affectedComponents: [20609], subject: 'Checkout: {title}', waitTime: '2m', combineAlerts: true },
      { name: 'orders-db', affectedComponents: [20610], autoPublish: false },
    ],
  },
  ingress: { enabled: true },
};

describe('the warroom Helm chart', () => {
  it('takes every secret from existingSecret and renders no Secret of its own', async () => {
    const manifests = await render(EVERYTHING);
    assert.equal(manifests.filter((manifest) => manifest.kind === 'Secret').length, 0);
    for (const deployment of [apiOf(manifests), workerOf(manifests)]) {
      const container = containerOf(deployment);
      assert.deepEqual(
        container.envFrom.filter((source: any) => source.secretRef),
        [{ secretRef: { name: 'warroom-secrets' } }],
      );
      for (const variable of container.env ?? []) {
        if (SECRET_VARIABLES.includes(variable.name)) assert.ok(variable.valueFrom?.secretKeyRef, `${variable.name} is not from a Secret`);
      }
    }
    const settings = Object.keys(settingsOf(manifests));
    assert.deepEqual(
      settings.filter((name) => SECRET_VARIABLES.includes(name)),
      [],
    );
  });

  it('refuses each secret variable of warroom in config, naming it', async () => {
    for (const name of SECRET_VARIABLES) {
      assert.match(await refusal({ config: { [name]: 'x' } }), new RegExp(`config\\.${name}: ${name} is a secret`));
    }
  });

  it('sets only variables warroom reads, and warroom accepts what it sets', async () => {
    const manifests = await render(EVERYTHING);
    const settings = settingsOf(manifests);
    assert.deepEqual(
      Object.keys(settings).filter((name) => !CONFIG_VARIABLES.includes(name)),
      [],
    );
    assert.equal(settings.DELIVERY_MEMORY_SIZE, '1000000', 'a whole number stays whole (not 1e+06)');
    const monitorsFile = join(scratch, 'monitors.yaml');
    writeFileSync(monitorsFile, find(manifests, 'ConfigMap', 'warroom-monitors').data['monitors.yaml']);
    const config = loadConfig({
      ...settings,
      STATUSCAST_MONITORS_FILE: monitorsFile,
      TEMPORAL_API_KEY: 'key',
      JIRA_API_TOKEN: 'token',
      STATUSCAST_API_TOKEN: 'token',
    });
    assert.equal(config.temporal.address, 'incidents.a1b2c.tmprl.cloud:7233');
    assert.equal(config.temporal.taskQueue, 'warroom-prod');
    assert.deepEqual(config.temporal.tls, {
      clientCertPath: '/etc/warroom/temporal-mtls/tls.crt',
      clientKeyPath: '/etc/warroom/temporal-mtls/tls.key',
      serverCaCertPath: '/etc/warroom/temporal-ca/ca.crt',
      serverName: 'incidents.a1b2c.tmprl.cloud',
    });
    assert.equal(config.pagerduty.sync, false);
    assert.deepEqual(
      config.statuscast?.monitors.map((monitor) => [monitor.name, monitor.waitMs, monitor.combineAlerts, monitor.autoPublish]),
      [
        ['checkout', 120_000, true, true],
        ['orders-db', 0, false, false],
      ],
    );
  });

  it('runs the API and the worker in their roles, the worker with the replicas asked for', async () => {
    const manifests = await render({ worker: { replicas: 5 } });
    assert.equal(workerOf(manifests).spec.replicas, 5);
    assert.deepEqual(containerOf(workerOf(manifests)).command, ['node', 'dist/main.js', '--role=worker']);
    assert.equal(apiOf(manifests).spec.replicas, 2);
    assert.deepEqual(containerOf(apiOf(manifests)).command, ['node', 'dist/main.js', '--role=api']);
  });

  it('probes the API on /healthz and /readyz at the port it listens on', async () => {
    for (const port of [3000, 8080]) {
      const manifests = await render({ api: { port } });
      const container = containerOf(apiOf(manifests));
      assert.equal(settingsOf(manifests).PORT, String(port));
      assert.deepEqual(container.ports, [{ name: 'http', containerPort: port, protocol: 'TCP' }]);
      assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'http' });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
      assert.equal(find(manifests, 'Service', 'warroom-api').spec.ports[0].targetPort, 'http');
    }
  });

  it('gives the worker only its metrics port and no HTTP probe, and counts a new worker only once it outlived a failed start', async () => {
    const worker = workerOf(await render());
    const container = containerOf(worker);
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    for (const field of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.equal(container[field], undefined, field);
    // A bad setting exits at once; an unreachable Temporal fails the client's connect after 10 s (src/temporal/connection.ts).
    assert.ok(worker.spec.minReadySeconds > 10, `minReadySeconds ${worker.spec.minReadySeconds}`);
    assert.equal(worker.spec.strategy.rollingUpdate.maxUnavailable, 0);
  });

  it('refuses a value it does not know, such as a misspelt one', async () => {
    assert.match(await refusal({ worker: { replica: 3 } }), /replica/);
    assert.match(await refusal({ temporal: { adress: 'temporal:7233' } }), /adress/);
  });

  it('gives each pod more grace than its pause before SIGTERM and its 15 s drain', async () => {
    const manifests = await render();
    const api = apiOf(manifests).spec.template.spec;
    const pause = Number(api.containers[0].lifecycle.preStop.exec.command[1]);
    assert.ok(api.terminationGracePeriodSeconds > pause + DRAIN_SECONDS, `API grace ${api.terminationGracePeriodSeconds} s`);
    assert.ok(workerOf(manifests).spec.template.spec.terminationGracePeriodSeconds > DRAIN_SECONDS);
  });

  it('mounts the mTLS certificate, key and CA read-only from their Secrets where warroom reads them', async () => {
    const manifests = await render(EVERYTHING);
    const settings = settingsOf(manifests);
    for (const deployment of [apiOf(manifests), workerOf(manifests)]) {
      const pod = deployment.spec.template.spec;
      const mounts = new Map(containerOf(deployment).volumeMounts.map((mount: any) => [mount.name, mount]));
      const volumes = new Map(pod.volumes.map((volume: any) => [volume.name, volume]));
      const fileOf = (volume: string, key: string) => {
        const mount = mounts.get(volume) as any;
        assert.equal(mount.readOnly, true, `${volume} is mounted read-only`);
        const item = (volumes.get(volume) as any).secret.items.find((entry: any) => entry.key === key);
        return `${mount.mountPath}/${item.path}`;
      };
      assert.equal((volumes.get('temporal-mtls') as any).secret.secretName, 'temporal-client-tls');
      assert.equal(fileOf('temporal-mtls', 'tls.crt'), settings.TEMPORAL_TLS_CLIENT_CERT_PATH);
      assert.equal(fileOf('temporal-mtls', 'tls.key'), settings.TEMPORAL_TLS_CLIENT_KEY_PATH);
      assert.equal((volumes.get('temporal-ca') as any).secret.secretName, 'temporal-ca');
      assert.equal(fileOf('temporal-ca', 'ca.crt'), settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH);
    }
  });

  it('passes a Temporal Cloud API key from its Secret, never as a value', async () => {
    const manifests = await render({ temporal: { apiKey: { existingSecret: 'temporal-cloud', key: 'api-key' } } });
    for (const deployment of [apiOf(manifests), workerOf(manifests)]) {
      assert.deepEqual(
        containerOf(deployment).env.find((variable: any) => variable.name === 'TEMPORAL_API_KEY'),
        { name: 'TEMPORAL_API_KEY', valueFrom: { secretKeyRef: { name: 'temporal-cloud', key: 'api-key' } } },
      );
    }
  });

  it('mounts the StatusCast monitor file read-only where STATUSCAST_MONITORS_FILE points, from its ConfigMap', async () => {
    const config = { STATUSCAST_URL: 'https://example.statuscast.com' };
    for (const statuscast of [{ monitors: EVERYTHING.statuscast.monitors }, { existingConfigMap: 'team-monitors', key: 'status.yaml' }]) {
      const manifests = await render({ config, statuscast });
      const file = settingsOf(manifests).STATUSCAST_MONITORS_FILE;
      const configMap = statuscast.existingConfigMap ?? 'warroom-monitors';
      for (const deployment of [apiOf(manifests), workerOf(manifests)]) {
        const mount = containerOf(deployment).volumeMounts.find((entry: any) => entry.name === 'statuscast-monitors');
        const volume = deployment.spec.template.spec.volumes.find((entry: any) => entry.name === 'statuscast-monitors');
        assert.equal(mount.readOnly, true);
        assert.equal(volume.configMap.name, configMap);
        assert.deepEqual(volume.configMap.items, [{ key: statuscast.key ?? 'monitors.yaml', path: 'monitors.yaml' }]);
        assert.equal(`${mount.mountPath}/monitors.yaml`, file);
      }
    }
    assert.match(await refusal({ statuscast: { existingConfigMap: 'team-monitors' } }), /needs config\.STATUSCAST_URL/);
  });

  it('runs as a non-root user on a read-only root filesystem', async () => {
    for (const deployment of [apiOf(await render()), workerOf(await render())]) {
      const pod = deployment.spec.template.spec;
      const container = containerOf(deployment);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0, 'a numeric non-root user, which the kubelet can check');
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.equal(pod.automountServiceAccountToken, false);
    }
  });

  it('keeps one disruption budget on the pods of each role and no other', async () => {
    const manifests = await render();
    for (const [deployment, other] of [
      [apiOf(manifests), workerOf(manifests)],
      [workerOf(manifests), apiOf(manifests)],
    ] as const) {
      const budget = find(manifests, 'PodDisruptionBudget', deployment.metadata.name);
      const selects = (pod: Manifest) =>
        Object.entries(budget.spec.selector.matchLabels).every(([label, value]) => pod.spec.template.metadata.labels[label] === value);
      assert.ok(selects(deployment), `${budget.metadata.name} selects its pods`);
      assert.ok(!selects(other), `${budget.metadata.name} leaves ${other.metadata.name} alone`);
      assert.equal(budget.spec.maxUnavailable, 1);
    }
  });

  it('routes only the public paths to the API through the Ingress', async () => {
    const manifests = await render({ ingress: { enabled: true } });
    const ingress = find(manifests, 'Ingress', 'warroom');
    const paths = ingress.spec.rules.flatMap((rule: any) => rule.http.paths);
    assert.deepEqual(
      paths.map((path: any) => path.path),
      PUBLIC_PATHS,
    );
    for (const path of paths) assert.deepEqual(path.backend.service, { name: 'warroom-api', port: { name: 'http' } });
    assert.equal((await render()).filter((manifest) => manifest.kind === 'Ingress').length, 0, 'no Ingress unless enabled');
  });

  it('labels every object with helm.sh/chart and its release', async () => {
    for (const manifest of await render(EVERYTHING)) {
      assert.match(
        manifest.metadata.labels?.['helm.sh/chart'] ?? '',
        /^warroom-\d+\.\d+\.\d+$/,
        `${manifest.kind}/${manifest.metadata.name}`,
      );
      assert.equal(manifest.metadata.labels?.['app.kubernetes.io/instance'], 'warroom');
    }
  });
});
