import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_TEMPORAL_SERVER_VERSION } from '../chaos/cluster/install.js';
import { BUDGET_NAMES, budgetQueue } from '../src/shared/budgets.js';
import { DEFAULT_TASK_QUEUE } from '../src/shared/messages.js';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../src/shared/search-attributes.js';

/** A YAML file of the repository, `<<` merge keys resolved as Compose does. */
const readYaml = (path: string) => parse(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8'), { merge: true });

type Service = Record<string, any>;
const compose = readYaml('docker-compose.yml') as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};
const script = (name: string) => (service(name).command as string[]).join('\n');
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

describe('deployment files', () => {
  it('gives every vendor budget queue exactly one partition in the Temporal dynamic config', () => {
    const dynamicConfig = readYaml('deploy/temporal/dynamicconfig.yaml') as Record<string, { value: number; constraints: any }[]>;
    const budgetQueues = BUDGET_NAMES.map((budget) => budgetQueue(DEFAULT_TASK_QUEUE, budget)).sort();
    for (const key of ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions']) {
      const entries = dynamicConfig[key] ?? [];
      expect(entries.map((entry) => entry.constraints.taskQueueName).sort(), key).toEqual(budgetQueues);
      expect(new Set(entries.map((entry) => entry.value)), key).toEqual(new Set([1]));
    }
  });

  it('starts Compose in the order of a cluster: schema, server, namespace and search attributes, then warroom', () => {
    expect(service('temporal').depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(service('temporal-setup').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    for (const name of ['warroom-api', 'warroom-worker']) {
      expect(service(name).depends_on, name).toEqual({ 'temporal-setup': { condition: 'service_completed_successfully' } });
    }
    expect(script('temporal-schema')).toMatch(/--db temporal update-schema/);
    expect(script('temporal-schema')).toMatch(/--db temporal_visibility update-schema/);

    const namespace = service('warroom-api').environment.TEMPORAL_NAMESPACE;
    const setup = script('temporal-setup');
    expect(setup).toContain(`namespace create --namespace ${namespace}`);
    expect(setup).toContain(`search-attribute create --namespace ${namespace}`);
    const registered = [...setup.matchAll(/--name (\w+) --type (\w+)/g)].map(([, name, type]) => `${name}:${type}`);
    expect(registered.sort()).toEqual(INCIDENT_SEARCH_ATTRIBUTES.map((attribute) => `${attribute.name}:Keyword`).sort());
  });

  it('runs the Temporal server with warroom’s dynamic config and the admin tools of its version', () => {
    const temporal = service('temporal');
    const mountedAt = (temporal.volumes as string[])
      .find((volume) => volume.startsWith('./deploy/temporal/dynamicconfig.yaml:'))
      ?.split(':')[1];
    expect(mountedAt).toBe(temporal.environment.DYNAMIC_CONFIG_FILE_PATH);
    const serverVersion = (temporal.image as string).split(':')[1];
    for (const name of ['temporal-schema', 'temporal-setup']) {
      expect(service(name).image, name).toMatch(new RegExp(`^temporalio/admin-tools:${serverVersion?.replaceAll('.', '\\.')}(-|$)`));
    }
  });

  it('runs the Temporal server version that npm run test:cluster proves', () => {
    expect(`v${(service('temporal').image as string).split(':')[1]}`).toBe(DEFAULT_TEMPORAL_SERVER_VERSION);
  });

  it('runs two workers, and an API healthy when Temporal answers, each given longer than its 15 s drain', () => {
    expect(service('warroom-worker').deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(service('warroom-worker').command).toContain('--role=worker');
    expect(service('warroom-api').command).toContain('--role=api');
    expect((service('warroom-api').healthcheck.test as string[]).join(' ')).toContain('/readyz');
    for (const name of ['warroom-api', 'warroom-worker']) {
      expect(seconds(service(name).stop_grace_period), name).toBeGreaterThan(15);
      expect(service(name).read_only, name).toBe(true);
    }
  });
});
