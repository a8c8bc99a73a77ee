// Unit tests for next-hop selection with a declarative fake Resolver (integration against the real DNS
// server and client is in mx-dns.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsResult, MxRecord, RecordType, Resolver } from '../../src/dns/types.js';
import { mxFailureReply, orderMx, resolveHost, resolveNextHops, type NextHop } from '../../src/smtp/outbound/mx.js';

type Zone = Record<string, Partial<Record<RecordType, unknown[] | 'nxdomain' | 'servfail' | 'timeout'>>>;

function fakeResolver(zone: Zone): Resolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      calls.push(`${name} ${type}`);
      const node = zone[name];
      if (!node) return { status: 'nxdomain' };
      const v = node[type];
      if (v === 'nxdomain') return { status: 'nxdomain' };
      if (v === 'servfail' || v === 'timeout') return { status: v, message: `fake ${v}` };
      if (!v || v.length === 0) return { status: 'nodata' };
      return { status: 'ok', answers: v } as DnsResult<T>;
    },
  };
}

const hops = (r: unknown): NextHop[] => {
  assert.ok(Array.isArray(r), `expected hops, got ${JSON.stringify(r)}`);
  return r as NextHop[];
};

test('MX records in preference order, each exchange resolved, A before AAAA', async () => {
  const r = fakeResolver({
    'example.test': { MX: [{ priority: 20, exchange: 'mx2.example.test' }, { priority: 10, exchange: 'mx1.example.test' }] as MxRecord[] },
    'mx1.example.test': { A: ['127.0.0.11'], AAAA: ['::1'] },
    'mx2.example.test': { A: ['127.0.0.12'] },
  });
  const got = hops(await resolveNextHops(r, 'Example.TEST.', 25));
  assert.deepEqual(got, [
    { host: '127.0.0.11', port: 25, name: 'mx1.example.test', priority: 10 },
    { host: '::1', port: 25, name: 'mx1.example.test', priority: 10 },
    { host: '127.0.0.12', port: 25, name: 'mx2.example.test', priority: 20 },
  ]);
  const v4 = hops(await resolveNextHops(r, 'example.test', 2525, { ipv6: false }));
  assert.deepEqual(v4.map((h) => h.host), ['127.0.0.11', '127.0.0.12']);
});

test('equal preferences are shuffled by the injected random source', async () => {
  const records = [1, 2, 3].map((i) => ({ priority: 10, exchange: `mx${i}.t` }));
  assert.deepEqual(orderMx(records, () => 0.999).map((r) => r.exchange), ['mx1.t', 'mx2.t', 'mx3.t']);
  assert.deepEqual(orderMx(records, () => 0).map((r) => r.exchange), ['mx2.t', 'mx3.t', 'mx1.t']);
  const mixed = orderMx([{ priority: 5, exchange: 'b' }, { priority: 1, exchange: 'a' }, { priority: 5, exchange: 'c' }], () => 0);
  assert.equal(mixed[0]!.exchange, 'a', 'preference always wins over shuffling');
});

test('null MX (RFC 7505) is a permanent null-mx failure', async () => {
  for (const exchange of ['', '.']) {
    const r = fakeResolver({ 'nomail.test': { MX: [{ priority: 0, exchange }] } });
    const got = await resolveNextHops(r, 'nomail.test', 25);
    assert.ok(!Array.isArray(got) && got.kind === 'null-mx');
    const rep = mxFailureReply(got);
    assert.deepEqual([rep.code, rep.enhanced], [556, '5.1.10']);
    assert.ok(!r.calls.some((c) => c.endsWith(' A')), 'no address lookups for a null MX');
  }
});

test('no MX records: implicit MX on the domain itself', async () => {
  const r = fakeResolver({ 'plain.test': { A: ['127.0.0.5'] } });
  assert.deepEqual(hops(await resolveNextHops(r, 'plain.test', 25)), [{ host: '127.0.0.5', port: 25, name: 'plain.test', priority: 0 }]);
  const none = await resolveNextHops(fakeResolver({ 'empty.test': {} }), 'empty.test', 25);
  assert.ok(!Array.isArray(none) && none.kind === 'no-address');
  assert.equal(mxFailureReply(none).enhanced, '5.4.4');
});

test('NXDOMAIN for the domain is permanent; temporary DNS trouble is 4.4.312', async () => {
  const nx = await resolveNextHops(fakeResolver({}), 'missing.test', 25);
  assert.ok(!Array.isArray(nx) && nx.kind === 'nxdomain');
  assert.equal(mxFailureReply(nx).code, 550);
  const tmp = await resolveNextHops(fakeResolver({ 'flaky.test': { MX: 'servfail' } }), 'flaky.test', 25);
  assert.ok(!Array.isArray(tmp) && tmp.kind === 'temporary');
  assert.deepEqual([mxFailureReply(tmp).code, mxFailureReply(tmp).enhanced], [450, '4.4.312']);
});

test('exchanges that fail are skipped; all failing is temporary if any failure was temporary', async () => {
  const some = fakeResolver({
    'd.test': { MX: [{ priority: 1, exchange: 'gone.d.test' }, { priority: 2, exchange: 'ok.d.test' }] },
    'ok.d.test': { A: ['127.0.0.9'] },
  });
  assert.deepEqual(hops(await resolveNextHops(some, 'd.test', 25)).map((h) => h.name), ['ok.d.test']);
  const temp = fakeResolver({
    'd.test': { MX: [{ priority: 1, exchange: 'gone.d.test' }, { priority: 2, exchange: 'slow.d.test' }] },
    'slow.d.test': { A: 'timeout' },
  });
  const t = await resolveNextHops(temp, 'd.test', 25);
  assert.ok(!Array.isArray(t) && t.kind === 'temporary');
  const perm = fakeResolver({ 'd.test': { MX: [{ priority: 1, exchange: 'gone.d.test' }] } });
  const p = await resolveNextHops(perm, 'd.test', 25);
  assert.ok(!Array.isArray(p) && p.kind === 'no-address');
});

test('duplicate exchanges and addresses are tried once; a stray "." among MXes is ignored', async () => {
  const r = fakeResolver({
    'dup.test': {
      MX: [
        { priority: 30, exchange: 'MX.dup.test.' },
        { priority: 10, exchange: 'mx.dup.test' },
        { priority: 20, exchange: 'alias.dup.test' },
        { priority: 0, exchange: '.' },
      ],
    },
    'mx.dup.test': { A: ['127.0.0.7'] },
    'alias.dup.test': { A: ['127.0.0.7', '127.0.0.8'] },
  });
  assert.deepEqual(
    hops(await resolveNextHops(r, 'dup.test', 25)).map((h) => [h.host, h.priority]),
    [
      ['127.0.0.7', 10],
      ['127.0.0.8', 20],
    ],
  );
});

test('domain literals and IP smart hosts pass through without DNS', async () => {
  const r = fakeResolver({});
  assert.deepEqual(hops(await resolveNextHops(r, '[127.0.0.3]', 2525)), [{ host: '127.0.0.3', port: 2525, name: '127.0.0.3', priority: 0 }]);
  assert.deepEqual(await resolveHost(r, '127.0.0.4'), ['127.0.0.4']);
  assert.deepEqual(await resolveHost(r, '[IPv6:::1]'), ['::1']);
  assert.deepEqual(r.calls, []);
});

test('resolveHost: addresses, nxdomain, no-address, temporary', async () => {
  const r = fakeResolver({ 'smart.test': { A: ['127.0.0.20'], AAAA: ['::1'] }, 'v6less.test': {}, 'slow.test': { A: 'timeout' } });
  assert.deepEqual(await resolveHost(r, 'smart.test'), ['127.0.0.20', '::1']);
  assert.equal((await resolveHost(r, 'nope.test') as { kind: string }).kind, 'nxdomain');
  assert.equal((await resolveHost(r, 'v6less.test') as { kind: string }).kind, 'no-address');
  assert.equal((await resolveHost(r, 'slow.test') as { kind: string }).kind, 'temporary');
});
