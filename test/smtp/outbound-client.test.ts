// SmtpSender against real receiving servers on loopback: smtp-server for well-behaved peers, a raw
// scripted server for misbehaving ones, certificates from ensureCertificates, DNS from the real server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer } from '../../src/dns/server.js';
import { createSmtpSender, type SmtpSenderOptions } from '../../src/smtp/outbound/client.js';
import { Worker } from 'node:worker_threads';
import { createThreadedSender } from '../../src/smtp/outbound/threads/threaded-sender.js';
import { openSession } from '../../src/smtp/outbound/session.js';
import { tlsPlan } from '../../src/smtp/outbound/tls-policy.js';
import type { SendRequest, SendTarget } from '../../src/smtp/outbound/types.js';
import { ensureCertificates } from '../../src/tls/certs.js';
import { closedPort, ehloReply, scriptEnvelope, startReceiver, startScripted, waitFor } from './outbound-fixtures.js';

interface Pem {
  key: string;
  cert: string;
}
let dirs: string[] = [];
let ca: string;
let server: Pem;
let client: Pem;
let foreign: Pem;

before(async () => {
  const d1 = mkdtempSync(join(tmpdir(), 'mailflow-out-pki-'));
  const d2 = mkdtempSync(join(tmpdir(), 'mailflow-out-pki2-'));
  dirs = [d1, d2];
  const read = (p: { cert: string; key: string }): Pem => ({ cert: readFileSync(p.cert, 'utf8'), key: readFileSync(p.key, 'utf8') });
  const a = await ensureCertificates(d1, [
    { name: 'onprem', subject: 'onprem.mailflow.test', ips: ['127.0.0.1'] },
    { name: 'gateway', subject: 'gateway.mailflow.test', ips: ['127.0.0.1'] },
  ]);
  const b = await ensureCertificates(d2, [{ name: 'onprem', subject: 'onprem.mailflow.test', ips: ['127.0.0.1'] }]);
  ca = readFileSync(a.ca.cert, 'utf8');
  server = read(a.certs.onprem!);
  client = read(a.certs.gateway!);
  foreign = read(b.certs.onprem!);
});

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TIMEOUTS = { connectMs: 3000, greetingMs: 3000, socketMs: 5000 };
const newSender = (o: SmtpSenderOptions = {}) => createSmtpSender({ timeouts: TIMEOUTS, ...o });

function request(target: SendTarget, recipients: string[], body = 'Subject: hi\r\n\r\nhello\r\n', sender = 'alice@contoso.test'): SendRequest {
  return { target, hostname: 'gateway.mailflow.test', sender, recipients, body: Buffer.from(body) };
}

const summary = (outcomes: { recipient: string; kind: string; reply: { code: number; enhanced: string } }[]) =>
  outcomes.map((o) => `${o.recipient} ${o.kind} ${o.reply.code} ${o.reply.enhanced}`);

describe('delivery and per-recipient outcomes', () => {
  test('delivers over STARTTLS (opportunistic) and reports the DATA reply', async () => {
    const rx = await startReceiver({ tls: server });
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'opportunistic' }, ['bob@fabrikam.test']));
      assert.equal(res.remote, `127.0.0.1:${rx.port}`);
      assert.equal(res.tls, true);
      assert.equal(res.outcomes.length, 1);
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      assert.equal(res.outcomes[0]!.reply.code, 250);
      assert.equal(rx.messages.length, 1);
      const m = rx.messages[0]!;
      assert.deepEqual([m.from, m.to, m.secure], ['alice@contoso.test', ['bob@fabrikam.test'], true]);
      assert.equal(m.raw.toString(), 'Subject: hi\r\n\r\nhello\r\n');
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('RCPT 250/450/550 give delivered/deferred/failed per recipient', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'opportunistic' }, ['ok@f.test', 'defer1@f.test', 'reject1@f.test', 'ok2@f.test']));
      assert.equal(res.tls, false, 'no STARTTLS offered: opportunistic stays plaintext');
      assert.deepEqual(summary(res.outcomes), [
        'ok@f.test delivered 250 2.0.0',
        'defer1@f.test deferred 450 4.2.1',
        'reject1@f.test failed 550 5.1.1',
        'ok2@f.test delivered 250 2.0.0',
      ]);
      assert.deepEqual(rx.messages[0]!.to, ['ok@f.test', 'ok2@f.test']);
      // all refused: no DATA, and the connection is still good for the next message
      const none = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'opportunistic' }, ['reject2@f.test', 'defer2@f.test']));
      assert.deepEqual(summary(none.outcomes), ['reject2@f.test failed 550 5.1.1', 'defer2@f.test deferred 450 4.2.1']);
      const next = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'opportunistic' }, ['ok3@f.test']));
      assert.equal(next.outcomes[0]!.kind, 'delivered');
      assert.equal(rx.connections, 1);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('a DATA rejection applies to every accepted recipient; refused ones keep their RCPT reply', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      const spam = await sender.send(request(target, ['datareject@f.test', 'ok@f.test', 'reject@f.test']));
      assert.deepEqual(summary(spam.outcomes), ['datareject@f.test failed 554 5.7.1', 'ok@f.test failed 554 5.7.1', 'reject@f.test failed 550 5.1.1']);
      const later = await sender.send(request(target, ['datadefer@f.test', 'ok@f.test']));
      assert.deepEqual(summary(later.outcomes), ['datadefer@f.test deferred 451 4.3.0', 'ok@f.test deferred 451 4.3.0']);
      assert.equal(rx.messages.length, 0);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('duplicate recipients get one RCPT and the same outcome', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none' }, ['a@f.test', 'a@f.test']));
      assert.deepEqual(res.outcomes.map((o) => o.kind), ['delivered', 'delivered']);
      assert.deepEqual(rx.messages[0]!.to, ['a@f.test']);
    } finally {
      await sender.close();
      await rx.close();
    }
  });
});

describe('limits, 421 and the source address', () => {
  test('a message over the advertised SIZE fails 552 5.3.4 without being sent', async () => {
    const rx = await startReceiver({ extra: { size: 200 } });
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none' }, ['a@f.test'], 'Subject: big\r\n\r\n' + 'x'.repeat(1000) + '\r\n'));
      assert.deepEqual(summary(res.outcomes), ['a@f.test failed 552 5.3.4']);
      assert.equal(rx.messages.length, 0);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('a 421 to RCPT defers that recipient and the connection is not reused', async () => {
    const srv = await startScripted(async (socket, lines) => {
      socket.write('220 scripted.test ESMTP\r\n');
      for (let i = 0; i < 100; i++) {
        const l = await lines.line();
        if (l === null) return;
        const verb = l.split(/[ :]/)[0]!.toUpperCase();
        if (verb === 'EHLO') socket.write(ehloReply(['PIPELINING']));
        else if (verb === 'RCPT' && /shut/.test(l)) socket.write('421 4.7.0 Closing soon\r\n');
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET') socket.write('250 2.0.0 OK\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go\r\n');
          for (let j = 0; j < 100; j++) if ((await lines.line()) === '.') break;
          socket.write('250 2.0.0 queued\r\n');
        } else if (verb === 'QUIT') return void socket.end('221 bye\r\n');
      }
    });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      const res = await sender.send(request(target, ['ok@f.test', 'shut@f.test']));
      assert.deepEqual(summary(res.outcomes), ['ok@f.test delivered 250 2.0.0', 'shut@f.test deferred 421 4.7.0']);
      assert.equal(sender.stats(target).idle, 0);
      await sender.send(request(target, ['ok@f.test']));
      assert.equal(srv.connections, 2);
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  test('sends from localAddress when given', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none', localAddress: '127.0.0.2' }, ['a@f.test']));
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      assert.deepEqual(rx.remotes, ['127.0.0.2']);
    } finally {
      await sender.close();
      await rx.close();
    }
  });
});

describe('bytes on the wire and SMTPUTF8', () => {
  test('bare CR and bare LF are sent as CRLF; dot-stuffing survives', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const body = 'Subject: smuggle\r\n\r\nline1\rline2\n.\r\nMAIL FROM:<evil@x>\r.\rend\r\n';
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none' }, ['bob@f.test'], body));
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      const raw = rx.messages[0]!.raw.toString('latin1');
      assert.doesNotMatch(raw, /\r(?!\n)/, 'no bare CR reached the server');
      assert.doesNotMatch(raw, /(?<!\r)\n/, 'no bare LF reached the server');
      assert.equal(raw, 'Subject: smuggle\r\n\r\nline1\r\nline2\r\n.\r\nMAIL FROM:<evil@x>\r\n.\r\nend\r\n');
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('the envelope leaves in one write, the message and its terminating dot in another; a body larger than the socket buffer still flows', async () => {
    const rx = await startReceiver();
    const opened = await openSession({ host: '127.0.0.1', port: rx.port, hostname: 'gateway.mailflow.test', plan: tlsPlan({ host: '127.0.0.1', port: rx.port, tls: 'none' }), timeouts: TIMEOUTS });
    assert.ok(opened.ok);
    const session = opened.session;
    // count what the client hands the kernel: one _write or _writev is one write(2)/writev(2)
    const sock = (session.conn as unknown as { _socket: { _write: Function; _writev: Function } })._socket;
    const writes: string[] = [];
    const [w1, wv] = [sock._write, sock._writev];
    sock._write = function (chunk: Buffer, ...rest: unknown[]) {
      writes.push(String(chunk).slice(0, 4));
      return w1.call(this, chunk, ...rest);
    };
    sock._writev = function (chunks: { chunk: Buffer }[], ...rest: unknown[]) {
      writes.push(`writev(${chunks.length})`);
      return wv.call(this, chunks, ...rest);
    };
    try {
      const body = Buffer.from('Subject: one write\r\n\r\n' + 'x'.repeat(70).concat('\r\n').repeat(70) + '.dot-stuffed line\r\nend\r\n');
      const t = await session.transact('alice@contoso.test', ['bob@f.test'], body, false);
      assert.equal(t.dataReply?.code, 250);
      // MAIL, RCPT and DATA pipelined in one write, then the dot-stuffed body and the final dot together
      assert.deepEqual(writes[0], 'writev(3)');
      assert.equal(writes.length, 2, writes.join(' '));
      assert.match(writes[1]!, /^writev\(\d+\)$/);
      assert.ok(rx.messages[0]!.raw.toString().endsWith('\r\n.dot-stuffed line\r\nend\r\n'));
    } finally {
      session.quit();
      await rx.close();
    }
    // 3 MB through a real smtp-server over STARTTLS: the pipe pauses on the full socket and must not
    // wait forever for a 'drain' a corked socket would never emit
    const tlsRx = await startReceiver({ tls: server });
    const big = newSender();
    try {
      const line = 'y'.repeat(998) + '\r\n';
      const bigBody = 'Subject: big\r\n\r\n' + line.repeat(3000);
      const res = await big.send(request({ host: '127.0.0.1', port: tlsRx.port, tls: 'opportunistic' }, ['bob@f.test'], bigBody));
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      assert.equal(tlsRx.messages[0]!.raw.length, Buffer.byteLength(bigBody));
      assert.equal(tlsRx.messages[0]!.secure, true);
    } finally {
      await big.close();
      await tlsRx.close();
    }
  });

  test('non-ASCII recipients fail with 553 5.6.7 when the server lacks SMTPUTF8; the rest are delivered', async () => {
    const rx = await startReceiver({ extra: { hideSMTPUTF8: true } });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      const res = await sender.send(request(target, ['josé@f.test', 'bob@f.test', 'user@bücher.test']));
      assert.deepEqual(summary(res.outcomes), ['josé@f.test failed 553 5.6.7', 'bob@f.test delivered 250 2.0.0', 'user@bücher.test failed 553 5.6.7']);
      assert.deepEqual(rx.messages.map((m) => m.to), [['bob@f.test']]);
      // a non-ASCII sender cannot be sent at all: nothing goes out
      const fromUtf8 = await sender.send(request(target, ['bob@f.test'], 'x\r\n', 'rené@contoso.test'));
      assert.deepEqual(summary(fromUtf8.outcomes), ['bob@f.test failed 553 5.6.7']);
      assert.equal(rx.messages.length, 1);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('with SMTPUTF8 offered, a non-ASCII envelope is sent with the SMTPUTF8 parameter', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none' }, ['josé@f.test']));
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      assert.deepEqual(rx.messages[0]!.to, ['josé@f.test']);
      assert.equal(rx.messages[0]!.mailArgs.SMTPUTF8, true);
    } finally {
      await sender.close();
      await rx.close();
    }
  });
});

describe('connection failures (EXO mail flow intelligence codes)', () => {
  test('ECONNREFUSED defers every recipient with 4.4.316', async () => {
    const port = await closedPort();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port, tls: 'opportunistic' }, ['a@f.test', 'b@f.test']));
      assert.deepEqual(summary(res.outcomes), ['a@f.test deferred 450 4.4.316', 'b@f.test deferred 450 4.4.316']);
      assert.equal(res.tls, false);
      assert.deepEqual(sender.stats({ host: '127.0.0.1', port, tls: 'opportunistic' }), { open: 0, idle: 0, waiting: 0 });
    } finally {
      await sender.close();
    }
  });

  test('the server closing mid-DATA defers with 4.4.318, and the connection is not reused', async () => {
    const srv = await startScripted(async (socket, lines) => {
      if (!(await scriptEnvelope(socket, lines))) return;
      await lines.line(); // first line of the message, then hang up
      socket.destroy();
    });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      const res = await sender.send(request(target, ['a@f.test', 'b@f.test']));
      assert.deepEqual(summary(res.outcomes), ['a@f.test deferred 450 4.4.318', 'b@f.test deferred 450 4.4.318']);
      assert.deepEqual(sender.stats(target), { open: 0, idle: 0, waiting: 0 });
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  test('greeting 421 keeps the server reply; a 554 greeting defers (4.4.317); no greeting times out (4.4.315)', async () => {
    const g421 = await startScripted(async (socket) => void socket.end('421 4.7.0 Too busy, come back later\r\n'));
    const g554 = await startScripted(async (socket) => void socket.end('554 5.7.1 No SMTP service for you\r\n'));
    const silent = await startScripted(async () => undefined);
    const sender = newSender({ timeouts: { ...TIMEOUTS, greetingMs: 200 } });
    try {
      const a = await sender.send(request({ host: '127.0.0.1', port: g421.port, tls: 'opportunistic' }, ['a@f.test']));
      assert.deepEqual(summary(a.outcomes), ['a@f.test deferred 421 4.7.0']);
      const b = await sender.send(request({ host: '127.0.0.1', port: g554.port, tls: 'opportunistic' }, ['a@f.test']));
      assert.deepEqual(summary(b.outcomes), ['a@f.test deferred 450 4.4.317']);
      assert.match(b.outcomes[0]!.reply.text, /554 5\.7\.1 No SMTP service/);
      const c = await sender.send(request({ host: '127.0.0.1', port: silent.port, tls: 'opportunistic' }, ['a@f.test']));
      assert.deepEqual(summary(c.outcomes), ['a@f.test deferred 450 4.4.315']);
    } finally {
      await sender.close();
      await Promise.all([g421.close(), g554.close(), silent.close()]);
    }
  });

  test('a target name that does not resolve defers with 4.4.312 (real DNS)', async () => {
    const rx = await startReceiver();
    const dns = await startDnsServer({ host: '127.0.0.1', port: 0, records: [{ name: 'onprem.mailflow.test', type: 'A', value: '127.0.0.1' }] });
    const sender = newSender({ resolver: createResolver({ servers: [dns.address], timeoutMs: 1000 }) });
    try {
      const bad = await sender.send(request({ host: 'nowhere.mailflow.test', port: rx.port, tls: 'none' }, ['a@f.test']));
      assert.deepEqual(summary(bad.outcomes), ['a@f.test deferred 450 4.4.312']);
      const good = await sender.send(request({ host: 'onprem.mailflow.test', port: rx.port, tls: 'none' }, ['a@f.test']));
      assert.equal(good.outcomes[0]!.kind, 'delivered');
      assert.equal(good.remote, `127.0.0.1:${rx.port}`);
    } finally {
      await sender.close();
      await rx.close();
      await dns.close();
    }
  });
});

describe('TLS policies', () => {
  test('required: a server without STARTTLS is deferred 4.4.317 before any envelope is sent', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'required' }, ['a@f.test']));
      assert.deepEqual(summary(res.outcomes), ['a@f.test deferred 450 4.4.317']);
      assert.match(res.outcomes[0]!.reply.text, /did not offer STARTTLS/);
      assert.equal(rx.messages.length, 0);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('required accepts any certificate; none never starts TLS', async () => {
    const rx = await startReceiver({ tls: foreign });
    const sender = newSender();
    try {
      const req = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'required' }, ['a@f.test']));
      assert.deepEqual([req.tls, req.outcomes[0]!.kind], [true, 'delivered']);
      const plain = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'none' }, ['a@f.test']));
      assert.deepEqual([plain.tls, plain.outcomes[0]!.kind], [false, 'delivered']);
      assert.deepEqual(rx.messages.map((m) => m.secure), [true, false]);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('certificate-validation: a certificate from another CA is deferred 4.7.320, our CA passes', async () => {
    const bad = await startReceiver({ tls: foreign });
    const good = await startReceiver({ tls: server });
    const sender = newSender();
    try {
      const r1 = await sender.send(request({ host: '127.0.0.1', port: bad.port, tls: 'certificate-validation', ca }, ['a@f.test']));
      assert.deepEqual(summary(r1.outcomes), ['a@f.test deferred 450 4.7.320']);
      assert.equal(bad.messages.length, 0);
      const r2 = await sender.send(request({ host: '127.0.0.1', port: good.port, tls: 'certificate-validation', ca }, ['a@f.test']));
      assert.deepEqual([r2.tls, r2.outcomes[0]!.kind], [true, 'delivered']);
    } finally {
      await sender.close();
      await Promise.all([bad.close(), good.close()]);
    }
  });

  test('domain-validation checks the name: right name delivers, wrong name is 4.7.320', async () => {
    const rx = await startReceiver({ tls: server });
    const sender = newSender();
    try {
      const ok = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'domain-validation', ca, servername: 'onprem.mailflow.test' }, ['a@f.test']));
      assert.equal(ok.outcomes[0]!.kind, 'delivered');
      const byIp = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'domain-validation', ca }, ['a@f.test']));
      assert.equal(byIp.outcomes[0]!.kind, 'delivered', 'the IP SAN matches when no servername is given');
      const wrong = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'domain-validation', ca, servername: 'hub.other.test' }, ['a@f.test']));
      assert.deepEqual(summary(wrong.outcomes), ['a@f.test deferred 450 4.7.320']);
      assert.match(wrong.outcomes[0]!.reply.text, /hub\.other\.test/);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('the client certificate is presented and its subject seen by the server', async () => {
    const rx = await startReceiver({ tls: server, requestCert: true });
    const sender = newSender();
    try {
      const withCert = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'certificate-validation', ca, clientCert: client }, ['a@f.test']));
      assert.equal(withCert.outcomes[0]!.kind, 'delivered');
      const without = await sender.send(request({ host: '127.0.0.1', port: rx.port, tls: 'certificate-validation', ca }, ['a@f.test']));
      assert.equal(without.outcomes[0]!.kind, 'delivered');
      assert.deepEqual(rx.clientSubjects, ['gateway.mailflow.test', ''], 'different client identities use different connections');
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('opportunistic: a failed TLS handshake is retried once in plaintext on a new connection', async () => {
    const srv = await startScripted(async (socket, lines) => {
      socket.write('220 broken-tls.test ESMTP\r\n');
      for (;;) {
        const l = await lines.line();
        if (l === null) return;
        const verb = l.split(/[ :]/)[0]!.toUpperCase();
        if (verb === 'EHLO') socket.write(ehloReply(['PIPELINING', 'STARTTLS']));
        else if (verb === 'STARTTLS') socket.write('220 go ahead\r\nthis is not a TLS server hello\r\n');
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET') socket.write('250 2.0.0 OK\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go\r\n');
          for (let i = 0; i < 100; i++) if ((await lines.line()) === '.') break;
          socket.write('250 2.0.0 queued\r\n');
        } else if (verb === 'QUIT') return void socket.end('221 bye\r\n');
      }
    });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'opportunistic' };
      const res = await sender.send(request(target, ['a@f.test']));
      assert.deepEqual([res.tls, res.outcomes[0]!.kind], [false, 'delivered']);
      assert.equal(srv.connections, 2);
      // the same broken server under `required` is not downgraded
      const req = await sender.send(request({ ...target, tls: 'required' }, ['a@f.test']));
      assert.deepEqual(summary(req.outcomes), ['a@f.test deferred 450 4.4.317']);
    } finally {
      await sender.close();
      await srv.close();
    }
  });
});

describe('PIPELINING (RFC 2920)', () => {
  type Reader = Parameters<Parameters<typeof startScripted>[0]>[1];
  /** Lines up to and including DATA, unanswered (null if the client stops sending first); an RSET before them is answered. */
  async function envelopeGroup(socket: import('node:net').Socket, lines: Reader): Promise<string[] | null> {
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const l = await lines.line(2000);
      if (l === null) return null;
      if (l === 'RSET' && got.length === 0) {
        socket.write('250 2.0.0 reset\r\n');
        continue;
      }
      got.push(l);
      if (l.toUpperCase() === 'DATA') return got;
    }
    return null;
  }
  /** The data lines after a 354, up to the lone dot. */
  async function dataLines(lines: Reader): Promise<string[]> {
    const got: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const l = await lines.line(2000);
      if (l === null || l === '.') break;
      got.push(l);
    }
    return got;
  }

  test('MAIL, every RCPT and DATA reach the server before it answers any of them; replies are matched in order', async () => {
    const groups: string[][] = [];
    const srv = await startScripted(async (socket, lines) => {
      socket.write('220 pipe.test ESMTP\r\n');
      if ((await lines.line())?.startsWith('EHLO')) socket.write(ehloReply(['PIPELINING', 'SIZE 1000000', '8BITMIME']));
      for (let t = 0; t < 2; t++) {
        const g = await envelopeGroup(socket, lines);
        if (!g) return void socket.destroy();
        groups.push(g);
        // answered only now: a client waiting for MAIL's reply would never have sent DATA
        socket.write(g.map((l) => (/^RCPT TO:<reject/i.test(l) ? '550 5.1.1 No such user\r\n' : /^DATA/i.test(l) ? '354 go\r\n' : '250 2.1.0 OK\r\n')).join(''));
        await dataLines(lines);
        socket.write(`250 2.0.0 queued as Q${t}\r\n`);
      }
      if ((await lines.line())?.startsWith('QUIT')) socket.end('221 bye\r\n');
    });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      const first = await sender.send(request(target, ['a@f.test', 'reject@f.test', 'b@f.test']));
      assert.deepEqual(summary(first.outcomes), ['a@f.test delivered 250 2.0.0', 'reject@f.test failed 550 5.1.1', 'b@f.test delivered 250 2.0.0']);
      const second = await sender.send(request(target, ['c@f.test']));
      assert.deepEqual(summary(second.outcomes), ['c@f.test delivered 250 2.0.0']);
      assert.equal(srv.connections, 1);
      assert.deepEqual(groups[0], ['MAIL FROM:<alice@contoso.test> SIZE=22', 'RCPT TO:<a@f.test>', 'RCPT TO:<reject@f.test>', 'RCPT TO:<b@f.test>', 'DATA']);
      assert.deepEqual(groups[1], ['MAIL FROM:<alice@contoso.test> SIZE=22', 'RCPT TO:<c@f.test>', 'DATA']);
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  test('a refused MAIL, or every RCPT refused: no message is sent, a 354 anyway gets a lone dot, and the connection stays in step', async () => {
    const seen: string[] = [];
    const srv = await startScripted(async (socket, lines) => {
      socket.write('220 pipe.test ESMTP\r\n');
      if ((await lines.line())?.startsWith('EHLO')) socket.write(ehloReply(['PIPELINING']));
      for (let t = 0; t < 4; t++) {
        const g = await envelopeGroup(socket, lines);
        if (!g) return void socket.destroy();
        const rcpts = g.filter((l) => l.startsWith('RCPT')).length;
        if (t === 0) {
          // MAIL refused: the pipelined RCPTs and DATA fail for want of a transaction
          socket.write('550 5.7.1 Sender blocked\r\n' + '503 5.5.1 Need MAIL\r\n'.repeat(rcpts) + '503 5.5.1 Need RCPT\r\n');
        } else if (t === 1) {
          socket.write('250 OK\r\n' + '550 5.1.1 No such user\r\n'.repeat(rcpts) + '554 5.5.1 No valid recipients\r\n');
        } else if (t === 2) {
          // a broken server that answers DATA with 354 although it took no recipient
          socket.write('250 OK\r\n' + '550 5.1.1 No such user\r\n'.repeat(rcpts) + '354 go\r\n');
          seen.push(`after 354: ${(await dataLines(lines)).length} lines`);
          socket.write('554 5.5.1 No valid recipients\r\n');
        } else {
          socket.write('250 OK\r\n'.repeat(rcpts + 1) + '354 go\r\n');
          seen.push(`message: ${(await dataLines(lines)).length} lines`);
          socket.write('250 2.0.0 queued\r\n');
        }
      }
    });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      const mailRefused = await sender.send(request(target, ['a@f.test', 'b@f.test']));
      assert.deepEqual(summary(mailRefused.outcomes), ['a@f.test failed 550 5.7.1', 'b@f.test failed 550 5.7.1']);
      const allRefused = await sender.send(request(target, ['c@f.test', 'd@f.test']));
      assert.deepEqual(summary(allRefused.outcomes), ['c@f.test failed 550 5.1.1', 'd@f.test failed 550 5.1.1']);
      const refused354 = await sender.send(request(target, ['e@f.test']));
      assert.deepEqual(summary(refused354.outcomes), ['e@f.test failed 550 5.1.1']);
      const ok = await sender.send(request(target, ['f@f.test']));
      assert.deepEqual(summary(ok.outcomes), ['f@f.test delivered 250 2.0.0']);
      assert.deepEqual(seen, ['after 354: 0 lines', 'message: 3 lines']);
      assert.equal(srv.connections, 1);
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  test('a server that does not advertise PIPELINING gets one command per reply', async () => {
    const early: string[] = [];
    const srv = await startScripted(async (socket, lines) => {
      socket.write('220 nopipe.test ESMTP\r\n');
      for (let i = 0; i < 20; i++) {
        const l = await lines.line();
        if (l === null) return;
        const verb = l.split(/[ :]/)[0]!.toUpperCase();
        if (verb === 'EHLO') {
          socket.write(ehloReply(['8BITMIME']));
          continue;
        }
        if (verb === 'QUIT') return void socket.end('221 bye\r\n');
        // before answering, anything else already sent would be a pipelined command
        const next = await lines.line(100);
        if (next !== null) early.push(`${verb} then ${next}`);
        if (verb === 'DATA') {
          socket.write('354 go\r\n');
          await dataLines(lines);
          socket.write('250 2.0.0 queued\r\n');
        } else socket.write('250 2.0.0 OK\r\n');
      }
    });
    const sender = newSender();
    try {
      const res = await sender.send(request({ host: '127.0.0.1', port: srv.port, tls: 'none' }, ['a@f.test', 'b@f.test']));
      assert.deepEqual(summary(res.outcomes), ['a@f.test delivered 250 2.0.0', 'b@f.test delivered 250 2.0.0']);
      assert.deepEqual(early, []);
    } finally {
      await sender.close();
      await srv.close();
    }
  });
});

describe('connection reuse', () => {
  test('20 sequential sends to one target use 1 connection', async () => {
    const rx = await startReceiver({ tls: server });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'certificate-validation', ca };
      for (let i = 0; i < 20; i++) {
        const res = await sender.send(request(target, [`user${i}@f.test`]));
        assert.equal(res.outcomes[0]!.kind, 'delivered', `message ${i}`);
      }
      assert.equal(rx.messages.length, 20);
      assert.equal(rx.connections, 1);
      assert.deepEqual(sender.stats(target), { open: 1, idle: 1, waiting: 0 });
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  // A server that logs every command, and on its first connection drops the second transaction
  // silently (no reply to MAIL FROM): what a server that closed an idle connection looks like when our
  // command crossed its FIN.
  async function commandLogger(dropSecondMail: boolean) {
    const verbs: string[] = [];
    let conn = 0;
    const srv = await startScripted(async (socket, lines) => {
      const mine = ++conn;
      let mails = 0;
      socket.write('220 log.test ESMTP\r\n');
      for (;;) {
        const l = await lines.line();
        if (l === null) return;
        const verb = l.split(/[ :]/)[0]!.toUpperCase();
        verbs.push(`${mine}:${verb}`);
        if (verb === 'EHLO') socket.write(ehloReply(['PIPELINING']));
        else if (verb === 'MAIL' && dropSecondMail && mine === 1 && ++mails === 2) return void socket.destroy();
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET') socket.write('250 2.0.0 OK\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go\r\n');
          for (let i = 0; i < 100; i++) if ((await lines.line()) === '.') break;
          socket.write('250 2.0.0 queued\r\n');
        } else if (verb === 'QUIT') return void socket.end('221 bye\r\n');
      }
    });
    return { srv, verbs };
  }

  test('a connection whose last transaction just completed is reused without RSET', async () => {
    const { srv, verbs } = await commandLogger(false);
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      for (let i = 0; i < 3; i++) assert.equal((await sender.send(request(target, [`u${i}@f.test`]))).outcomes[0]!.kind, 'delivered');
      assert.equal(srv.connections, 1);
      assert.deepEqual(verbs.filter((v) => v.endsWith('RSET')), [], 'no RSET between back-to-back messages');
      assert.equal(verbs.filter((v) => v.endsWith('MAIL')).length, 3);
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  test('a reused connection that answers nothing: the message goes again on a new connection, once', async () => {
    const { srv, verbs } = await commandLogger(true);
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: srv.port, tls: 'none' };
      assert.equal((await sender.send(request(target, ['a@f.test']))).outcomes[0]!.kind, 'delivered');
      const second = await sender.send(request(target, ['b@f.test']));
      assert.deepEqual(summary(second.outcomes).map((x) => x.split(' ').slice(0, 2).join(' ')), ['b@f.test delivered']);
      assert.equal(srv.connections, 2);
      assert.deepEqual(verbs.filter((v) => v.endsWith('MAIL')), ['1:MAIL', '1:MAIL', '2:MAIL'], 'sent twice: the first never got a reply');
    } finally {
      await sender.close();
      await srv.close();
    }
  });

  /** `count` sends at once to one receiver; every one must be delivered. Returns the connections it saw. */
  async function sendAtOnce(sender: Pick<ReturnType<typeof newSender>, 'send' | 'close'>, count: number): Promise<number> {
    const rx = await startReceiver();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      const results = await Promise.all(Array.from({ length: count }, (_, i) => sender.send(request(target, [`u${i}@f.test`]))));
      assert.ok(results.every((r) => r.outcomes[0]!.kind === 'delivered'));
      assert.equal(rx.messages.length, count);
      return rx.connections;
    } finally {
      await sender.close();
      await rx.close();
    }
  }

  test('concurrent sends beyond maxPerHost wait for a pooled connection', async () => {
    const connections = await sendAtOnce(newSender({ maxPerHost: 2 }), 10);
    assert.ok(connections <= 2, `at most 2 connections, saw ${connections}`);
  });

  test('the client thread keeps to its maxPerHost too (queue.connectionsPerHost crosses into the thread)', async () => {
    assert.equal(await sendAtOnce(createThreadedSender({ maxPerHost: 1 }), 6), 1);
  });

  test('sends made in one turn reach the client thread in one post; each gets its own answer', async () => {
    const proto = Worker.prototype as unknown as { postMessage: (m: unknown) => void };
    const post = proto.postMessage;
    const posts: unknown[] = [];
    proto.postMessage = function (this: Worker, m: unknown) {
      posts.push(m);
      return post.call(this, m);
    };
    try {
      assert.equal(await sendAtOnce(createThreadedSender({ maxPerHost: 2 }), 6) <= 2, true);
    } finally {
      proto.postMessage = post;
    }
    const sends = posts.filter((m) => !(m as { close?: boolean }).close);
    assert.equal(sends.length, 1, JSON.stringify(posts).slice(0, 200));
    assert.equal((sends[0] as { batch: unknown[] }).batch.length, 6);
  });

  test('different targets (local address, TLS policy) do not share connections', async () => {
    const rx = await startReceiver();
    const sender = newSender();
    try {
      const base: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      await sender.send(request(base, ['a@f.test']));
      await sender.send(request({ ...base, localAddress: '127.0.0.1' }, ['a@f.test']));
      await sender.send(request({ ...base, tls: 'opportunistic' }, ['a@f.test']));
      await sender.send(request(base, ['a@f.test']));
      assert.equal(rx.connections, 3);
      assert.equal(rx.messages.length, 4);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('an idle connection the server closed is dropped; the next send opens a new one', async () => {
    const rx = await startReceiver({ extra: { socketTimeout: 300 } });
    const sender = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      await sender.send(request(target, ['a@f.test']));
      assert.ok(await waitFor(() => sender.stats(target).idle === 0), 'pool noticed the close');
      const res = await sender.send(request(target, ['b@f.test']));
      assert.equal(res.outcomes[0]!.kind, 'delivered');
      assert.equal(rx.connections, 2);
    } finally {
      await sender.close();
      await rx.close();
    }
  });

  test('idle connections are closed after idleMs, and close() quits the rest', async () => {
    const rx = await startReceiver();
    const sender = newSender({ idleMs: 50 });
    const sender2 = newSender();
    try {
      const target: SendTarget = { host: '127.0.0.1', port: rx.port, tls: 'none' };
      await sender.send(request(target, ['a@f.test']));
      assert.ok(await waitFor(() => sender.stats(target).open === 0), 'idle connection closed');
      await sender2.send(request(target, ['a@f.test']));
      assert.equal(sender2.stats(target).idle, 1);
      await sender2.close();
      assert.deepEqual(sender2.stats(target), { open: 0, idle: 0, waiting: 0 });
      assert.ok(await waitFor(() => rx.server.connections.size === 0), 'server saw the connections end');
      const late = await sender2.send(request(target, ['a@f.test']));
      assert.deepEqual(summary(late.outcomes), ['a@f.test deferred 421 4.3.2']);
    } finally {
      await sender.close();
      await sender2.close();
      await rx.close();
    }
  });
});

test('caller bugs throw: no recipients, unsafe EHLO name', async () => {
  const sender = newSender();
  const target: SendTarget = { host: '127.0.0.1', port: 25, tls: 'none' };
  await assert.rejects(sender.send(request(target, [])), TypeError);
  await assert.rejects(sender.send({ ...request(target, ['a@f.test']), hostname: 'x\r\nRCPT TO:<y@z>' }), TypeError);
  const bad = await sender.send(request(target, ['a@f.test>\r\nDATA']));
  assert.deepEqual(summary(bad.outcomes), ['a@f.test>\r\nDATA failed 553 5.1.3'], 'an unsafe address fails without a connection');
  await sender.close();
});
