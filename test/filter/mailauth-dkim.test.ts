// verifyDkim, signDkim and createArcSeal: mailauth's DKIM parsers fed in one write. Same answers as
// mailauth's own dkimVerify/dkimSign/createSeal (real loopback DNS for the key), without waiting for
// turns of the event loop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeal } from 'mailauth/lib/arc/index.js';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createResolver, toMailauthResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { dkimTxtValue } from '../../src/filter/dkim-sign.js';
import { createArcSeal, signDkim, verifyDkim } from '../../src/filter/mailauth-dkim.js';
import { generateDkimKey } from '../../src/tls/certs.js';

let dir: string;
let dns: DnsServer;
let pem: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-mailauth-dkim-'));
  const keyFile = join(dir, 'dkim.pem');
  const publicKey = await generateDkimKey(keyFile);
  pem = readFileSync(keyFile, 'utf8');
  dns = await startDnsServer({ host: '127.0.0.1', port: 0, records: [{ name: 'sel._domainkey.contoso.test', type: 'TXT', value: dkimTxtValue(publicKey) }] });
});
after(async () => {
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = Buffer.from(
  'From: Alice <alice@contoso.test>\r\nTo: <bob@fabrikam.test>\r\nSubject: one write\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\n' +
    'Message-ID: <w1@contoso.test>\r\n\r\nLine one.\r\nLine two.\r\n',
);
const signOptions = () =>
  ({ canonicalization: 'relaxed/relaxed', signTime: new Date('2025-01-06T10:00:00Z'), signatureData: [{ signingDomain: 'contoso.test', selector: 'sel', privateKey: pem }] }) as never;
const summary = (r: Awaited<ReturnType<typeof dkimVerify>>) => ({
  headerFrom: r.headerFrom,
  fromFields: r.fromFields,
  envelopeFrom: r.envelopeFrom,
  results: r.results.map((x) => [x.signingDomain, x.selector, x.status.result, x.status.comment ?? null]),
});

test('signDkim makes the signature mailauth’s dkimSign makes', async () => {
  const ours = await signDkim(message, signOptions());
  const theirs = await dkimSign(message, signOptions());
  assert.match(ours.signatures, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=contoso\.test;[^]*; s=sel;/);
  assert.equal(ours.signatures, theirs.signatures, 'RSA PKCS#1 v1.5 signatures are deterministic: byte for byte the same');
  assert.deepEqual(ours.errors, theirs.errors);
});

test('verifyDkim gives mailauth’s dkimVerify results: signed, tampered, unsigned; headers and arc kept out of sight as there', async () => {
  const resolver = toMailauthResolver(createResolver({ servers: [dns.address] })) as never;
  const signed = Buffer.concat([Buffer.from((await signDkim(message, signOptions())).signatures), message]);
  const tampered = Buffer.from(signed.toString().replace('Line two.', 'Line 2.'));
  // a changed body: mailauth reports "neutral (body hash did not verify)"
  for (const [name, m, expected] of [['signed', signed, 'pass'], ['tampered', tampered, 'neutral'], ['unsigned', message, 'none']] as const) {
    const ours = await verifyDkim(m, { resolver });
    const theirs = await dkimVerify(m, { resolver });
    assert.deepEqual(summary(ours), summary(theirs), name);
    assert.equal(ours.results[0]?.status.result, expected, name);
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), `${name}: same enumerable fields`);
    assert.ok((ours as { headers?: unknown }).headers, `${name}: parsed headers are there for ARC and DMARC`);
  }
});

test('neither waits for a turn of the event loop when no DNS answer is needed', async () => {
  let turned = false;
  setImmediate(() => (turned = true));
  const v = await verifyDkim(message, { resolver: (() => Promise.reject(new Error('no DNS expected'))) as never });
  const s = await signDkim(message, signOptions());
  assert.equal(v.results[0]?.status.result, 'none');
  assert.ok(s.signatures);
  assert.equal(turned, false, 'settled before a setImmediate scheduled ahead of them ran');
});

const sealData = () =>
  ({ seal: { signingDomain: 'contoso.test', selector: 'sel', privateKey: pem, cv: 'none', authResults: 'mx.contoso.test; spf=pass smtp.mailfrom=contoso.test', signTime: new Date('2025-01-06T10:00:00Z') } }) as never;

test('createArcSeal makes the ARC set mailauth’s createSeal makes, and settles without a turn of the event loop', async () => {
  const theirs = await createSeal(message, sealData());
  let turned = false;
  setImmediate(() => (turned = true));
  const ours = await createArcSeal(message, sealData());
  assert.equal(turned, false, 'settled before a setImmediate scheduled ahead of it ran');
  assert.deepEqual(ours.headers.map((h) => h.split(':')[0]), ['ARC-Seal', 'ARC-Message-Signature', 'ARC-Authentication-Results']);
  assert.deepEqual(ours.headers, theirs.headers, 'byte for byte the same three fields');
  assert.deepEqual(ours.errors, theirs.errors);
});
