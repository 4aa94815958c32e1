/** StatusCast: the API token works and every monitor's components exist. */
import { createStatusCastApi } from '../activities/statuscast.js';
import type { Config, StatusPageMonitor } from '../config.js';
import { fail, notConfiguredGroup, ok, warn, type CheckGroup, type DoctorOptions, type Finding } from './check.js';

interface Component {
  id: number;
  name?: string | null;
}

export function statusCastChecks(config: Config, options: DoctorOptions): CheckGroup {
  const settings = config.statuscast;
  if (!settings) return notConfiguredGroup('StatusCast', 'STATUSCAST_URL and STATUSCAST_API_TOKEN');
  const api = createStatusCastApi(settings, { timeoutMs: options.timeoutMs });
  let components: Component[] = [];

  return {
    name: 'StatusCast',
    where: settings.url,
    checks: [
      {
        name: 'API token',
        async run() {
          const answer = await api.send('GET', '/api/v4/components');
          if (answer.status !== 200) throw api.failure(answer, 'GET /api/v4/components');
          components = Array.isArray(answer.body) ? (answer.body as Component[]) : [];
          return ok(`the token works (it read ${components.length} component${components.length === 1 ? '' : 's'})`);
        },
      },
      { name: 'monitor components', needs: 'API token', run: async () => monitorsFinding(settings.monitors, components) },
    ],
  };
}

/** Every component id a monitor template names is one of the status page's components. */
function monitorsFinding(monitors: readonly StatusPageMonitor[], components: readonly Component[]): Finding {
  if (monitors.length === 0) {
    return warn('no monitor templates: no incident reaches the status page', 'set STATUSCAST_MONITORS_FILE (see examples/monitors.yaml)');
  }
  const known = new Set(components.map((component) => component.id));
  const unknown = monitors.flatMap((monitor) =>
    monitor.affectedComponents.filter((id) => !known.has(id)).map((id) => `${monitor.name}: component ${id}`),
  );
  if (unknown.length > 0) {
    const existing = components.map((component) => `${component.id} ${component.name ?? ''}`.trim()).join(', ');
    return fail(
      `no such component: ${unknown.join(', ')}`,
      `use ids the status page has (${existing || 'none'}) in STATUSCAST_MONITORS_FILE`,
    );
  }
  const used = new Set(monitors.flatMap((monitor) => monitor.affectedComponents));
  return ok(`${monitors.length} monitors; their ${used.size} components exist`);
}
