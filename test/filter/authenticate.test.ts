// authenticateMessage against a real loopback DNS server: SPF, DKIM, DMARC with relaxed and strict
// alignment, policies, ARC sealing and trust, and stamping our one Authentication-Results header.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer, type ZoneRecord } from '../../src/dns/server.js';
import type { Resolver } from '../../src/dns/types.js';
import { authenticateMessage, authservIdOf, sealArc, stampAuthResults } from '../../src/filter/authenticate.js';
import { headerValues } from '../../src/filter/headers.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    p: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

const fab = keyPair();
const gw = keyPair();
const SENDER_IP = '192.0.2.10';
const FORGER_IP = '198.51.100.66';

function records(): ZoneRecord[] {
  return [
    { name: 'fabrikam.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: 'bounces.fabrikam.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: '_dmarc.fabrikam.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
    { name: 'sel._domainkey.fabrikam.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${fab.p}` },
    { name: 'sel._domainkey.mail.fabrikam.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${fab.p}` },
    // strict alignment variants
    { name: 'strict.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: 'bounces.strict.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: '_dmarc.strict.test', type: 'TXT', value: 'v=DMARC1; p=reject; adkim=s; aspf=s' },
    { name: 'sel._domainkey.mail.strict.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${fab.p}` },
    { name: 'sel._domainkey.strict.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${fab.p}` },
    // quarantine and none policies
    { name: 'quar.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} -all` },
    { name: '_dmarc.quar.test', type: 'TXT', value: 'v=DMARC1; p=quarantine' },
    { name: 'open.test', type: 'TXT', value: `v=spf1 ip4:${SENDER_IP} ~all` },
    // the gateway's ARC key
    { name: 'arc._domainkey.gateway.contoso.test', type: 'TXT', value: `v=DKIM1; k=rsa; p=${gw.p}` },
  ];
}

function message(from: string, extra = '', body = 'Hello there.\r\n'): Buffer {
  return Buffer.from(
    `From: Alice <${from}>\r\nTo: bob@contoso.test\r\nSubject: Quarterly numbers\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <m-${Math.random().toString(36).slice(2)}@fabrikam.test>\r\n${extra}\r\n${body}`,
  );
}

async function signed(msg: Buffer, domain: string, selector = 'sel', pem = fab.pem): Promise<Buffer> {
  const r = await dkimSign(msg, { signatureData: [{ signingDomain: domain, selector, privateKey: pem }] } as never);
  assert.ok(r.signatures, `signing failed: ${JSON.stringify(r.errors)}`);
  return Buffer.concat([Buffer.from(r.signatures), msg]);
}

let dns: DnsServer;
let resolver: Resolver;
before(async () => {
  dns = await startDnsServer({ host: '127.0.0.1', port: 0, records: records() });
  resolver = createResolver({ servers: [dns.address], timeoutMs: 2000 });
});
after(async () => {
  await dns.close();
});

const AUTHSERV = 'gateway.contoso.test';
const base = () => ({ resolver, authservId: AUTHSERV, helo: 'mx.fabrikam.test' });

describe('SPF, DKIM and DMARC', () => {
  test('an aligned DKIM signature and an SPF pass: dmarc=pass, one header with our authserv-id', async () => {
    const msg = await signed(message('alice@fabrikam.test'), 'fabrikam.test');
    const r = await authenticateMessage({ ...base(), message: msg, ip: SENDER_IP, sender: 'alice@fabrikam.test' });
    assert.equal(r.spf.result, 'pass');
    assert.equal(r.dkim.result, 'pass');
    assert.deepEqual(r.dkim.signatures.map((s) => [s.domain, s.selector, s.result, s.aligned]), [['fabrikam.test', 'sel', 'pass', true]]);
    assert.equal(r.dmarc.result, 'pass');
    assert.equal(r.dmarc.policy, 'reject');
    assert.equal(r.dmarc.domain, 'fabrikam.test');
    assert.equal(r.dmarc.alignment.spf, 'fabrikam.test');
    assert.equal(r.dmarc.alignment.dkim, 'fabrikam.test');
    assert.match(r.header, /^Authentication-Results: gateway\.contoso\.test;\r\n /);
    assert.equal(r.header.match(/Authentication-Results:/g)!.length, 1);
    assert.match(r.header, /dkim=pass/);
    assert.match(r.header, /spf=pass/);
    assert.match(r.header, /dmarc=pass/);
    assert.ok(r.header.endsWith('\r\n'));
    assert.match(r.summary, /^spf=pass \(192\.0\.2\.10\) dkim=pass dmarc=pass \(fabrikam\.test p=reject\)/);
  });

  test('a forged sender from an address outside the SPF record: spf=fail, dmarc=fail with p=reject', async () => {
    const r = await authenticateMessage({ ...base(), message: message('ceo@fabrikam.test'), ip: FORGER_IP, sender: 'ceo@fabrikam.test', helo: 'evil.example' });
    assert.equal(r.spf.result, 'fail');
    assert.equal(r.spf.domain, 'fabrikam.test');
    assert.equal(r.dkim.result, 'none');
    assert.equal(r.dmarc.result, 'fail');
    assert.equal(r.dmarc.policy, 'reject');
    assert.equal(r.dmarc.alignment.spf, null);
    assert.match(r.header, /spf=fail/);
    assert.match(r.header, /dmarc=fail/);
  });

  test('relaxed alignment: a subdomain signature and a subdomain MAIL FROM align with the organisation domain', async () => {
    const msg = await signed(message('alice@fabrikam.test'), 'mail.fabrikam.test');
    const r = await authenticateMessage({ ...base(), message: msg, ip: SENDER_IP, sender: 'bounce@bounces.fabrikam.test' });
    assert.equal(r.spf.result, 'pass');
    assert.equal(r.spf.domain, 'bounces.fabrikam.test');
    assert.equal(r.dmarc.result, 'pass');
    assert.equal(r.dmarc.alignment.dkimStrict, false);
    assert.equal(r.dmarc.alignment.dkim, 'mail.fabrikam.test');
    assert.equal(r.dmarc.alignment.spf, 'bounces.fabrikam.test');
    assert.equal(r.dkim.signatures[0]!.aligned, true);
  });

  test('strict alignment (adkim=s, aspf=s): the same subdomain identities do not align, dmarc=fail', async () => {
    const msg = await signed(message('alice@strict.test'), 'mail.strict.test');
    const r = await authenticateMessage({ ...base(), message: msg, ip: SENDER_IP, sender: 'bounce@bounces.strict.test' });
    assert.equal(r.spf.result, 'pass');
    assert.equal(r.dkim.result, 'pass');
    assert.equal(r.dmarc.alignment.dkimStrict, true);
    assert.equal(r.dmarc.alignment.spfStrict, true);
    assert.equal(r.dmarc.alignment.dkim, null);
    assert.equal(r.dmarc.alignment.spf, null);
    assert.equal(r.dkim.signatures[0]!.aligned, false);
    assert.equal(r.dmarc.result, 'fail');
    assert.equal(r.dmarc.policy, 'reject');
  });

  test('strict alignment passes with the exact domain', async () => {
    const msg = await signed(message('alice@strict.test'), 'strict.test');
    const r = await authenticateMessage({ ...base(), message: msg, ip: FORGER_IP, sender: 'alice@strict.test' });
    assert.equal(r.spf.result, 'fail');
    assert.equal(r.dmarc.alignment.dkim, 'strict.test');
    assert.equal(r.dmarc.result, 'pass');
  });

  test('p=quarantine: a failing message asks for quarantine; no DMARC record gives dmarc=none', async () => {
    const q = await authenticateMessage({ ...base(), message: message('x@quar.test'), ip: FORGER_IP, sender: 'x@quar.test' });
    assert.equal(q.dmarc.result, 'fail');
    assert.equal(q.dmarc.policy, 'quarantine');
    const n = await authenticateMessage({ ...base(), message: message('x@open.test'), ip: FORGER_IP, sender: 'x@open.test' });
    assert.equal(n.spf.result, 'softfail');
    assert.equal(n.dmarc.result, 'none');
    assert.equal(n.dmarc.policy, 'none');
  });

  test('a body changed after signing: the signature does not pass, and DMARC still passes on aligned SPF', async () => {
    const msg = await signed(message('alice@fabrikam.test'), 'fabrikam.test');
    const tampered = Buffer.from(msg.toString().replace('Hello there.', 'Hello there, send money.'));
    const r = await authenticateMessage({ ...base(), message: tampered, ip: SENDER_IP, sender: 'alice@fabrikam.test' });
    // mailauth's lenient mode words a body hash mismatch as neutral (strict mode: fail)
    assert.equal(r.dkim.result, 'neutral');
    assert.match(r.dkim.signatures[0]!.comment, /body hash/);
    assert.equal(r.dkim.signatures[0]!.aligned, false);
    assert.equal(r.dmarc.result, 'pass');
    assert.equal(r.dmarc.alignment.dkim, null);
  });

  test('a message without a From domain is not evaluated for DMARC and says why', async () => {
    const msg = Buffer.from('To: bob@contoso.test\r\nSubject: no from\r\n\r\nbody\r\n');
    const r = await authenticateMessage({ ...base(), message: msg, ip: SENDER_IP, sender: 'alice@fabrikam.test' });
    assert.equal(r.dmarc.result, 'none');
    assert.ok(r.dmarc.skipReason);
    assert.match(r.header, /dmarc=none/);
  });
});

describe('stampAuthResults', () => {
  test('removes forged and earlier copies with our authserv-id, keeps other ids, puts ours on top', async () => {
    const forged = [
      'Authentication-Results: gateway.contoso.test; spf=pass smtp.mailfrom=ceo@fabrikam.test; dmarc=pass',
      'Authentication-Results: (forged by sender)\r\n  GATEWAY.CONTOSO.TEST;\r\n dkim=pass header.d=fabrikam.test',
      'Authentication-Results: mx.elsewhere.example; spf=pass',
      'Authentication-Results: "gateway.contoso.test"; arc=pass',
      'Authentication-Results: gateway.contoso.test.evil.example; spf=pass',
    ].join('\r\n');
    const msg = message('ceo@fabrikam.test', forged + '\r\n');
    const r = await authenticateMessage({ ...base(), message: msg, ip: FORGER_IP, sender: 'ceo@fabrikam.test' });
    const out = stampAuthResults(msg, r.header, AUTHSERV);
    const ars = headerValues(out, 'Authentication-Results');
    assert.equal(ars.length, 3);
    assert.match(ars[0]!, /^gateway\.contoso\.test;.*spf=fail/);
    assert.equal(ars[1], 'mx.elsewhere.example; spf=pass');
    assert.equal(ars[2], 'gateway.contoso.test.evil.example; spf=pass');
    assert.ok(out.toString().startsWith('Authentication-Results: gateway.contoso.test;'));
    // the rest of the message is untouched
    assert.ok(out.toString().endsWith('\r\n\r\nHello there.\r\n'));
    assert.equal(headerValues(out, 'Subject')[0], 'Quarterly numbers');
  });

  test('authservIdOf reads the first token, skipping comments and quotes', () => {
    assert.equal(authservIdOf(' (c) Host.Example; spf=pass'), 'host.example');
    assert.equal(authservIdOf('"quoted.example"; none'), 'quoted.example');
    assert.equal(authservIdOf('plain.example'), 'plain.example');
  });
});

describe('ARC', () => {
  test('the gateway changes and seals a message; the hub trusts its sealer and sees DMARC pass upstream', async () => {
    // At the gateway: the original, DKIM-signed message from the real sender passes everything.
    const original = await signed(message('alice@fabrikam.test'), 'fabrikam.test');
    const atGw = await authenticateMessage({ ...base(), message: original, ip: SENDER_IP, sender: 'alice@fabrikam.test' });
    assert.equal(atGw.dmarc.result, 'pass');
    assert.equal(atGw.arc.result, 'none');
    // The gateway rewrites the subject (breaking DKIM), stamps its results and seals.
    const changed = Buffer.from(original.toString().replace('Subject: Quarterly numbers', 'Subject: [EXTERNAL] Quarterly numbers'));
    const stamped = stampAuthResults(changed, atGw.header, AUTHSERV);
    const seal = await sealArc(stamped, { domain: 'gateway.contoso.test', selector: 'arc', privateKeyPem: gw.pem }, atGw);
    assert.equal(seal.kind, 'sealed');
    const forwarded = Buffer.concat([Buffer.from(seal.kind === 'sealed' ? seal.headers : ''), stamped]);
    assert.match(forwarded.toString(), /^ARC-Seal: i=1;/);

    // At the hub, without Enhanced Filtering the sender is the gateway: SPF and DKIM fail.
    const hubInput = { resolver, authservId: 'hub.contoso.test', message: forwarded, ip: '127.0.0.2', helo: 'gateway.contoso.test', sender: 'alice@fabrikam.test' };
    const untrusted = await authenticateMessage(hubInput);
    assert.equal(untrusted.dkim.result, 'fail');
    assert.equal(untrusted.spf.result, 'fail');
    assert.equal(untrusted.dmarc.result, 'fail');
    assert.equal(untrusted.arc.result, 'pass');
    assert.equal(untrusted.arc.sealer, 'gateway.contoso.test');
    assert.equal(untrusted.arc.trusted, false);
    assert.equal(untrusted.dmarc.overriddenByArc, false);

    const trusted = await authenticateMessage({ ...hubInput, trustedArcSealers: ['gateway.contoso.test'] });
    assert.equal(trusted.arc.trusted, true);
    assert.equal(trusted.arc.upstream?.dmarc, 'pass');
    assert.equal(trusted.arc.upstream?.authservId, 'gateway.contoso.test');
    assert.equal(trusted.dmarc.result, 'fail');
    assert.equal(trusted.dmarc.overriddenByArc, true);
    assert.match(trusted.summary, /overridden by trusted ARC/);
  });

  test('a seal broken by a later change fails ARC and is not trusted', async () => {
    const msg = await signed(message('alice@fabrikam.test'), 'fabrikam.test');
    const atGw = await authenticateMessage({ ...base(), message: msg, ip: SENDER_IP, sender: 'alice@fabrikam.test' });
    const seal = await sealArc(msg, { domain: 'gateway.contoso.test', selector: 'arc', privateKeyPem: gw.pem }, atGw);
    assert.equal(seal.kind, 'sealed');
    const sealed = Buffer.concat([Buffer.from(seal.kind === 'sealed' ? seal.headers : ''), msg]);
    const broken = Buffer.from(sealed.toString().replace('Hello there.', 'Changed after sealing.'));
    const r = await authenticateMessage({ resolver, authservId: 'hub.contoso.test', message: broken, ip: '127.0.0.2', helo: 'gw', sender: 'alice@fabrikam.test', trustedArcSealers: ['gateway.contoso.test'] });
    assert.equal(r.arc.result, 'fail');
    assert.equal(r.arc.trusted, false);
    assert.equal(r.dmarc.overriddenByArc, false);
  });
});
