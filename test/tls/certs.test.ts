import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates, generateDkimKey, OpensslMissingError } from '../../src/tls/certs.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mailflow-certs-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const entries = [
  { name: 'gateway', subject: 'gateway.mailflow.test', ips: ['127.0.0.2'] },
  { name: 'hub', subject: 'hub.mailflow.test', altNames: ['mail.protection.mailflow.test'], ips: ['127.0.0.3', '::1'] },
];

test('generates a CA and leaves that verify against it, with SANs, EKUs and 0600 keys', async () => {
  const dir = tempDir();
  const made = await ensureCertificates(dir, entries);
  assert.equal(made.ca.cert, join(dir, 'ca.crt'));
  const ca = new X509Certificate(readFileSync(made.ca.cert));
  assert.equal(ca.ca, true);
  assert.ok(new Date(ca.validTo).getTime() - Date.now() > 9 * 365 * 24 * 3600 * 1000, 'CA valid about 10 years');

  const gw = new X509Certificate(readFileSync(made.certs.gateway!.cert));
  assert.ok(gw.checkIssued(ca));
  assert.ok(gw.verify(ca.publicKey));
  assert.equal(gw.ca, false);
  assert.equal(gw.checkHost('gateway.mailflow.test'), 'gateway.mailflow.test');
  assert.equal(gw.checkHost('hub.mailflow.test'), undefined);
  assert.equal(gw.checkIP('127.0.0.2'), '127.0.0.2');
  assert.deepEqual(gw.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth + clientAuth');
  assert.match(gw.subject, /CN=gateway\.mailflow\.test/);
  assert.ok(gw.checkPrivateKey(createPrivateKey(readFileSync(made.certs.gateway!.key))));

  const hub = new X509Certificate(readFileSync(made.certs.hub!.cert));
  assert.ok(hub.checkIssued(ca));
  assert.equal(hub.checkHost('mail.protection.mailflow.test'), 'mail.protection.mailflow.test');
  assert.equal(hub.checkIP('::1'), '::1');

  for (const p of [made.ca.key, made.certs.gateway!.key, made.certs.hub!.key]) {
    assert.equal(statSync(p).mode & 0o777, 0o600, p);
  }
});

test('a second call reuses the files; a new entry is signed by the same CA', async () => {
  const dir = tempDir();
  const first = await ensureCertificates(dir, entries);
  const before = [first.ca.cert, first.certs.gateway!.cert, first.certs.hub!.key].map((p) => readFileSync(p, 'utf8'));
  const second = await ensureCertificates(dir, [...entries, { name: 'onprem', subject: 'onprem.mailflow.test' }]);
  const again = [second.ca.cert, second.certs.gateway!.cert, second.certs.hub!.key].map((p) => readFileSync(p, 'utf8'));
  assert.deepEqual(again, before);
  const ca = new X509Certificate(readFileSync(second.ca.cert));
  assert.ok(new X509Certificate(readFileSync(second.certs.onprem!.cert)).checkIssued(ca));
});

test('a leaf that no longer covers the requested names is re-issued', async () => {
  const dir = tempDir();
  await ensureCertificates(dir, [{ name: 'gw', subject: 'gw.test' }]);
  const old = readFileSync(join(dir, 'gw.crt'), 'utf8');
  await ensureCertificates(dir, [{ name: 'gw', subject: 'gw.test', ips: ['127.0.0.9'] }]);
  const renewed = new X509Certificate(readFileSync(join(dir, 'gw.crt')));
  assert.notEqual(renewed.toString(), old);
  assert.equal(renewed.checkIP('127.0.0.9'), '127.0.0.9');
});

test('concurrent calls for one directory share one CA', async () => {
  const dir = tempDir();
  const [a, b] = await Promise.all([
    ensureCertificates(dir, [{ name: 'a', subject: 'a.test' }]),
    ensureCertificates(dir, [{ name: 'b', subject: 'b.test' }]),
  ]);
  const ca = new X509Certificate(readFileSync(a.ca.cert));
  assert.ok(new X509Certificate(readFileSync(a.certs.a!.cert)).checkIssued(ca));
  assert.ok(new X509Certificate(readFileSync(b.certs.b!.cert)).checkIssued(ca));
});

test('a clear error when openssl is missing; bad stems are refused', async () => {
  const dir = tempDir();
  await assert.rejects(ensureCertificates(dir, entries, { openssl: join(dir, 'no-openssl-here') }), (e: unknown) => {
    assert.ok(e instanceof OpensslMissingError);
    assert.match((e as Error).message, /openssl is needed to generate certificates/);
    return true;
  });
  await assert.rejects(ensureCertificates(dir, [{ name: '../evil', subject: 'x.test' }]), TypeError);
  await assert.rejects(ensureCertificates(dir, [{ name: 'ca', subject: 'x.test' }]), TypeError);
});

test('generateDkimKey writes an RSA 2048 key (0600) and returns the matching SPKI for p=', async () => {
  const dir = tempDir();
  const path = join(dir, 'dkim', 'selector1.key');
  const p = await generateDkimKey(path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const key = createPrivateKey(readFileSync(path));
  assert.equal(key.asymmetricKeyType, 'rsa');
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  const pub = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
  const sig = createSign('sha256').update('hello').sign(key);
  assert.ok(createVerify('sha256').update('hello').verify(pub, sig), 'p= is the public half of the written key');
  assert.equal(await generateDkimKey(path), p, 'an existing key is kept');
  assert.notEqual(await generateDkimKey(path, { overwrite: true }), p, 'overwrite rotates');
});
