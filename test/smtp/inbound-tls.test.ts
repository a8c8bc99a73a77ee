// STARTTLS on the inbound listener: client certificates reach the policy, and nothing from before the
// handshake survives it (RFC 3207 §4.2).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLIENT_CN, CLIENT_SANS, makeTestPki, type TestPki } from '../helpers/certs.js';
import { ehloSession, RawSession, sendWithNodemailer, startListener, type TestListener } from '../helpers/smtp.js';

const MSG = 'From: a@partner.example\r\nTo: b@dest.example\r\nSubject: tls\r\n\r\nsecret\r\n';

describe('inbound listener: STARTTLS', () => {
  let pki: TestPki;
  let l: TestListener;
  before(async () => {
    pki = makeTestPki();
    l = await startListener({ tls: { ...pki.server, ca: pki.ca }, requestClientCert: true });
  });
  after(async () => {
    await l.close();
    pki.cleanup();
  });

  it('offers STARTTLS and shows a verified client certificate (CN + SAN names) to the policy', async () => {
    const r = await sendWithNodemailer({
      port: l.port,
      from: 'a@partner.example',
      to: ['b@dest.example'],
      message: MSG,
      requireTLS: true,
      tls: { ca: pki.ca, key: pki.client.key, cert: pki.client.cert, servername: 'localhost', rejectUnauthorized: true },
    });
    assert.equal(r.ok, true, r.response);
    const m = l.messages.at(-1)!;
    assert.equal(m.session.secure, true);
    assert.deepEqual(m.session.peerCertificate, { subject: CLIENT_CN, names: [CLIENT_CN, ...CLIENT_SANS], authorized: true });
    const mail = l.seen.filter((x) => x.hook === 'mail').at(-1)!;
    assert.deepEqual(mail.session.peerCertificate?.names, [CLIENT_CN, ...CLIENT_SANS], 'visible from MAIL FROM on');
    assert.match(m.message.toString().replace(/\r\n\t/g, ' '), /with ESMTPS id /);
  });

  it('marks a certificate our CA did not issue as not authorized, and still lets policy decide', async () => {
    const r = await sendWithNodemailer({
      port: l.port,
      from: 'a@rogue.example',
      to: ['b@dest.example'],
      message: MSG,
      requireTLS: true,
      tls: { key: pki.rogueClient.key, cert: pki.rogueClient.cert },
    });
    assert.equal(r.ok, true, r.response);
    assert.deepEqual(l.messages.at(-1)!.session.peerCertificate, { subject: 'rogue.example', names: ['rogue.example'], authorized: false });
  });

  it('reports no certificate when the client sends none', async () => {
    const r = await sendWithNodemailer({ port: l.port, from: 'a@x.example', to: ['b@dest.example'], message: MSG, requireTLS: true });
    assert.equal(r.ok, true, r.response);
    assert.equal(l.messages.at(-1)!.session.peerCertificate, null);
    assert.equal(l.messages.at(-1)!.session.secure, true);
  });

  it('discards commands pipelined with STARTTLS and requires a fresh EHLO after the handshake', async () => {
    const mailHooksBefore = l.seen.filter((x) => x.hook === 'mail').length;
    const { s, ehlo } = await ehloSession(l.port);
    assert.ok(ehlo.lines.some((x) => x.endsWith('STARTTLS')));
    s.write('STARTTLS\r\nMAIL FROM:<x@y.example>\r\n'); // one write: the MAIL rides in the same segment
    const go = await s.read();
    assert.equal(go.code, 220, go.last);
    await s.startTls({ ca: pki.ca, key: pki.client.key, cert: pki.client.cert });
    // Nothing answers the plaintext MAIL: the first reply in TLS is the one to our own command.
    const noEhlo = await s.cmd('MAIL FROM:<a@partner.example>');
    assert.equal(noEhlo.code, 503, `MAIL before the new EHLO must be refused: ${noEhlo.last}`);
    assert.match(noEhlo.last, /HELO\/EHLO first/);
    const ehlo2 = await s.cmd('EHLO client.test');
    assert.equal(ehlo2.code, 250);
    assert.equal(ehlo2.lines.some((x) => x.endsWith('STARTTLS')), false, 'no STARTTLS once secure');
    const mail = await s.cmd('MAIL FROM:<a@partner.example>');
    assert.equal(mail.code, 250, `a fresh MAIL is accepted, not "nested MAIL": ${mail.last}`);
    s.close();
    const mailHooks = l.seen.filter((x) => x.hook === 'mail').slice(mailHooksBefore);
    assert.equal(mailHooks.length, 1, 'policy saw only the post-TLS MAIL');
    assert.equal(mailHooks[0]!.session.secure, true);
  });

  it('forgets a transaction begun in plaintext once TLS is up', async () => {
    const { s } = await ehloSession(l.port);
    assert.equal((await s.cmd('MAIL FROM:<a@partner.example>')).code, 250);
    assert.equal((await s.cmd('STARTTLS')).code, 220);
    await s.startTls({ ca: pki.ca });
    assert.equal((await s.cmd('EHLO client.test')).code, 250);
    const rcpt = await s.cmd('RCPT TO:<b@dest.example>');
    s.close();
    assert.equal(rcpt.code, 503, `the plaintext MAIL must not stand: ${rcpt.last}`);
  });
});

describe('inbound listener: STARTTLS without client certificates', () => {
  it('does not ask for a client certificate unless requestClientCert is set', async () => {
    const pki = makeTestPki();
    const l = await startListener({ tls: pki.server });
    const s = await RawSession.connect(l.port);
    await s.read();
    await s.cmd('EHLO client.test');
    assert.equal((await s.cmd('STARTTLS')).code, 220);
    await s.startTls({ key: pki.client.key, cert: pki.client.cert });
    assert.equal((await s.cmd('EHLO client.test')).code, 250);
    assert.equal((await s.cmd('MAIL FROM:<a@b.example>')).code, 250);
    s.close();
    await l.close();
    pki.cleanup();
    const mail = l.seen.filter((x) => x.hook === 'mail').at(-1)!;
    assert.equal(mail.session.secure, true);
    assert.equal(mail.session.peerCertificate, null);
  });
});
