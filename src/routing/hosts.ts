// Turning a configured next hop (a role name, a host name, host:port) into the host the role connects to.
import type { Config } from '../config/schema.js';
import { parseEndpoint } from '../config/schema.js';

export interface HostRef {
  host: string;
  port: number;
  /** The role that listens there, when the host is one of ours. */
  role?: string;
}

export function roleHostnames(config: Config): Map<string, string> {
  const m = new Map<string, string>([
    ['gateway', config.gateway.hostname.toLowerCase()],
    ['hub', config.hub.hostname.toLowerCase()],
  ]);
  for (const o of config.onprem) m.set(o.name, o.hostname.toLowerCase());
  return m;
}

/** Which role owns a host name, if any. */
export function roleOfHost(config: Config, host: string): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  for (const [role, name] of roleHostnames(config)) if (name === h) return role;
  if (config.gateway.deliverTo && h === config.gateway.deliverTo.toLowerCase()) return 'hub';
  return undefined;
}

export function resolveHostRef(config: Config, target: string): HostRef {
  const byRole = roleHostnames(config).get(target);
  if (byRole) return { host: byRole, port: config.smtpPort, role: target };
  const ep = parseEndpoint(target, config.smtpPort) ?? { host: target, port: config.smtpPort };
  return { ...ep, role: roleOfHost(config, ep.host) };
}

/** The name a role's certificate carries, which hub connectors match: `tls.subject`, else its host name. */
export function certificateName(role: { hostname: string; tls: { subject?: string } }): string {
  return role.tls.subject ?? role.hostname;
}
