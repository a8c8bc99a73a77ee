// The verifier-free DKIM result for unsigned messages (src/filter/unsigned-dkim.ts) must be exactly
// what mailauth's own dkimVerify gives for the same message, over awkward header sections too; and
// every message it cannot judge alone (signed, ARC, bare LFs, ...) must take the verifier's path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { arc } from 'mailauth/lib/arc/index.js';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { authenticateMessage } from '../../src/filter/authenticate.js';
import { headerSection, unsignedDkimResult } from '../../src/filter/unsigned-dkim.js';

const body = 'Hello there.\r\n'.repeat(50);
const msg = (head: string, rest = `\r\n${body}`) => Buffer.from(head + rest, 'utf8');

// unsigned messages, as mailauth reads them: the fast path must answer, and answer the same
const UNSIGNED: Record<string, Buffer> = {
  plain: msg('From: Alice <alice@fabrikam.test>\r\nTo: bob@contoso.test\r\nSubject: hi\r\n'),
  'two From fields': msg('From: a@fabrikam.test\r\nFrom: b@woodgrove.test\r\nSubject: hi\r\n'),
  'a group in From': msg('From: Team: a@fabrikam.test, b@woodgrove.test;\r\nSubject: hi\r\n'),
  'a folded From': msg('Subject: hi\r\nFrom: Alice\r\n <alice@fabrikam.test>\r\n'),
  'a fold between the name and the colon': msg('Subject: hi\r\nFrom\r\n : alice@fabrikam.test\r\n'),
  'a line that is not a field, after From': msg('From: alice@fabrikam.test\r\nnot a header line\r\nSubject: hi\r\n'),
  'no From': msg('To: bob@contoso.test\r\nSubject: hi\r\n'),
  'Return-Path, no envelope sender given': msg('Return-Path: <bounce@fabrikam.test>\r\nFrom: alice@fabrikam.test\r\n'),
  'an address in the display name': msg('From: "bob@evil.test" <alice@fabrikam.test>\r\n'),
  'encoded and raw UTF-8 names': msg('From: =?utf-8?q?J=C3=BCrgen?= <j@fabrikam.test>, Jürgen <jürgen@fabrikam.test>\r\n'),
  'space before the colon': msg('From : alice@fabrikam.test\r\nSubject: hi\r\n'),
  'header section only': msg('From: alice@fabrikam.test\r\n', '\r\n'),
  'a DKIM-Signature named only in the body': msg('From: alice@fabrikam.test\r\n', '\r\nDKIM-Signature: v=1; d=x.test\r\n'),
};

// what only the verifier can judge: the fast path must decline
const OTHERS: Record<string, Buffer> = {
  'bare LF line ends': Buffer.from('From: alice@fabrikam.test\nSubject: hi\n\nbody\n'),
  'no end of the header section': Buffer.from('From: alice@fabrikam.test\r\nSubject: hi\r\n'),
  'an empty first line': Buffer.from('\r\nFrom: alice@fabrikam.test\r\n\r\nbody\r\n'),
  'a DKIM-Signature': msg('DKIM-Signature: v=1; a=rsa-sha256; d=fabrikam.test; s=sel; h=from; bh=x; b=y\r\nFrom: alice@fabrikam.test\r\n'),
  'a lower-case dkim-signature': msg('dkim-signature: v=1; d=fabrikam.test\r\nFrom: alice@fabrikam.test\r\n'),
  'an ARC-Seal': msg('ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.test; s=a; b=AAAA\r\nFrom: alice@fabrikam.test\r\n'),
  'a DKIM-Signature folded before its colon': msg('DKIM-Signature\r\n : v=1; d=fabrikam.test\r\nFrom: alice@fabrikam.test\r\n'),
};

const noDns = (async () => []) as never;
const view = (r: { headerFrom: unknown; fromFields: unknown; envelopeFrom: unknown; results: unknown }) => ({
  headerFrom: r.headerFrom,
  fromFields: r.fromFields,
  envelopeFrom: r.envelopeFrom,
  results: r.results,
});

describe('unsigned DKIM result', () => {
  for (const [name, m] of Object.entries(UNSIGNED)) {
    for (const sender of ['alice@fabrikam.test', undefined]) {
      test(`${name}${sender ? '' : ' (no envelope sender)'}: same as mailauth's dkimVerify`, async () => {
        const fast = unsignedDkimResult(m, { sender });
        assert.ok(fast, 'taken by the fast path');
        const full = await dkimVerify(m, { resolver: noDns, sender } as never);
        assert.deepEqual(view(fast), view(full));
        const keys = (r: unknown) => ((r as { headers: { parsed: { key: string; line: Buffer }[] } }).headers.parsed ?? []).map((h) => [h.key, h.line.toString('latin1')]);
        assert.deepEqual(keys(fast), keys(full));
        // the ARC verdict built on each
        const [a, b] = [await arc((fast as unknown as { arc: never }).arc, { resolver: noDns } as never), await arc((full as unknown as { arc: never }).arc, { resolver: noDns } as never)];
        assert.deepEqual({ ...a, info: (a as { info?: string }).info }, { ...b, info: (b as { info?: string }).info });
      });
    }
  }

  for (const [name, m] of Object.entries(OTHERS)) {
    test(`${name}: left to the verifier`, () => {
      assert.equal(unsignedDkimResult(m, { sender: 'alice@fabrikam.test' }), null);
    });
  }

  test('the same From on two messages: equal results, each with its own list (the parse is remembered, not shared out)', () => {
    const first = unsignedDkimResult(UNSIGNED.plain!, { sender: 'alice@fabrikam.test' })!;
    first.headerFrom.push('mallory@evil.test');
    const second = unsignedDkimResult(UNSIGNED.plain!, { sender: 'alice@fabrikam.test' })!;
    assert.deepEqual(second.headerFrom, ['alice@fabrikam.test']);
    assert.equal(second.envelopeFrom, 'alice@fabrikam.test');
  });

  test('headerSection: the header fields and the empty line, nothing of the body', () => {
    const m = UNSIGNED.plain!;
    const head = headerSection(m)!;
    assert.ok(head.toString().endsWith('Subject: hi\r\n\r\n'));
    assert.equal(m.subarray(head.length).toString(), body);
  });
});

describe('authenticateMessage with signed and unsigned mail', () => {
  let dns: DnsServer;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const p = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
  before(async () => {
    dns = await startDnsServer({
      host: '127.0.0.1',
      port: 0,
      records: [
        { name: 'fabrikam.test', type: 'TXT', value: 'v=spf1 ip4:192.0.2.10 -all' },
        { name: '_dmarc.fabrikam.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
        { name: 'sel._domainkey.fabrikam.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${p}` },
      ],
    });
  });
  after(() => dns.close());
  const authOf = (message: Buffer, ip = '192.0.2.10') =>
    authenticateMessage({
      message,
      ip,
      helo: 'mx.fabrikam.test',
      sender: 'alice@fabrikam.test',
      resolver: createResolver({ servers: [dns.address], timeoutMs: 2000 }),
      authservId: 'gw.contoso.test',
    });

  test('unsigned: dkim=none (message not signed), DMARC judged on the author from the header', async () => {
    const r = await authOf(UNSIGNED.plain!);
    assert.equal(r.dkim.result, 'none');
    assert.match(r.header, /dkim=none \(message not signed\)/);
    assert.equal(r.dmarc.domain, 'fabrikam.test');
    assert.equal(r.dmarc.result, 'pass');
  });

  test('signed: the verifier checks the signature over the whole message; a changed body does not pass', async () => {
    const plain = UNSIGNED.plain!;
    const s = await dkimSign(plain, { signatureData: [{ signingDomain: 'fabrikam.test', selector: 'sel', privateKey: pem }] } as never);
    const signed = Buffer.concat([Buffer.from(s.signatures), plain]);
    const good = await authOf(signed, '198.51.100.7'); // SPF fails: only DKIM can make DMARC pass
    assert.equal(good.dkim.result, 'pass', good.header);
    assert.equal(good.dmarc.result, 'pass');
    const tampered = Buffer.from(signed.toString('latin1').replace('Hello there.', 'Hello thar.'), 'latin1');
    const bad = await authOf(tampered, '198.51.100.7');
    // mailauth reports a body hash mismatch as neutral (RFC 6376 leaves fail or neutral to the verifier)
    assert.equal(bad.dkim.result, 'neutral', bad.header);
    assert.match(bad.header, /body hash did not verify/);
    assert.equal(bad.dmarc.result, 'fail');
  });
});
