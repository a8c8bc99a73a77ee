// The zones the demo's loopback DNS server serves: our planned records, the roles' host names,
// the hub's SPF include domain, and the external domains the internet stand-in receives for.
import { isIP } from 'node:net';
import { parseEndpoint, type Config } from '../config/schema.js';
import { planRecords, roleHosts, type PlannedRecord, type PlanOptions } from './plan.js';
import type { ZoneRecord } from './zone.js';

export function demoZoneRecords(config: Config, opts: PlanOptions = {}): ZoneRecord[] {
  const out: ZoneRecord[] = [];
  const add = (r: ZoneRecord) => {
    const key = zoneKey(r);
    if (!out.some((o) => zoneKey(o) === key)) out.push(r);
  };
  // A placeholder DKIM key is not a record anyone should serve; `dns verify` reports it missing.
  for (const p of planRecords(config, opts)) if (!p.incomplete) add(toZoneRecord(p));
  for (const host of roleHosts(config)) for (const ip of host.addresses) add(addressRecord(host.hostname, ip));
  if (config.demo?.hubSpf && config.hub.spfInclude) add({ name: config.hub.spfInclude, type: 'TXT', value: config.demo.hubSpf });
  const internet = config.demo?.internet;
  const internetHost = internet ? parseEndpoint(internet.listen)?.host : undefined;
  if (internet && internetHost) {
    add(addressRecord(internet.hostname, internetHost));
    for (const domain of config.demo?.externalDomains ?? []) {
      add({ name: domain, type: 'MX', value: { priority: 10, exchange: internet.hostname } });
      add({ name: domain, type: 'TXT', value: `v=spf1 ${isIP(internetHost) === 6 ? 'ip6' : 'ip4'}:${internetHost} -all` });
    }
  }
  return out;
}

export function toZoneRecord(p: PlannedRecord): ZoneRecord {
  if (p.type === 'MX') {
    const [priority, exchange] = p.value.split(/\s+/);
    return { name: p.name, type: 'MX', value: { priority: Number(priority), exchange: exchange ?? '' } };
  }
  return { name: p.name, type: p.type, value: p.value };
}

function addressRecord(name: string, ip: string): ZoneRecord {
  return { name, type: isIP(ip) === 6 ? 'AAAA' : 'A', value: ip };
}

function zoneKey(r: ZoneRecord): string {
  return `${r.name.toLowerCase().replace(/\.$/, '')} ${r.type} ${JSON.stringify(r.value)}`;
}
