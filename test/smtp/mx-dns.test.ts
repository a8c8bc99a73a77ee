// Next-hop selection against the real loopback DNS server, through the real resolver client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { Resolver } from '../../src/dns/types.js';
import { mxFailureReply, resolveHost, resolveNextHops, type NextHop } from '../../src/smtp/outbound/mx.js';

let server: DnsServer;
let resolver: Resolver;

before(async () => {
  server = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    records: [
      { name: 'contoso.test', type: 'MX', value: { priority: 20, exchange: 'backup.contoso.test' } },
      { name: 'contoso.test', type: 'MX', value: { priority: 10, exchange: 'mx.gateway.test' } },
      { name: 'mx.gateway.test', type: 'A', value: '127.0.0.2' },
      { name: 'backup.contoso.test', type: 'A', value: '127.0.0.3' },
      { name: 'backup.contoso.test', type: 'AAAA', value: '::1' },
      { name: 'nullmx.test', type: 'MX', value: { priority: 0, exchange: '.' } },
      { name: 'implicit.test', type: 'A', value: '127.0.0.4' },
      { name: 'dangling.test', type: 'MX', value: { priority: 10, exchange: 'nohost.dangling.test' } },
      { name: 'slow.test', type: 'MX', value: { priority: 10, exchange: 'mx.slow.test' } },
      { name: 'smarthost.onprem.test', type: 'A', value: '127.0.0.5' },
    ],
    silentNames: ['mx.slow.test', 'timeout.test'],
  });
  resolver = createResolver({ servers: [server.address], timeoutMs: 300 });
});

after(async () => {
  await server.close();
});

test('MX hosts in preference order with their addresses', async () => {
  const r = await resolveNextHops(resolver, 'contoso.test', 2525);
  assert.ok(Array.isArray(r), JSON.stringify(r));
  assert.deepEqual(
    (r as NextHop[]).map((h) => [h.host, h.name, h.priority, h.port]),
    [
      ['127.0.0.2', 'mx.gateway.test', 10, 2525],
      ['127.0.0.3', 'backup.contoso.test', 20, 2525],
      ['::1', 'backup.contoso.test', 20, 2525],
    ],
  );
});

test('null MX, implicit MX, NXDOMAIN and a dangling MX over real DNS', async () => {
  const nullMx = await resolveNextHops(resolver, 'nullmx.test', 25);
  assert.ok(!Array.isArray(nullMx) && nullMx.kind === 'null-mx', JSON.stringify(nullMx));
  assert.equal(mxFailureReply(nullMx).enhanced, '5.1.10');

  const implicit = await resolveNextHops(resolver, 'implicit.test', 25);
  assert.deepEqual(implicit, [{ host: '127.0.0.4', port: 25, name: 'implicit.test', priority: 0 }]);

  const nx = await resolveNextHops(resolver, 'nosuchdomain.test', 25);
  assert.ok(!Array.isArray(nx) && nx.kind === 'nxdomain', JSON.stringify(nx));

  const dangling = await resolveNextHops(resolver, 'dangling.test', 25);
  assert.ok(!Array.isArray(dangling) && dangling.kind === 'no-address', JSON.stringify(dangling));
});

test('a DNS timeout is a temporary failure (4.4.312)', async () => {
  const slow = await resolveNextHops(resolver, 'slow.test', 25);
  assert.ok(!Array.isArray(slow) && slow.kind === 'temporary', JSON.stringify(slow));
  assert.equal(mxFailureReply(slow).enhanced, '4.4.312');
  const host = await resolveHost(resolver, 'timeout.test');
  assert.ok(!Array.isArray(host) && host.kind === 'temporary', JSON.stringify(host));
});

test('smart host lookup', async () => {
  assert.deepEqual(await resolveHost(resolver, 'smarthost.onprem.test'), ['127.0.0.5']);
  assert.deepEqual(await resolveHost(resolver, '127.0.0.9'), ['127.0.0.9']);
});
