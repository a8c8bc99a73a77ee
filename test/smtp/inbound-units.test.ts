// Pure pieces of the inbound listener: Received header, limit checks, envelope checks, decisions, PTR names.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { checkMailParams, checkRcptParams, checkUtf8, normalizeParams, rawAddress } from '../../src/smtp/inbound/address.js';
import { decide, replyText, toSmtpError } from '../../src/smtp/inbound/decisions.js';
import { checkData, ConnectionCounter, headerFacts } from '../../src/smtp/inbound/limits.js';
import { fold, receivedHeader, rfc5322Date } from '../../src/smtp/inbound/received-header.js';
import { ptrName, reverseLookup } from '../../src/smtp/inbound/reverse-dns.js';
import { formatSessionId, newSessionId } from '../../src/smtp/inbound/session-id.js';
import { randomBytes } from 'node:crypto';
import type { Resolver } from '../../src/dns/types.js';
import { reply } from '../../src/smtp/replies.js';
import type { InboundLimits } from '../../src/smtp/inbound/types.js';

const LIMITS: InboundLimits = {
  maxMessageSize: 1000,
  maxRecipients: 3,
  maxLineLength: 100,
  maxHeaderSize: 100,
  maxHops: 2,
  maxConnectionsPerIp: 2,
  commandTimeout: 1000,
};

describe('receivedHeader', () => {
  const base = {
    helo: 'client.example',
    rdns: 'mail.client.example',
    ip: '192.0.2.7',
    hostname: 'mx.test.example',
    role: 'gateway',
    protocol: 'ESMTPS',
    id: 'abc123.1',
    recipients: ['b@dest.example'],
    date: new Date(Date.UTC(2025, 0, 5, 7, 8, 9)),
  };

  it('has the Postfix shape, folded at 78 columns, ending in CRLF', () => {
    const h = receivedHeader(base);
    assert.ok(h.endsWith('\r\n'));
    for (const line of h.slice(0, -2).split('\r\n')) assert.ok(line.length <= 78, line);
    assert.equal(
      h.replace(/\r\n\t/g, ' '),
      'Received: from client.example (mail.client.example [192.0.2.7]) by mx.test.example (mailflow gateway) ' +
        'with ESMTPS id abc123.1 for <b@dest.example>; Sun, 5 Jan 2025 07:08:09 +0000\r\n',
    );
  });

  it('uses [ip] without rDNS, IPv6 literals, and no "for" with several recipients', () => {
    const h = receivedHeader({ ...base, rdns: null, ip: '2001:db8::1', recipients: ['a@x', 'b@x'] }).replace(/\r\n\t/g, ' ');
    assert.match(h, /\(\[IPv6:2001:db8::1\] \[IPv6:2001:db8::1\]\)/);
    assert.doesNotMatch(h, / for /);
    assert.match(h, /id abc123\.1; Sun, 5 Jan 2025/);
  });

  it('neutralises header-breaking characters in client-supplied values', () => {
    const h = receivedHeader({ ...base, helo: 'evil;(x)\r\nInjected: 1' });
    assert.doesNotMatch(h, /\r\nInjected/);
    assert.match(h, /from evil__x___Injected:_1 /);
  });

  it('folds between tokens only', () => {
    assert.equal(fold(['a'.repeat(70), 'b'.repeat(10), 'c']), `${'a'.repeat(70)}\r\n\t${'b'.repeat(10)} c`);
  });

  it('formats RFC 5322 dates in UTC', () => {
    assert.equal(rfc5322Date(new Date(Date.UTC(2024, 1, 29, 23, 59, 0))), 'Thu, 29 Feb 2024 23:59:00 +0000');
  });
});

describe('limits', () => {
  it('measures the header block and counts Received fields (not continuation lines or the body)', () => {
    const msg = Buffer.from('Received: a\r\n b\r\nreceived : c\r\nSubject: x\r\n\r\nReceived: body\r\n');
    assert.deepEqual(headerFacts(msg), { size: 45, received: 2 });
    assert.deepEqual(headerFacts(Buffer.from('\r\nbody\r\n')), { size: 2, received: 0 });
    assert.deepEqual(headerFacts(Buffer.from('Subject: only\r\n')), { size: 15, received: 0 });
  });

  it('checks in order: size, smuggling, line length, header size, hops', () => {
    const ok = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    assert.equal(checkData({ bytes: 1001, problem: 'smuggling', message: null }, LIMITS)?.enhanced, '5.3.4');
    assert.equal(checkData({ bytes: 10, problem: 'smuggling', message: null }, LIMITS)?.code, 554);
    assert.equal(checkData({ bytes: 10, problem: 'line-too-long', message: null }, LIMITS)?.code, 500);
    assert.equal(checkData({ bytes: 10, problem: null, message: ok }, LIMITS), null);
    const bigHead = Buffer.from(`Subject: ${'x'.repeat(100)}\r\n\r\n`);
    assert.equal(checkData({ bytes: bigHead.length, problem: null, message: bigHead }, LIMITS)?.text, reply('HEADER_TOO_BIG').text);
    const hops = Buffer.from('Received: 1\r\nReceived: 2\r\nReceived: 3\r\n\r\n');
    assert.equal(checkData({ bytes: hops.length, problem: null, message: hops }, LIMITS)?.enhanced, '5.4.14');
    const twoHops = Buffer.from('Received: 1\r\nReceived: 2\r\n\r\n');
    assert.equal(checkData({ bytes: twoHops.length, problem: null, message: twoHops }, LIMITS), null);
    assert.equal(checkData({ bytes: 10, problem: null, message: null }, LIMITS)?.code, 451, 'a missing buffer is a local error');
  });

  it('counts connections per address', () => {
    const c = new ConnectionCounter();
    assert.equal(c.add('10.0.0.1'), 1);
    assert.equal(c.add('10.0.0.1'), 2);
    c.remove('10.0.0.1');
    assert.equal(c.count('10.0.0.1'), 1);
    c.remove('10.0.0.1');
    c.remove('10.0.0.1');
    assert.equal(c.count('10.0.0.1'), 0);
  });
});

describe('envelope checks', () => {
  it('allows only SIZE, BODY and SMTPUTF8 on MAIL, nothing on RCPT', () => {
    assert.equal(checkMailParams(normalizeParams({ SIZE: '10', BODY: '8BITMIME', SMTPUTF8: true })), null);
    assert.equal(checkMailParams(normalizeParams({ ENVID: 'x' }))?.code, 555);
    assert.equal(checkMailParams(normalizeParams(false)), null);
    assert.equal(checkRcptParams(normalizeParams({ ORCPT: 'rfc822;a@b' }))?.enhanced, '5.5.4');
    assert.equal(checkRcptParams({}), null);
  });

  it('requires SMTPUTF8 for non-ASCII addresses only', () => {
    assert.equal(checkUtf8('a@b.example', false), null);
    assert.equal(checkUtf8('ä@b.example', false)?.enhanced, '5.6.7');
    assert.equal(checkUtf8('a@bücher.example', true), null);
  });

  it('reads the address as written, dropping a source route', () => {
    assert.equal(rawAddress('MAIL FROM:<a@xn--bcher-kva.example> SIZE=1'), 'a@xn--bcher-kva.example');
    assert.equal(rawAddress('RCPT TO: <@r1.example,@r2.example:u@d.example>'), 'u@d.example');
    assert.equal(rawAddress('MAIL FROM:<>'), '');
    assert.equal(rawAddress('MAIL FROM:a@b'), null);
  });
});

describe('decisions', () => {
  const log = pino({ level: 'silent' });

  it('formats errors smtp-server sends as "<code> <enhanced> <text>"', () => {
    const e = toSmtpError(reply('RECIPIENT_NOT_FOUND'));
    assert.equal(e.responseCode, 550);
    assert.equal(e.message, '5.1.10 Recipient not found');
    assert.equal(replyText(reply('QUEUED')), '2.6.0 Queued mail for delivery');
  });

  it('passes valid decisions through', async () => {
    const d = await decide('x', log, () => ({ kind: 'reject', reply: reply('RELAY_DENIED') }));
    assert.deepEqual(d, { kind: 'reject', reply: reply('RELAY_DENIED') });
    assert.deepEqual(await decide('x', log, async () => ({ kind: 'accept' })), { kind: 'accept' });
  });

  it('turns throws, rejections, garbage and class mix-ups into 451 4.3.0', async () => {
    const local = { kind: 'defer', reply: reply('LOCAL_ERROR') };
    assert.deepEqual(await decide('x', log, () => { throw new Error('boom'); }), local);
    assert.deepEqual(await decide('x', log, () => Promise.reject(new Error('boom'))), local);
    assert.deepEqual(await decide('x', log, () => undefined as never), local);
    assert.deepEqual(await decide('x', log, () => ({ kind: 'defer', reply: reply('RELAY_DENIED') })), local);
    assert.deepEqual(await decide('x', log, () => ({ kind: 'reject', reply: reply('QUEUE_FULL') })), local);
    assert.deepEqual(await decide('x', log, () => ({ kind: 'accept', reply: reply('RELAY_DENIED') })), local);
  });
});

describe('ptrName', () => {
  it('builds in-addr.arpa and ip6.arpa names', () => {
    assert.equal(ptrName('192.0.2.7'), '7.2.0.192.in-addr.arpa');
    assert.equal(
      ptrName('2001:db8::1'),
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
    assert.equal(ptrName('not-an-ip'), null);
  });
});

describe('reverseLookup', () => {
  it('asks the injected resolver for PTR and strips the root dot; void answers give no name', async () => {
    const asked: string[] = [];
    const resolver = {
      query: async (name: string, type: string) => {
        asked.push(`${type} ${name}`);
        return name.startsWith('7.') ? { status: 'ok', answers: ['mail.client.example.'] } : { status: 'nxdomain' };
      },
    } as unknown as Resolver;
    const lookup = reverseLookup(resolver);
    const one = await new Promise<string[] | undefined>((res) => lookup('192.0.2.7', (_e, n) => res(n)));
    const none = await new Promise<string[] | undefined>((res) => lookup('192.0.2.8', (_e, n) => res(n)));
    assert.deepEqual(one, ['mail.client.example']);
    assert.deepEqual(none, []);
    assert.deepEqual(asked, ['PTR 7.2.0.192.in-addr.arpa', 'PTR 8.2.0.192.in-addr.arpa']);
  });
});

describe('session ids', () => {
  it('format ten bytes exactly as smtp-server does', () => {
    const cases = [Buffer.alloc(10, 0), Buffer.alloc(10, 0xff), Buffer.from('0123456789abcdef0123', 'hex'), ...Array.from({ length: 200 }, () => randomBytes(10))];
    for (const b of cases) {
      const upstream = BigInt('0x' + b.toString('hex')).toString(32).padStart(16, '0');
      assert.equal(formatSessionId(b, 0), upstream, b.toString('hex'));
    }
    // at an offset inside a larger buffer
    const big = randomBytes(30);
    assert.equal(formatSessionId(big, 20), BigInt('0x' + big.subarray(20).toString('hex')).toString(32).padStart(16, '0'));
  });

  it('are 16 base-32 digits and do not repeat across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newSessionId();
      assert.match(id, /^[0-9a-v]{16}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
  });
});
