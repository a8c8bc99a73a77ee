import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer } from '../../src/dns/server.js';

test('cacheMs keeps answers for a while (the roles use it); without it every query goes out', async () => {
  const dns = await startDnsServer({ host: '127.0.0.1', port: 0, records: [{ name: 'contoso.test', type: 'TXT', value: 'v=spf1 -all' }] });
  try {
    const cached = createResolver({ servers: [dns.address], timeoutMs: 1000, cacheMs: 60_000 });
    for (let i = 0; i < 5; i++) assert.equal((await cached.query('contoso.test', 'TXT')).status, 'ok');
    assert.equal(dns.queries.length, 1, 'one query for five lookups');
    const plain = createResolver({ servers: [dns.address], timeoutMs: 1000 });
    for (let i = 0; i < 3; i++) await plain.query('Contoso.test', 'TXT');
    assert.equal(dns.queries.length, 4);
    // A zero lifetime is no cache at all.
    const none = createResolver({ servers: [dns.address], timeoutMs: 1000, cacheMs: 0 });
    await none.query('contoso.test', 'TXT');
    await none.query('contoso.test', 'TXT');
    assert.equal(dns.queries.length, 6);
  } finally {
    await dns.close();
  }
});
