// A role's filter settings with every default filled in, and whether the role filters at all.
import { filterSettingsSchema, type Config, type FilterSettings } from '../config/schema.js';
import { roleConfig } from '../roles/names.js';

export interface RoleFilterSettings extends FilterSettings {
  enabled: boolean;
}

/**
 * `filter.enabled` when the config says; otherwise the topology's answer: the gateway filters in
 * scenario 1 (`gateway.filtering`), the hub filters when the gateway does not (scenario 2, archiving),
 * on-prem servers leave filtering to the roles in front of them.
 */
export function filterSettingsFor(config: Config, role: string): RoleFilterSettings {
  const section = roleConfig(config, role);
  const settings = section.filter ?? filterSettingsSchema.parse({});
  const byTopology = role === 'gateway' ? config.gateway.filtering : role === 'hub' ? !config.gateway.filtering || config.scenario === 'archiving' : false;
  return { ...settings, enabled: settings.enabled ?? byTopology };
}
