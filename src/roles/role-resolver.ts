// The DNS a role's filters and delivery use, and its filter threads, built from the config alone, so
// the session thread builds the same ones as the role's event loop.
import type { Config } from '../config/schema.js';
import { createResolver } from '../dns/client.js';
import type { Resolver } from '../dns/types.js';
import { sharedFilterThreads, type FilterThreads } from '../filter/threads/pool.js';
import { filterSettingsFor } from '../filter/settings.js';

/** The roles' DNS answer cache: the filters ask for the same SPF/DMARC records for every message of a sender. */
export const ROLE_DNS_CACHE_MS = 30_000;

export function roleResolver(config: Config): Resolver {
  return createResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeout, cacheMs: ROLE_DNS_CACHE_MS });
}

/** The filter threads a role's filters hand large messages to, if it filters and has threads configured. */
export function roleFilterThreads(config: Config, role: string): FilterThreads | undefined {
  const s = filterSettingsFor(config, role);
  const work = s.enabled || (role === 'hub' && s.authenticate);
  if (!work || s.threads === 0) return undefined;
  return sharedFilterThreads({ threads: s.threads, dns: { servers: config.dns.servers, timeoutMs: config.dns.timeout, cacheMs: ROLE_DNS_CACHE_MS } });
}
