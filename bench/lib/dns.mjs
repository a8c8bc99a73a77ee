// A loopback DNS server for the bench zone (mailflow's own, from dist/): the gateway's and the hub's
// filtering evaluates SPF/DKIM/DMARC on every message, and without `dns.servers` it would ask the
// system resolver, off loopback. Every name outside the zone gets NXDOMAIN from here.
import { ADDR, DNS_PORT } from './topology.mjs';

export async function startBenchDns() {
  const { startDnsServer } = await import(new URL('../../dist/src/dns/server.js', import.meta.url).href);
  return startDnsServer({
    host: ADDR.dns,
    port: DNS_PORT,
    records: [
      // smtp-source and the latency client connect from 127.0.0.1: SPF passes for the bench sender
      { name: 'bench.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.0/24 -all' },
      { name: '_dmarc.bench.test', type: 'TXT', value: 'v=DMARC1; p=none' },
      { name: 'bench.test', type: 'MX', value: { priority: 10, exchange: 'mx.gateway.bench.test' } },
      { name: 'mx.gateway.bench.test', type: 'A', value: ADDR.gateway },
      { name: 'hub.bench.test', type: 'A', value: ADDR.hub },
      { name: 'mail.bench.test', type: 'A', value: ADDR.onprem },
    ],
  });
}
