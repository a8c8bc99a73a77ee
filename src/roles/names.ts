// Role names and their config sections, in one place.
import { resolve, join } from 'node:path';
import type { Config } from '../config/schema.js';

export type RoleSection = Config['gateway'] | Config['hub'] | Config['onprem'][number];

export function roleNames(config: Config): string[] {
  return ['gateway', 'hub', ...config.onprem.map((o) => o.name)];
}

export function roleConfig(config: Config, role: string): RoleSection {
  if (role === 'gateway') return config.gateway;
  if (role === 'hub') return config.hub;
  const o = config.onprem.find((s) => s.name === role);
  if (!o) throw new Error(`no role named ${role} (known: ${roleNames(config).join(', ')})`);
  return o;
}

/** A role's data directory: its own `dataDir`, else `<config dataDir>/<role>`, relative to the config file. */
export function roleDataDir(config: Config, baseDir: string, role: string): string {
  const r = roleConfig(config, role);
  return r.dataDir ? resolve(baseDir, r.dataDir) : join(resolve(baseDir, config.dataDir), role);
}
