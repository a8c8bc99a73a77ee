// The raw DNS client against a scripted responder on 127.0.0.1 (UDP and TCP on one ephemeral port).
// The responder is written here with dns-packet so each test can shape the bytes it answers with:
// truncation, wrong ids, CNAME chains, silence.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { createResolver, parseResolvConf } from '../../src/dns/client.js';
import type { Resolver } from '../../src/dns/types.js';

type Reply = { rcode?: 'NOERROR' | 'SERVFAIL' | 'NXDOMAIN' | 'REFUSED'; answers?: dnsPacket.Answer[]; tc?: boolean; id?: number; question?: dnsPacket.Question } | 'silent';
type Script = (q: dnsPacket.Question, transport: 'udp' | 'tcp') => Reply | Reply[];

interface Responder {
  address: string;
  seen: { name: string; type: string; transport: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

function encodeReply(query: dnsPacket.DecodedPacket, r: Exclude<Reply, 'silent'>): Buffer {
  // dns-packet encodes the RCODE only through the low bits of flags
  const rcode = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 }[r.rcode ?? 'NOERROR'] ?? 0;
  const flags = (r.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | dnsPacket.RECURSION_DESIRED | rcode;
  return dnsPacket.encode({
    type: 'response',
    id: r.id ?? query.id,
    flags,
    questions: [r.question ?? query.questions![0]!],
    answers: r.tc ? [] : (r.answers ?? []),
  } as dnsPacket.Packet);
}

async function startResponder(script: Script): Promise<Responder> {
  const seen: Responder['seen'] = [];
  const replies = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer[] => {
    const query = dnsPacket.decode(msg);
    const q = query.questions![0]!;
    seen.push({ name: q.name, type: q.type, transport });
    return ([] as Reply[]).concat(script(q, transport)).flatMap((r) => (r === 'silent' ? [] : [encodeReply(query, r)]));
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
      let buf = Buffer.alloc(0);
      s.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          for (const out of replies(msg, 'tcp')) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            s.write(Buffer.concat([len, out]));
          }
        }
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      for (const out of replies(msg, 'udp')) udp.send(out, rinfo.port, rinfo.address);
    });
    return {
      address: `127.0.0.1:${port}`,
      seen,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
  throw new Error('could not bind UDP and TCP on one port');
}

const A = (name: string, data: string): dnsPacket.Answer => ({ type: 'A', name, data, ttl: 60 });
const TXT = (name: string, data: (string | Buffer)[]): dnsPacket.Answer => ({ type: 'TXT', name, data, ttl: 60 }) as dnsPacket.Answer;
const CNAME = (name: string, data: string): dnsPacket.Answer => ({ type: 'CNAME', name, data, ttl: 60 });

const BIG = Array.from({ length: 12 }, (_, i) => `v=spf1 ip4:192.0.2.${i} ${'x'.repeat(180)}`);

const script: Script = (q, transport) => {
  const name = q.name.toLowerCase();
  switch (name) {
    case 'a.test':
      return { answers: [A(q.name, '192.0.2.1'), A(q.name, '192.0.2.2')] };
    case 'txt.test':
      return { answers: [TXT(q.name, ['v=spf1 ', 'ip4:192.0.2.1 -all']), TXT(q.name, ['other'])] };
    case 'latin1.test':
      return { answers: [TXT(q.name, [Buffer.from([0x63, 0x61, 0x66, 0xe9])])] };
    case 'mx.test':
      return { answers: [{ type: 'MX', name: q.name, ttl: 60, data: { preference: 10, exchange: 'mx1.test' } }] };
    case 'alias.test':
      return { answers: [CNAME(q.name, 'alias2.test'), CNAME('alias2.test', 'a.test'), A('a.test', '192.0.2.1')] };
    case 'dangling.test':
      return { answers: [CNAME(q.name, 'nowhere.test')] };
    case 'loop.test':
      return { answers: [CNAME(q.name, 'loop2.test'), CNAME('loop2.test', 'loop.test')] };
    case 'empty.test':
      return {};
    case 'gone.test':
      return { rcode: 'NXDOMAIN' };
    case 'broken.test':
      return { rcode: 'SERVFAIL' };
    case 'closed.test':
      return { rcode: 'REFUSED' };
    case 'silent.test':
      return 'silent';
    case 'spoofed.test':
      // a stray answer with another id and one for another question come first; both must be ignored
      return [{ id: 1, answers: [A(q.name, '203.0.113.66')] }, { question: { type: 'A', name: 'other.test' }, answers: [A('other.test', '203.0.113.67')] }, { answers: [A(q.name, '192.0.2.9')] }];
    case 'big.test':
      return transport === 'udp' ? { tc: true } : { answers: BIG.map((t) => TXT(q.name, [t])) };
    default:
      // names with spaces, ':', '/', '%' are answered under the exact name asked
      if (name.startsWith('odd ')) return { answers: [A(q.name, '192.0.2.77')] };
      return { rcode: 'NXDOMAIN' };
  }
};

describe('createResolver against a loopback responder', () => {
  let responder: Responder;
  let resolver: Resolver;
  before(async () => {
    responder = await startResponder(script);
    resolver = createResolver({ servers: [responder.address], timeoutMs: 300 });
  });
  after(() => responder.close());

  test('A records', async () => {
    assert.deepEqual(await resolver.query('a.test', 'A'), { status: 'ok', answers: ['192.0.2.1', '192.0.2.2'] });
  });

  test('TXT keeps each record and its strings apart', async () => {
    assert.deepEqual(await resolver.query('txt.test', 'TXT'), { status: 'ok', answers: [['v=spf1 ', 'ip4:192.0.2.1 -all'], ['other']] });
  });

  test('TXT bytes that are not UTF-8 survive as Latin-1', async () => {
    assert.deepEqual(await resolver.query('latin1.test', 'TXT'), { status: 'ok', answers: [['café']] });
  });

  test('MX as {priority, exchange}', async () => {
    assert.deepEqual(await resolver.query('mx.test', 'MX'), { status: 'ok', answers: [{ priority: 10, exchange: 'mx1.test' }] });
  });

  test('CNAME chain in the answer section is followed to the final records', async () => {
    assert.deepEqual(await resolver.query('alias.test', 'A'), { status: 'ok', answers: ['192.0.2.1'] });
    assert.deepEqual(await resolver.query('alias.test', 'CNAME'), { status: 'ok', answers: ['alias2.test'] });
  });

  test('a CNAME leading nowhere, or in a loop, is nodata', async () => {
    assert.deepEqual(await resolver.query('dangling.test', 'A'), { status: 'nodata' });
    assert.deepEqual(await resolver.query('loop.test', 'A'), { status: 'nodata' });
  });

  test('RCODEs map to statuses', async () => {
    assert.deepEqual(await resolver.query('gone.test', 'TXT'), { status: 'nxdomain' });
    assert.deepEqual(await resolver.query('empty.test', 'TXT'), { status: 'nodata' });
    assert.equal((await resolver.query('broken.test', 'A')).status, 'servfail');
    assert.equal((await resolver.query('closed.test', 'A')).status, 'refused');
  });

  test('no answer within timeoutMs is timeout', async () => {
    const r = await resolver.query('silent.test', 'TXT');
    assert.equal(r.status, 'timeout');
    assert.match((r as { message: string }).message, /silent\.test/);
  });

  test('answers with another id or question are ignored', async () => {
    assert.deepEqual(await resolver.query('spoofed.test', 'A'), { status: 'ok', answers: ['192.0.2.9'] });
  });

  test('a truncated UDP answer is retried over TCP', async () => {
    const before = responder.seen.filter((s) => s.name === 'big.test').length;
    const r = await resolver.query('big.test', 'TXT');
    assert.equal(r.status, 'ok');
    assert.deepEqual((r as { answers: string[][] }).answers, BIG.map((t) => [t]));
    assert.equal((r as { truncatedUdp?: boolean }).truncatedUdp, true);
    const asked = responder.seen.filter((s) => s.name === 'big.test').slice(before).map((s) => s.transport);
    assert.deepEqual(asked, ['udp', 'tcp']);
  });

  test('names with spaces, ":", "/" and "%" go on the wire as given', async () => {
    const name = 'odd 1:2/3%4.example.test';
    assert.deepEqual(await resolver.query(name, 'A'), { status: 'ok', answers: ['192.0.2.77'] });
    assert.ok(responder.seen.some((s) => s.name === name));
  });

  test('a name the wire cannot carry is an error, and nothing is sent', async () => {
    const count = responder.seen.length;
    const r = await resolver.query(`${'x'.repeat(64)}.test`, 'A');
    assert.equal(r.status, 'error');
    assert.match((r as { message: string }).message, /63/);
    assert.equal((await resolver.query('a..test', 'A')).status, 'error');
    assert.equal(responder.seen.length, count);
  });

  test('a silent first server falls through to the next', async () => {
    const silent = dgram.createSocket('udp4');
    const port = await new Promise<number>((r) => silent.bind(0, '127.0.0.1', () => r(silent.address().port)));
    try {
      const two = createResolver({ servers: [`127.0.0.1:${port}`, responder.address], timeoutMs: 300 });
      assert.deepEqual(await two.query('a.test', 'A'), { status: 'ok', answers: ['192.0.2.1', '192.0.2.2'] });
    } finally {
      silent.close();
    }
  });

  test('cache: repeated questions are asked once', async () => {
    const cached = createResolver({ servers: [responder.address], timeoutMs: 300, cache: true });
    const count = () => responder.seen.filter((s) => s.name === 'mx.test').length;
    const start = count();
    await cached.query('mx.test', 'MX');
    await cached.query('MX.test', 'MX');
    assert.equal(count() - start, 1);
  });
});

test('parseResolvConf reads nameserver lines in order', () => {
  const text = '# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n  nameserver 2001:db8::53 # v6\noptions ndots:1\n';
  assert.deepEqual(parseResolvConf(text), ['192.0.2.53:53', '[fe80::1]:53', '[2001:db8::53]:53']);
});

test('createResolver rejects a server that is not host:port', () => {
  assert.throws(() => createResolver({ servers: ['127.0.0.1:notaport'] }), /host:port/);
});
