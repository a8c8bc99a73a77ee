// MX and delivery target: the gateway is the only way in (seed 000/003 step 3, inventory rules 1 and 10).
import { parseEndpoint } from '../../config/schema.js';
import { roleOfTarget } from '../topology.js';
import { defineRule } from '../types.js';

const TEMPORARY = new Set(['timeout', 'servfail', 'refused', 'error']);

export const mxPointsToGateway = defineRule(
  {
    id: 'mx-points-to-gateway',
    title: 'MX of every accepted domain points only at the gateway',
    source: 'seeds 000/003 ("Point your MX record to your third-party service"); inventory rule 1',
    severities: ['error'],
    dns: true,
  },
  ({ config, dns }, emit) => {
    const gw = norm(config.gateway.hostname);
    config.domains.forEach((d, i) => {
      const r = dns!.get(d.name, 'MX');
      if (!r || TEMPORARY.has(r.status)) return; // reported by dns-lookup-failed
      const fix = `publish "${d.name}. MX 10 ${gw}." and nothing else`;
      if (r.status !== 'ok' || r.answers.length === 0) {
        emit('error', ['domains', i, 'name'], `${d.name} has no MX record, so senders fall back to its A record and never reach the gateway (seeds: the MX must point to the third-party service); ${fix}`);
        return;
      }
      for (const mx of r.answers) {
        const host = norm(mx.exchange);
        if (host === gw) continue;
        const role = roleOfTarget(config, host);
        const what =
          role === 'hub'
            ? 'the hub: internet mail would skip the gateway\'s filtering'
            : role && role !== 'gateway'
              ? `on-prem server ${role}: internet mail would skip both the gateway and the hub`
              : host === '' ? 'nothing (null MX): the domain refuses all mail' : 'a host that is not the gateway';
        emit('error', ['domains', i, 'name'], `MX ${mx.priority} ${host || '.'} of ${d.name} points at ${what} (seeds and rule 1: the MX points only to the third-party service); ${fix}`);
      }
    });
  },
);

export const dnsLookupFailed = defineRule(
  {
    id: 'dns-lookup-failed',
    title: 'DNS answered every lookup the DNS rules need',
    source: 'checker operation',
    severities: ['warning'],
    dns: true,
  },
  ({ dns }, emit) => {
    const all = dns!.all();
    const failed = all.filter((l) => TEMPORARY.has(l.result.status));
    if (!failed.length) return;
    const why = (l: (typeof failed)[number]) => `${l.name} ${l.type}: ${l.result.status}${'message' in l.result ? ` (${l.result.message})` : ''}`;
    if (failed.length === all.length) {
      emit('warning', ['dns', 'servers'], `no DNS lookup succeeded (${why(failed[0]!)}), so the published MX, SPF, DKIM and DMARC records were not checked; point --dns or dns.servers at a server that answers for your zones`);
      return;
    }
    for (const l of failed) emit('warning', ['dns', 'servers'], `lookup failed, the rules that need it were skipped: ${why(l)}; retry or check the DNS server`);
  },
);

export const gatewayDeliversToHub = defineRule(
  {
    id: 'gateway-delivers-to-hub',
    title: 'The gateway delivers to the hub\'s own MX host',
    source: 'inventory rule 10 (third party delivers to the tenant\'s exact MX host)',
    severities: ['error', 'warning'],
  },
  ({ config }, emit) => {
    const target = config.gateway.deliverTo;
    if (!target) return;
    const host = norm(parseEndpoint(target, config.smtpPort)?.host ?? target);
    if (target === 'hub' || host === norm(config.hub.hostname) || config.hub.addresses.includes(host)) return;
    const role = config.onprem.find((o) => o.name === target || norm(o.hostname) === host)?.name ?? (host === norm(config.gateway.hostname) ? 'gateway' : undefined);
    if (role === 'gateway') {
      emit('error', ['gateway', 'deliverTo'], `gateway.deliverTo ${target} is the gateway itself: inbound mail would loop; set it to the hub's MX host ${config.hub.hostname}`);
    } else if (role) {
      emit('warning', ['gateway', 'deliverTo'], `gateway.deliverTo ${target} is on-prem server ${role}: the seeds route internet → third party → hub → on-prem, so cloud mailboxes would not get their mail through the hub; set it to ${config.hub.hostname}`);
    } else {
      emit('warning', ['gateway', 'deliverTo'], `gateway.deliverTo ${target} is not the hub's host name ${config.hub.hostname} (rule 10: the third party delivers to the tenant's exact MX host, a per-domain value from the admin center); use the hub's host name unless you know this name reaches it`);
    }
  },
);

function norm(h: string): string {
  return h.toLowerCase().replace(/\.$/, '');
}
