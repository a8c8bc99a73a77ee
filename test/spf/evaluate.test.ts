// checkSpf end to end: mailauth's evaluator, our raw client, a real DNS server on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer, type ZoneRecord } from '../../src/dns/server.js';
import type { Resolver } from '../../src/dns/types.js';
import { checkSpf } from '../../src/spf/evaluate.js';

const ZONE: ZoneRecord[] = [
  { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:192.0.2.0/24 include:filter.test exp=why.contoso.test -all' },
  { name: 'why.contoso.test', type: 'TXT', value: '%{i} is not one of %{d}\'s senders' },
  { name: 'filter.test', type: 'TXT', value: 'v=spf1 ip4:198.51.100.10 -all' },
  { name: 'soft.test', type: 'TXT', value: 'v=spf1 a ~all' },
  { name: 'soft.test', type: 'A', value: '203.0.113.5' },
  { name: 'open.test', type: 'TXT', value: 'v=spf1 ?all' },
  { name: 'plain.test', type: 'TXT', value: 'v=spf1 mx -all' },
  { name: 'plain.test', type: 'MX', value: { priority: 10, exchange: 'mx.plain.test' } },
  { name: 'mx.plain.test', type: 'A', value: '203.0.113.25' },
  { name: 'nospf.test', type: 'TXT', value: 'google-site-verification=abc' },
  // the record seed 003 recommends, with its typo
  { name: 'seed.test', type: 'TXT', value: 'v=spf1 ipv4: 10.10.10.1  include:spf.protection.outlook.com -all' },
  { name: 'slow.test', type: 'TXT', value: 'v=spf1 include:hang.test -all' },
  { name: 'gw.mail.test', type: 'TXT', value: 'v=spf1 a -all' },
  { name: 'gw.mail.test', type: 'A', value: '192.0.2.200' },
  { name: 'odd.test', type: 'TXT', value: 'v=spf1 exists:%{l}.list.odd.test -all' },
  { name: 'x y:z/w.list.odd.test', type: 'A', value: '127.0.0.2' },
];

describe('checkSpf over a loopback DNS server', () => {
  let server: DnsServer;
  let resolver: Resolver;
  before(async () => {
    server = await startDnsServer({ host: '127.0.0.1', port: 0, records: ZONE, silentNames: ['hang.test'] });
    resolver = createResolver({ servers: [server.address], timeoutMs: 300 });
  });
  after(() => server.close());

  const check = (ip: string, sender: string, helo = 'client.example', defaultExplanation?: string) =>
    checkSpf({ ip, sender, helo, resolver, defaultExplanation, receiverHost: 'mx.receiver.test' });

  test('pass through an ip4 term, and through an include', async () => {
    const direct = await check('192.0.2.7', 'alice@contoso.test');
    assert.equal(direct.result, 'pass');
    assert.equal(direct.explanation, null);
    assert.equal(direct.domain, 'contoso.test');
    const included = await check('198.51.100.10', 'alice@contoso.test');
    assert.equal(included.result, 'pass');
    assert.equal(included.lookups, 1);
  });

  test('fail uses the domain\'s exp= text, expanded', async () => {
    const r = await check('203.0.113.99', 'alice@contoso.test', 'client.example', 'DEFAULT');
    assert.equal(r.result, 'fail');
    assert.equal(r.explanation, "203.0.113.99 is not one of contoso.test's senders");
  });

  test('fail without exp= reports the default explanation', async () => {
    const r = await check('198.51.100.1', 'bob@plain.test', 'client.example', 'See https://example.test/spf');
    assert.equal(r.result, 'fail');
    assert.equal(r.explanation, 'See https://example.test/spf');
    assert.equal((await check('203.0.113.25', 'bob@plain.test')).result, 'pass');
  });

  test('softfail, neutral and none', async () => {
    assert.equal((await check('198.51.100.1', 'x@soft.test')).result, 'softfail');
    assert.equal((await check('203.0.113.5', 'x@soft.test')).result, 'pass');
    assert.equal((await check('198.51.100.1', 'x@open.test')).result, 'neutral');
    assert.equal((await check('198.51.100.1', 'x@nospf.test')).result, 'none');
    assert.equal((await check('198.51.100.1', 'x@nowhere.test')).result, 'none');
  });

  test('a syntax error anywhere in the record is permerror (RFC 7208 4.6)', async () => {
    const r = await check('10.10.10.1', 'x@seed.test');
    assert.equal(r.result, 'permerror');
    assert.equal(r.explanation, null);
  });

  test('an unanswered query is temperror', async () => {
    assert.equal((await check('198.51.100.1', 'x@slow.test')).result, 'temperror');
  });

  test('an empty sender checks the HELO identity', async () => {
    const pass = await check('192.0.2.200', '', 'gw.mail.test');
    assert.equal(pass.result, 'pass');
    assert.equal(pass.domain, 'gw.mail.test');
    assert.equal((await check('192.0.2.201', '', 'gw.mail.test', 'DEFAULT')).explanation, 'DEFAULT');
    assert.equal((await check('192.0.2.201', '', '')).result, 'none');
  });

  test('macro-expanded names with spaces and ":" are looked up as they are', async () => {
    assert.equal((await check('198.51.100.1', 'x y:z/w@odd.test')).result, 'pass');
    assert.equal((await check('198.51.100.1', 'other@odd.test')).result, 'fail');
  });
});
