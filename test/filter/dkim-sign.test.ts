// DKIM signing: a signature made by signMessage verifies through a loopback DNS server, also after
// later hops put Received and Authentication-Results fields on top.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createResolver, toMailauthResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { authenticateMessage, stampAuthResults } from '../../src/filter/authenticate.js';
import { dkimTxtValue, headerFromDomain, selectDkimKey, signMessage } from '../../src/filter/dkim-sign.js';
import { generateDkimKey } from '../../src/tls/certs.js';
import { receivedHeader } from '../../src/smtp/inbound/received-header.js';

let dir: string;
let dns: DnsServer;
let pem: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-dkim-'));
  const keyFile = join(dir, 'dkim.pem');
  const p = await generateDkimKey(keyFile);
  pem = await readFile(keyFile, 'utf8');
  dns = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    records: [
      { name: 'selector1._domainkey.contoso.test', type: 'TXT', value: dkimTxtValue(p) },
      { name: '_dmarc.contoso.test', type: 'TXT', value: 'v=DMARC1; p=reject; adkim=s' },
      { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.2 -all' },
    ],
  });
});
after(async () => {
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

const verify = async (msg: Buffer) => {
  const resolver = toMailauthResolver(createResolver({ servers: [dns.address] }));
  const r = await dkimVerify(msg, { resolver: resolver as never });
  return r.results.map((x) => ({ d: x.signingDomain, result: x.status.result, comment: x.status.comment }));
};

const outbound = () =>
  Buffer.from(
    'From: Alice <alice@contoso.test>\r\nTo: Bob <bob@fabrikam.test>\r\nSubject: Outbound and signed\r\n' +
      'Date: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <out-1@contoso.test>\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n\r\nLine one.\r\nLine two.\r\n',
  );

describe('signMessage', () => {
  test('prepends one relaxed/relaxed DKIM-Signature that verifies', async () => {
    const s = await signMessage(outbound(), { domain: 'contoso.test', selector: 'selector1', privateKeyPem: pem });
    assert.equal(s.kind, 'signed');
    assert.match(s.message.toString(), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=contoso\.test;/);
    assert.ok(s.message.subarray(s.signature.length).equals(outbound()), 'the message below the signature is unchanged');
    assert.deepEqual((await verify(s.message)).map((r) => [r.d, r.result]), [['contoso.test', 'pass']]);
  });

  test('still verifies after later hops add Received and Authentication-Results and re-fold nothing else', async () => {
    const s = await signMessage(outbound(), { domain: 'contoso.test', selector: 'selector1', privateKeyPem: pem });
    let msg = s.message;
    for (const [i, host] of ['gateway.contoso.test', 'mx.fabrikam.test', 'mailbox.fabrikam.test'].entries()) {
      const rc = receivedHeader({ helo: `hop${i}.example`, rdns: null, ip: `127.0.0.${i + 2}`, hostname: host, role: 'x', protocol: 'ESMTPS', id: `Q${i}`, recipients: ['bob@fabrikam.test'], date: new Date() });
      msg = Buffer.concat([Buffer.from(rc), msg]);
    }
    const auth = await authenticateMessage({ message: msg, ip: '127.0.0.2', helo: 'hub.contoso.test', sender: 'alice@contoso.test', resolver: createResolver({ servers: [dns.address] }), authservId: 'mx.fabrikam.test' });
    msg = stampAuthResults(msg, auth.header, 'mx.fabrikam.test');
    assert.deepEqual((await verify(msg)).map((r) => r.result), ['pass']);
    // the receiving side's full evaluation: aligned DKIM under adkim=s, SPF pass from the hub's address
    assert.equal(auth.dkim.result, 'pass');
    assert.equal(auth.dmarc.result, 'pass');
    assert.equal(auth.dmarc.alignment.dkim, 'contoso.test');
  });

  test('a signed header changed later breaks the signature (the check is real)', async () => {
    const s = await signMessage(outbound(), { domain: 'contoso.test', selector: 'selector1', privateKeyPem: pem });
    const changed = Buffer.from(s.message.toString().replace('Subject: Outbound and signed', 'Subject: changed'));
    assert.equal((await verify(changed))[0]!.result, 'fail');
  });

  test('a signing failure is a value and the message comes back unchanged', async () => {
    const s = await signMessage(outbound(), { domain: 'contoso.test', selector: 'selector1', privateKeyPem: 'not a key' });
    assert.equal(s.kind, 'error');
    assert.ok(s.message.equals(outbound()));
    assert.ok(s.kind === 'error' && s.reason.length > 0);
  });

  test('a chosen header list is what gets signed', async () => {
    const s = await signMessage(outbound(), { domain: 'contoso.test', selector: 'selector1', privateKeyPem: pem, headers: ['From', 'Subject'] });
    assert.equal(s.kind, 'signed');
    assert.match(s.signature.replace(/\r\n\s+/g, ' '), /h=Subject: From;/);
    assert.equal((await verify(s.message))[0]!.result, 'pass');
  });
});

describe('key selection', () => {
  const keys = [
    { domain: 'contoso.test', selector: 's1', role: 'hub', privateKey: 'k1.pem' },
    { domain: 'sales.contoso.test', selector: 's2', role: 'hub', privateKey: 'k2.pem' },
    { domain: 'contoso.test', selector: 'gw', role: 'gateway', privateKey: 'k3.pem' },
    { domain: 'nokey.test', selector: 's', role: 'hub' },
  ];
  test('exact domain, then the closest parent, for the signing role only; a key without a file is skipped', () => {
    assert.equal(selectDkimKey(keys, 'hub', 'contoso.test')?.selector, 's1');
    assert.equal(selectDkimKey(keys, 'hub', 'sales.contoso.test')?.selector, 's2');
    assert.equal(selectDkimKey(keys, 'hub', 'eu.sales.contoso.test')?.selector, 's2');
    assert.equal(selectDkimKey(keys, 'gateway', 'contoso.test')?.selector, 'gw');
    assert.equal(selectDkimKey(keys, 'hub', 'nokey.test'), undefined);
    assert.equal(selectDkimKey(keys, 'hub', 'fabrikam.test'), undefined);
  });
  test('headerFromDomain reads the author domain', () => {
    assert.equal(headerFromDomain(outbound()), 'contoso.test');
    assert.equal(headerFromDomain(Buffer.from('From: x@Sales.Contoso.Test\r\n\r\n')), 'sales.contoso.test');
    assert.equal(headerFromDomain(Buffer.from('Subject: none\r\n\r\n')), '');
  });
});
