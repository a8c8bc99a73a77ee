// The test/demo DNS server, queried with raw dns-packet messages over real loopback sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer, MxData, TxtAnswer } from 'dns-packet';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type ZoneRecord } from '../../src/dns/server.js';
import { rawQuery, txtOf, withDnsServer } from '../helpers/dns.js';

const LONG_KEY = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' + 'x'.repeat(520);

const dataOf = (a: Answer): unknown => (a as { data?: unknown }).data;

const records: ZoneRecord[] = [
  { name: 'contoso.test', type: 'MX', value: { priority: 10, exchange: 'mx.gateway.demo.test' } },
  { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.2 -all' },
  { name: 'Mail.Contoso.Test', type: 'A', value: '127.0.0.4' },
  { name: 'mail.contoso.test', type: 'AAAA', value: '::1' },
  { name: 'hub1._domainkey.contoso.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${LONG_KEY}` },
  { name: 'autodiscover.contoso.test', type: 'CNAME', value: 'mail.contoso.test' },
  { name: 'loop1.contoso.test', type: 'CNAME', value: 'loop2.contoso.test' },
  { name: 'loop2.contoso.test', type: 'CNAME', value: 'loop1.contoso.test' },
  { name: 'split.contoso.test', type: 'TXT', value: ['part one ', 'part two'] },
];

describe('DNS server', () => {
  it('answers A and MX authoritatively, with names matched case-insensitively', async () => {
    await withDnsServer(records, async (server) => {
      const a = await rawQuery(server, 'MAIL.contoso.TEST', 'A');
      assert.equal(a.packet.rcode, 'NOERROR');
      assert.equal(a.packet.flag_aa, true);
      assert.equal(a.packet.id, 4242);
      assert.deepEqual(a.packet.answers?.map(dataOf), ['127.0.0.4']);
      const mx = await rawQuery(server, 'contoso.test', 'MX');
      const data = dataOf(mx.packet.answers![0]!) as MxData;
      assert.deepEqual({ preference: data.preference, exchange: data.exchange }, { preference: 10, exchange: 'mx.gateway.demo.test' });
    });
  });

  it('answers NXDOMAIN for unknown names and NODATA for known names or empty non-terminals', async () => {
    await withDnsServer(records, async (server) => {
      const nx = await rawQuery(server, 'nobody.contoso.test', 'A');
      assert.equal(nx.packet.rcode, 'NXDOMAIN');
      assert.equal(nx.packet.answers?.length, 0);
      const nodata = await rawQuery(server, 'contoso.test', 'A');
      assert.equal(nodata.packet.rcode, 'NOERROR');
      assert.equal(nodata.packet.answers?.length, 0);
      const ent = await rawQuery(server, '_domainkey.contoso.test', 'TXT');
      assert.equal(ent.packet.rcode, 'NOERROR');
      assert.equal(ent.packet.answers?.length, 0);
    });
  });

  it('answers CNAME for other types and follows it inside the zone', async () => {
    await withDnsServer(records, async (server) => {
      const r = await rawQuery(server, 'autodiscover.contoso.test', 'A');
      assert.deepEqual(
        r.packet.answers?.map((x) => [x.name, x.type, dataOf(x)]),
        [
          ['autodiscover.contoso.test', 'CNAME', 'mail.contoso.test'],
          ['mail.contoso.test', 'A', '127.0.0.4'],
        ],
      );
      const c = await rawQuery(server, 'autodiscover.contoso.test', 'CNAME');
      assert.deepEqual(c.packet.answers?.map(dataOf), ['mail.contoso.test']);
      const loop = await rawQuery(server, 'loop1.contoso.test', 'A');
      assert.equal(loop.packet.rcode, 'NOERROR');
      assert.ok((loop.packet.answers?.length ?? 0) <= 9, 'a CNAME loop ends');
    });
  });

  it('splits long TXT values into 255-byte strings and keeps given strings apart', async () => {
    await withDnsServer(records, async (server) => {
      const r = await rawQuery(server, 'hub1._domainkey.contoso.test', 'TXT', { transport: 'tcp' });
      const data = (r.packet.answers?.[0] as TxtAnswer).data as Buffer[];
      assert.ok(data.length >= 2);
      assert.ok(data.every((b) => b.length <= 255));
      assert.equal(data[0]!.length, 255);
      assert.deepEqual(txtOf(r), [`v=DKIM1; k=rsa; p=${LONG_KEY}`]);
      const split = await rawQuery(server, 'split.contoso.test', 'TXT');
      assert.deepEqual(((split.packet.answers?.[0] as TxtAnswer).data as Buffer[]).map(String), ['part one ', 'part two']);
    });
  });

  it('truncates UDP answers over 512 bytes (TC set) and gives the full answer over TCP', async () => {
    await withDnsServer(records, async (server) => {
      const udp = await rawQuery(server, 'hub1._domainkey.contoso.test', 'TXT');
      assert.equal(udp.packet.flag_tc, true);
      assert.equal(udp.packet.answers?.length, 0);
      assert.ok(udp.bytes <= 512);
      const tcp = await rawQuery(server, 'hub1._domainkey.contoso.test', 'TXT', { transport: 'tcp' });
      assert.equal(tcp.packet.flag_tc, false);
      assert.ok(tcp.bytes > 512);
      assert.deepEqual(server.queries.map((q) => q.transport), ['udp', 'tcp']);
    });
  });

  it('honours a larger EDNS payload size before truncating', async () => {
    await withDnsServer(records, async (server) => {
      const r = await rawQuery(server, 'hub1._domainkey.contoso.test', 'TXT', { ednsSize: 1232 });
      assert.equal(r.packet.flag_tc, false);
      assert.deepEqual(txtOf(r), [`v=DKIM1; k=rsa; p=${LONG_KEY}`]);
    });
  });

  it('replaces its records with setRecords', async () => {
    await withDnsServer(records, async (server) => {
      server.setRecords([{ name: 'contoso.test', type: 'TXT', value: 'v=spf1 -all' }]);
      assert.deepEqual(txtOf(await rawQuery(server, 'contoso.test', 'TXT')), ['v=spf1 -all']);
      assert.equal((await rawQuery(server, 'mail.contoso.test', 'A')).packet.rcode, 'NXDOMAIN');
    });
  });

  it('never answers silent names (to test timeouts) while answering others', async () => {
    await withDnsServer(
      records,
      async (server) => {
        await assert.rejects(rawQuery(server, 'contoso.test', 'MX', { timeoutMs: 200 }), /no UDP answer/);
        await assert.rejects(rawQuery(server, 'contoso.test', 'MX', { timeoutMs: 200, transport: 'tcp' }), /no TCP answer/);
        assert.equal((await rawQuery(server, 'mail.contoso.test', 'A')).packet.rcode, 'NOERROR');
      },
      { silentNames: ['Contoso.Test'] },
    );
  });

  it('serves UDP and TCP on one fixed address and reports it', async () => {
    const server = await startDnsServer({ host: '127.0.0.1', port: 0, records });
    try {
      assert.equal(server.address, `127.0.0.1:${server.port}`);
      assert.ok(server.port > 0);
      const tcp = await rawQuery(server, 'contoso.test', 'TXT', { transport: 'tcp' });
      assert.deepEqual(txtOf(tcp), ['v=spf1 ip4:127.0.0.2 -all']);
    } finally {
      await server.close();
    }
  });

  it('makes our client retry over TCP when the answer exceeds its EDNS size', async () => {
    const huge = 'v=spf1 ' + Array.from({ length: 90 }, (_, i) => `ip4:192.0.2.${i}`).join(' ') + ' -all';
    await withDnsServer([...records, { name: 'big.contoso.test', type: 'TXT', value: huge }], async (server) => {
      const resolver = createResolver({ servers: [server.address], timeoutMs: 1000 });
      const res = await resolver.query('big.contoso.test', 'TXT');
      assert.equal(res.status, 'ok');
      if (res.status !== 'ok') return;
      assert.equal(res.truncatedUdp, true);
      assert.deepEqual(res.answers.map((strings) => strings.join('')), [huge]);
      assert.deepEqual(server.queries.map((q) => q.transport), ['udp', 'tcp']);
    });
  });

  it('gives our client NXDOMAIN, NODATA and a timeout for a silent name', async () => {
    await withDnsServer(
      records,
      async (server) => {
        const resolver = createResolver({ servers: [server.address], timeoutMs: 300 });
        assert.deepEqual(await resolver.query('nobody.contoso.test', 'A'), { status: 'nxdomain' });
        assert.deepEqual(await resolver.query('contoso.test', 'AAAA'), { status: 'nodata' });
        assert.equal((await resolver.query('slow.contoso.test', 'A')).status, 'timeout');
        const mx = await resolver.query('contoso.test', 'MX');
        assert.deepEqual(mx.status === 'ok' ? mx.answers : mx, [{ priority: 10, exchange: 'mx.gateway.demo.test' }]);
      },
      { silentNames: ['slow.contoso.test'] },
    );
  });
});
