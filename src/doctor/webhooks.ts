/**
 * Webhooks: every source's endpoint checks what arrives (a signature or a token). An endpoint
 * with no secret set is open: anyone who can reach it can open and resolve incidents.
 */
import type { z } from 'zod';
import type { Config } from '../config.js';
import { secretPartsOf } from '../env.js';
import { SOURCE_REGISTRY, type Source } from '../sources/index.js';
import { ok, warn, type CheckGroup, type Finding } from './check.js';

export function webhookChecks(config: Config, env: Record<string, string | undefined>): CheckGroup {
  const sources: readonly Source[] = SOURCE_REGISTRY;
  return {
    name: 'Webhooks',
    checks: sources.map((source) => ({
      name: source.path,
      run: async () => protection(source, (config.sources as Record<string, unknown>)[source.name], env),
    })),
  };
}

function protection(source: Source, settings: unknown, env: Record<string, string | undefined>): Finding {
  const names = secretNames(source);
  const set = names.filter((name) => env[name]?.trim());
  if (set.length === 0) {
    const unset = names.length === 1 ? `${names[0]} is unset` : `none of ${names.join(', ')} is set`;
    return warn(`open: ${unset}, so anyone who can reach it can open and resolve incidents`, `set ${names.join(' or ')}`);
  }
  const open = source.unchecked?.(settings);
  if (open) return warn(`${source.label}: ${open}`);
  return ok(`${source.label} deliveries are checked (${set.join(', ')})`);
}

/** The source's variables that hold secrets (marked with `secret()`). */
function secretNames(source: Source): string[] {
  return Object.entries(source.variables as Record<string, z.ZodType>)
    .filter(([, field]) => secretPartsOf(field, '') !== undefined)
    .map(([name]) => name);
}
