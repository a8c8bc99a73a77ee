// The DNS memo (SPF and DMARC results): results stay exactly what a full evaluation gives,
// for no longer than the DNS answers behind them are cached. Against a real loopback DNS server,
// plus unit tests of the expiry rule on a fake resolver with a fake clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { DnsResult, RecordType, Resolver } from '../../src/dns/types.js';
import { authenticateMessage } from '../../src/filter/authenticate.js';
import { createDnsMemo, spfKey } from '../../src/filter/dns-memo.js';

const SENDER_IP = '192.0.2.10';
const body = 'Hello there.\r\n'.repeat(200);
const message = (extra = '') =>
  Buffer.from(`From: Alice <alice@fabrikam.test>\r\nTo: bob@contoso.test\r\nSubject: Numbers\r\n${extra}Message-ID: <m1@fabrikam.test>\r\n\r\n${body}`);

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    records: [
      { name: 'fabrikam.test', type: 'TXT', value: 'v=spf1 include:_spf.fabrikam.test -all' },
      { name: '_spf.fabrikam.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
      { name: '_dmarc.fabrikam.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
    ],
  });
});
after(async () => {
  await dns.close();
});
const auth = (resolver: Resolver, over: Partial<Parameters<typeof authenticateMessage>[0]> = {}) =>
  authenticateMessage({ message: message(), ip: SENDER_IP, helo: 'mx.fabrikam.test', sender: 'alice@fabrikam.test', resolver, authservId: 'gw.contoso.test', ...over });

describe('SPF memo', () => {
  test('a cached resolver: the second message from the same sender asks DNS nothing for SPF, with the same result and header', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000, cacheMs: 60_000 });
    const first = await auth(resolver);
    const asked = dns.queries.length;
    const second = await auth(resolver);
    assert.deepEqual(second.spf, first.spf);
    assert.equal(second.header, first.header);
    assert.equal(first.spf.result, 'pass');
    assert.equal(dns.queries.length, asked, 'nothing new went out');
    // another IP is another question: evaluated, and it fails
    const forged = await auth(resolver, { ip: '198.51.100.66' });
    assert.equal(forged.spf.result, 'fail');
    assert.equal(forged.dmarc.result, 'fail');
  });

  test('a resolver without a cache: every message is evaluated (nothing would bound the memo)', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000 });
    await auth(resolver);
    const before = dns.queries.filter((q) => q.name === '_spf.fabrikam.test').length;
    await auth(resolver);
    assert.equal(dns.queries.filter((q) => q.name === '_spf.fabrikam.test').length, before + 1);
  });
});

describe('DMARC memo', () => {
  const dmarcQueries = () => dns.queries.filter((q) => q.name.startsWith('_dmarc.')).length;

  test('the same From, SPF and DKIM outcome: the second message asks DNS nothing for DMARC, with the same result and header', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000, cacheMs: 60_000 });
    const first = await auth(resolver);
    const asked = dmarcQueries();
    const second = await auth(resolver);
    assert.equal(first.dmarc.result, 'pass');
    assert.deepEqual(second.dmarc, first.dmarc);
    assert.equal(second.header, first.header);
    assert.equal(dmarcQueries(), asked, 'nothing new went out');
    // a failing SPF is another input: evaluated on its own, and DMARC fails with p=reject
    const forged = await auth(resolver, { ip: '198.51.100.66' });
    assert.equal(forged.dmarc.result, 'fail');
    assert.equal(forged.dmarc.policy, 'reject');
    // and the passing one is still remembered as it was
    assert.deepEqual((await auth(resolver)).dmarc, first.dmarc);
  });

  test('the From is part of the key: another author domain is evaluated, not given the first one\'s result', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000, cacheMs: 60_000 });
    const first = await auth(resolver);
    const other = await authenticateMessage({
      message: Buffer.from(`From: Mallory <m@northwind.test>\r\nTo: bob@contoso.test\r\nSubject: x\r\nMessage-ID: <m2@northwind.test>\r\n\r\nhi\r\n`),
      ip: SENDER_IP,
      helo: 'mx.fabrikam.test',
      sender: 'alice@fabrikam.test',
      resolver,
      authservId: 'gw.contoso.test',
    });
    assert.equal(first.dmarc.domain, 'fabrikam.test');
    assert.equal(other.dmarc.domain, 'northwind.test');
    assert.equal(other.dmarc.result, 'none', 'northwind.test publishes no DMARC record');
  });

  test('a resolver without a cache: every message is evaluated', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000 });
    await auth(resolver);
    const before = dmarcQueries();
    await auth(resolver);
    assert.ok(dmarcQueries() > before);
  });
});

/** A resolver answering every TXT from a table, with expiries we set, and a count of queries. */
function fakeResolver(expiry: Map<string, number | undefined>) {
  let queries = 0;
  const r: Resolver = {
    async query<T extends RecordType>(name: string): Promise<DnsResult<T>> {
      queries++;
      return { status: 'ok', answers: [[`v=spf1 -all ${name}`]] } as DnsResult<T>;
    },
    cachedUntil: (name) => expiry.get(name),
  };
  return { r, queries: () => queries };
}
const key = { ip: '192.0.2.1', sender: 'a@x.test', helo: 'h.x.test', authservId: 'gw' };

describe('SPF memo expiry', () => {
  test('an entry lives until the earliest expiry among the answers consulted', async () => {
    let now = 1000;
    const expiry = new Map<string, number | undefined>([['x.test', 5000], ['inc.x.test', 3000]]);
    const { r, queries } = fakeResolver(expiry);
    const memo = createDnsMemo<string>(r, { now: () => now });
    const evaluate = async (res: Resolver) => {
      await res.query('x.test', 'TXT');
      await res.query('inc.x.test', 'TXT');
      return `result@${now}`;
    };
    assert.equal(await memo.check(spfKey(key), evaluate), 'result@1000');
    now = 2999;
    assert.equal(await memo.check(spfKey(key), evaluate), 'result@1000', 'remembered');
    assert.equal(queries(), 2);
    now = 3000;
    assert.equal(await memo.check(spfKey(key), evaluate), 'result@3000', 'the earliest answer expired: evaluated again');
    assert.equal(queries(), 4);
    // the exact strings are the key: a different HELO is evaluated on its own
    now = 3001;
    expiry.set('inc.x.test', 9000);
    assert.equal(await memo.check(spfKey({ ...key, helo: 'H.x.test' }), evaluate), 'result@3001');
  });

  test('an answer the resolver does not hold (a temporary failure) makes the result unremembered', async () => {
    const { r } = fakeResolver(new Map([['x.test', 5000]]));
    const memo = createDnsMemo<number>(r, { now: () => 0 });
    let runs = 0;
    const evaluate = async (res: Resolver) => {
      await res.query('x.test', 'TXT');
      await res.query('gone.x.test', 'TXT');
      return ++runs;
    };
    assert.equal(await memo.check(spfKey(key), evaluate), 1);
    assert.equal(await memo.check(spfKey(key), evaluate), 2);
    assert.equal(memo.size, 0);
    // nothing consulted (no DNS involved): not remembered either
    assert.equal(await memo.check(spfKey(key), async () => ++runs), 3);
    assert.equal(await memo.check(spfKey(key), async () => ++runs), 4);
  });

  test('a resolver that cannot say how long it keeps answers: always evaluated', async () => {
    const r: Resolver = { query: async <T extends RecordType>() => ({ status: 'nxdomain' }) as DnsResult<T> };
    const memo = createDnsMemo<number>(r);
    let runs = 0;
    await memo.check(spfKey(key), async () => ++runs);
    await memo.check(spfKey(key), async () => ++runs);
    assert.equal(runs, 2);
  });

  test('the memo is bounded: past maxEntries it starts over', async () => {
    const { r } = fakeResolver(new Map([['x.test', 5000]]));
    const memo = createDnsMemo<number>(r, { now: () => 0, maxEntries: 3 });
    for (let i = 0; i < 5; i++) await memo.check(spfKey({ ...key, ip: `192.0.2.${i}` }), async (res) => (await res.query('x.test', 'TXT'), i));
    assert.ok(memo.size <= 3, `size ${memo.size}`);
  });
});
