// The inbound listener over real loopback sockets: envelope, limits, policy replies.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { reply } from '../../src/smtp/replies.js';
import {
  ehloSession,
  rawTransaction,
  RawSession,
  sendWithNodemailer,
  startListener,
  type TestListener,
} from '../helpers/smtp.js';

const MSG = 'From: a@sender.example\r\nTo: b@dest.example\r\nSubject: hi\r\n\r\nHello.\r\n';

describe('inbound listener: normal flow', () => {
  let l: TestListener;
  before(async () => {
    l = await startListener({ now: () => new Date(Date.UTC(2025, 10, 24, 9, 5, 3)) });
  });
  after(() => l.close());

  it('accepts a message; onMessage sees a CRLF body with exactly one Received header on top', async () => {
    const r = await sendWithNodemailer({
      port: l.port,
      name: 'sender.client.example',
      from: 'a@sender.example',
      to: ['b@dest.example'],
      message: MSG,
    });
    assert.equal(r.ok, true, r.response);
    assert.match(r.response, /^250 2\.6\.0 Queued mail for delivery as \S+/);
    assert.equal(l.messages.length, 1);
    const m = l.messages[0]!;
    const text = m.message.toString('utf8');
    for (const line of text.split('\r\n')) assert.ok(line.length <= 78, `folded: ${line}`);
    const unfolded = text.replace(/\r\n\t/g, ' ');
    assert.ok(unfolded.startsWith('Received: from sender.client.example ([127.0.0.1] [127.0.0.1])'), text);
    assert.equal(text.match(/^Received:/gm)?.length, 1);
    assert.match(unfolded, /^Received: [^\r]+ by mx\.test\.example \(mailflow gateway\) with ESMTP id \S+ for <b@dest\.example>; Mon, 24 Nov 2025 09:05:03 \+0000\r\nFrom: /);
    assert.ok(text.endsWith(MSG), 'original message follows our header unchanged');
    assert.equal(/(?<!\r)\n/.test(text), false, 'no bare LF');
    assert.deepEqual(m.envelope, { sender: 'a@sender.example', recipients: ['b@dest.example'], mailParams: {} });
    assert.equal(m.session.helo, 'sender.client.example');
    assert.equal(m.session.remoteAddress, '127.0.0.1');
    assert.equal(m.session.secure, false);
  });

  it('advertises SIZE, ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8, PIPELINING and no AUTH or STARTTLS without tls', async () => {
    const { s, ehlo } = await ehloSession(l.port);
    s.close();
    const ext = ehlo.lines.slice(1).map((x) => x.slice(4));
    assert.ok(ext.includes('SIZE 10000'));
    for (const e of ['ENHANCEDSTATUSCODES', '8BITMIME', 'SMTPUTF8', 'PIPELINING']) assert.ok(ext.includes(e), e);
    assert.equal(ext.some((e) => /^(AUTH|STARTTLS|DSN)/.test(e)), false, ext.join(','));
  });

  it('answers commands pipelined in one write with one write; a command sent alone is answered at once', async () => {
    const { s } = await ehloSession(l.port);
    // what the server's side hands the kernel: one _write or _writev is one write(2)/writev(2)
    const proto = net.Socket.prototype as unknown as { _write: Function; _writev: Function };
    const [w1, wv] = [proto._write, proto._writev];
    const writes: string[] = [];
    proto._write = function (this: net.Socket, chunk: Buffer | string, ...rest: unknown[]) {
      if (this.localPort === l.port) writes.push(String(chunk).slice(0, 3));
      return w1.call(this, chunk, ...rest);
    };
    proto._writev = function (this: net.Socket, chunks: { chunk: Buffer | string }[], ...rest: unknown[]) {
      if (this.localPort === l.port) writes.push(chunks.map((c) => String(c.chunk).slice(0, 3)).join('+'));
      return wv.call(this, chunks, ...rest);
    };
    try {
      s.write('MAIL FROM:<a@sender.example>\r\nRCPT TO:<x@dest.example>\r\nRCPT TO:<y@dest.example>\r\nDATA\r\n');
      const codes = [(await s.read()).code, (await s.read()).code, (await s.read()).code, (await s.read()).code];
      assert.deepEqual(codes, [250, 250, 250, 354]);
      s.write(MSG + '.\r\n');
      assert.equal((await s.read()).code, 250);
      assert.equal((await s.cmd('NOOP')).code, 250);
    } finally {
      proto._write = w1;
      proto._writev = wv;
    }
    s.close();
    assert.deepEqual(writes, ['250+250+250+354', '250', '250']);
    assert.deepEqual(l.messages.at(-1)!.envelope.recipients, ['x@dest.example', 'y@dest.example']);
  });

  it('passes the null sender as "" and does not name recipients in Received when there are several', async () => {
    const { s } = await ehloSession(l.port);
    const r = await rawTransaction(s, '', ['x@dest.example', 'y@dest.example'], MSG + '.\r\n');
    s.close();
    assert.equal(r.code, 250, r.last);
    const m = l.messages.at(-1)!;
    assert.equal(m.envelope.sender, '');
    assert.deepEqual(m.envelope.recipients, ['x@dest.example', 'y@dest.example']);
    assert.doesNotMatch(m.message.toString(), /\bfor </);
  });
});

describe('inbound listener: limits', () => {
  let l: TestListener;
  before(async () => {
    l = await startListener();
  });
  after(() => l.close());

  it('refuses MAIL FROM SIZE= over the limit with 552 5.3.4', async () => {
    const { s } = await ehloSession(l.port);
    const r = await s.cmd('MAIL FROM:<a@sender.example> SIZE=10001');
    s.close();
    assert.equal(r.code, 552);
    assert.match(r.last, /^552 5\.3\.4 /);
  });

  it('enforces SIZE during DATA with 552 5.3.4, and the same session then sends a normal message', async () => {
    const before = l.messages.length;
    const { s } = await ehloSession(l.port);
    const big = 'Subject: big\r\n\r\n' + ('x'.repeat(98) + '\r\n').repeat(200) + '.\r\n'; // 20 kB
    const r1 = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], big);
    assert.equal(r1.code, 552, r1.last);
    assert.match(r1.last, /^552 5\.3\.4 Message size exceeds fixed maximum message size$/);
    const r2 = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], MSG + '.\r\n');
    s.close();
    assert.equal(r2.code, 250, r2.last);
    assert.equal(l.messages.length, before + 1);
    assert.ok(l.messages.at(-1)!.message.toString().endsWith(MSG));
  });

  it('refuses the recipient over maxRecipients with 452 4.5.3 and delivers to the first ones', async () => {
    const before = l.messages.length;
    const to = ['r1@dest.example', 'r2@dest.example', 'r3@dest.example', 'r4@dest.example'];
    const r = await sendWithNodemailer({ port: l.port, from: 'a@sender.example', to, message: MSG });
    assert.equal(r.ok, true, r.response);
    assert.deepEqual(r.accepted, to.slice(0, 3));
    assert.deepEqual(r.rejected, ['r4@dest.example']);
    assert.equal(l.messages.length, before + 1);
    assert.deepEqual(l.messages.at(-1)!.envelope.recipients, to.slice(0, 3));

    const { s } = await ehloSession(l.port);
    await s.cmd('MAIL FROM:<a@sender.example>');
    for (const x of to.slice(0, 3)) assert.equal((await s.cmd(`RCPT TO:<${x}>`)).code, 250);
    const over = await s.cmd('RCPT TO:<r4@dest.example>');
    const repeat = await s.cmd('RCPT TO:<R1@dest.example>');
    s.close();
    assert.equal(over.last, '452 4.5.3 Too many recipients');
    assert.equal(repeat.code, 250, 'a repeated recipient is not a new one');
  });

  it('refuses a header block over maxHeaderSize with 552 5.3.4', async () => {
    const header = 'Subject: long\r\n' + Array.from({ length: 40 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(60)}\r\n`).join('');
    const { s } = await ehloSession(l.port);
    const r = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], header + '\r\nbody\r\n.\r\n');
    s.close();
    assert.equal(r.last, '552 5.3.4 Message header size exceeds limit');
  });

  it('refuses a looping message (maxHops + 1 Received headers) with 554 5.4.14, accepts maxHops', async () => {
    const hops = (n: number) =>
      Array.from({ length: n }, (_, i) => `Received: from h${i}.example by h${i + 1}.example; Mon, 24 Nov 2025 09:00:00 +0000\r\n`).join('');
    const { s } = await ehloSession(l.port);
    const loop = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], hops(6) + MSG + '.\r\n');
    const fine = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], hops(5) + MSG + '.\r\n');
    s.close();
    assert.equal(loop.last, '554 5.4.14 Hop count exceeded - possible mail loop');
    assert.equal(fine.code, 250, fine.last);
    assert.equal(l.messages.at(-1)!.message.toString().match(/^Received:/gm)?.length, 6);
  });

  it('refuses a line longer than maxLineLength at end of data with 500 5.5.2 (after draining)', async () => {
    const { s } = await ehloSession(l.port);
    const r = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], `Subject: x\r\n\r\n${'y'.repeat(999)}\r\n.\r\n`);
    const ok = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], `Subject: x\r\n\r\n${'y'.repeat(998)}\r\n.\r\n`);
    s.close();
    assert.equal(r.last, '500 5.5.2 Line too long');
    assert.equal(ok.code, 250, '998 octets + CRLF is the RFC 5321 maximum');
  });

  it('refuses unknown MAIL parameters and any RCPT parameter with 555 5.5.4', async () => {
    const { s } = await ehloSession(l.port);
    const mail = await s.cmd('MAIL FROM:<a@sender.example> FOO=bar');
    const dsn = await s.cmd('MAIL FROM:<a@sender.example> RET=FULL');
    const good = await s.cmd('MAIL FROM:<a@sender.example> SIZE=100 BODY=8BITMIME');
    const rcpt = await s.cmd('RCPT TO:<b@dest.example> NOTIFY=NEVER');
    s.close();
    assert.match(mail.last, /^555 5\.5\.4 Unsupported MAIL parameter FOO$/);
    assert.match(dsn.last, /^555 5\.5\.4 /);
    assert.equal(good.code, 250, good.last);
    assert.match(rcpt.last, /^555 5\.5\.4 Unsupported RCPT parameter NOTIFY$/);
  });

  it('refuses a non-ASCII address without SMTPUTF8 (553 5.6.7) and takes it with SMTPUTF8', async () => {
    const { s } = await ehloSession(l.port);
    const plain = await s.cmd('MAIL FROM:<josé@sender.example>');
    const ascii = await s.cmd('MAIL FROM:<a@xn--bcher-kva.example>');
    const rcpt = await s.cmd('RCPT TO:<zoë@dest.example>');
    await s.cmd('RSET');
    const utf = await s.cmd('MAIL FROM:<josé@sender.example> SMTPUTF8');
    const rcpt2 = await s.cmd('RCPT TO:<zoë@dest.example>');
    s.close();
    assert.equal(plain.last, '553 5.6.7 Non-ASCII address requires SMTPUTF8');
    assert.equal(ascii.code, 250, 'an A-label domain is ASCII');
    assert.equal(rcpt.last, '553 5.6.7 Non-ASCII address requires SMTPUTF8');
    assert.equal(utf.code, 250, utf.last);
    assert.equal(rcpt2.code, 250, rcpt2.last);
  });
});

describe('inbound listener: connections', () => {
  it('refuses connections over maxConnectionsPerIp with 421 4.7.0 at connect', async () => {
    const l = await startListener({ limits: { maxConnectionsPerIp: 2 } });
    const a = await ehloSession(l.port);
    const b = await ehloSession(l.port);
    const c = await RawSession.connect(l.port);
    const refused = await c.read();
    assert.equal(refused.last, '421 4.7.0 Too many connections from your address, try again later');
    assert.equal(await c.waitClosed(), true);
    a.s.close();
    assert.equal(await a.s.waitClosed(), true);
    // a slot is free again once the server has seen the close; bounded retry
    let greeted = false;
    for (let i = 0; i < 20 && !greeted; i++) {
      const d = await RawSession.connect(l.port);
      greeted = (await d.read()).code === 220;
      d.close();
      if (!greeted) await new Promise((r) => setTimeout(r, 25));
    }
    b.s.close();
    await l.close();
    assert.equal(greeted, true);
  });

  it('closes an idle session after commandTimeout with 421', async () => {
    const l = await startListener({ limits: { commandTimeout: 200 } });
    const { s } = await ehloSession(l.port);
    const r = await s.read(5000); // nothing sent: the server must speak first
    assert.equal(r.last, '421 4.4.2 Timeout - closing connection');
    assert.equal(await s.waitClosed(), true);
    await l.close();
  });

  it('after 221 closes its socket at once, without waiting for the client to close its side', async () => {
    const l = await startListener();
    // a client that keeps its side open after the server's FIN (smtp-server used to wait 5 s for it)
    const s = net.connect({ port: l.port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => {});
    const ended = new Promise<void>((r) => s.once('end', r));
    try {
      await new Promise<void>((r) => s.once('data', () => r()));
      s.write('EHLO client.example\r\nQUIT\r\n');
      await ended;
      assert.match(got, /\r\n221 /);
      let gone = false;
      for (let i = 0; i < 300 && !gone; i++) {
        gone = l.server.connections() === 0;
        if (!gone) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(gone, true, 'the server still holds the connection');
      assert.equal(s.destroyed, false, 'the client had not closed');
    } finally {
      s.destroy();
      await l.close();
    }
  });

  it('counts open connections and close() ends idle sessions with 421 4.3.2', async () => {
    const l = await startListener();
    const a = await ehloSession(l.port);
    const b = await ehloSession(l.port);
    assert.equal(l.server.connections(), 2);
    const closing = l.server.close(2000);
    const ra = await a.s.read();
    const rb = await b.s.read();
    await closing;
    assert.equal(ra.last, '421 4.3.2 Service shutting down, try again later');
    assert.equal(rb.code, 421);
    assert.equal(l.server.connections(), 0);
    await assert.rejects(RawSession.connect(l.port), 'no longer accepting');
  });

  it('close() lets a message in DATA finish, then answers the next command with 421 4.3.2', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const inMessage = new Promise<void>((r) => (arrived = r));
    const l = await startListener({
      policy: {
        onMessage: async () => {
          arrived();
          await gate;
          return { kind: 'accept' };
        },
      },
    });
    const { s } = await ehloSession(l.port);
    await s.cmd('MAIL FROM:<a@sender.example>');
    await s.cmd('RCPT TO:<b@dest.example>');
    await s.cmd('DATA');
    s.write(MSG + '.\r\n');
    await inMessage;
    const closing = l.server.close(5000);
    release();
    const done = await s.read();
    assert.equal(done.code, 250, done.last);
    const next = await s.cmd('MAIL FROM:<a@sender.example>');
    assert.equal(next.last, '421 4.3.2 Service shutting down, try again later');
    await closing;
    assert.equal(l.server.connections(), 0);
  });
});

describe('inbound listener: policy decisions', () => {
  it('sends reject and defer replies exactly as the policy gave them', async () => {
    const l = await startListener({
      policy: {
        onMailFrom: (_s, from) => (from.endsWith('@blocked.example') ? { kind: 'reject', reply: reply('RELAY_DENIED') } : { kind: 'accept' }),
        onRcptTo: (_s, _e, rcpt) =>
          rcpt.startsWith('nobody@')
            ? { kind: 'reject', reply: reply('RECIPIENT_NOT_FOUND') }
            : rcpt.startsWith('later@')
              ? { kind: 'defer', reply: { code: 450, enhanced: '4.2.1', text: 'Mailbox busy' } }
              : { kind: 'accept' },
        onMessage: () => ({ kind: 'defer', reply: reply('QUEUE_FULL') }),
      },
    });
    const { s } = await ehloSession(l.port);
    const blocked = await s.cmd('MAIL FROM:<x@blocked.example>');
    await s.cmd('MAIL FROM:<a@sender.example>');
    const nobody = await s.cmd('RCPT TO:<nobody@dest.example>');
    const later = await s.cmd('RCPT TO:<later@dest.example>');
    const ok = await s.cmd('RCPT TO:<b@dest.example>');
    await s.cmd('DATA');
    s.write(MSG + '.\r\n');
    const data = await s.read();
    s.close();
    await l.close();
    assert.equal(blocked.last, '550 5.7.1 Unable to relay: not an accepted domain');
    assert.equal(nobody.last, '550 5.1.10 Recipient not found');
    assert.equal(later.last, '450 4.2.1 Mailbox busy');
    assert.equal(ok.code, 250);
    assert.equal(data.last, '452 4.3.1 Insufficient system storage');
  });

  it('refuses at connect when the policy says so', async () => {
    const l = await startListener({ policy: { onConnect: () => ({ kind: 'reject', reply: { code: 554, enhanced: '5.7.1', text: 'Go away' } }) } });
    const s = await RawSession.connect(l.port);
    const r = await s.read();
    assert.equal(r.last, '554 5.7.1 Go away');
    assert.equal(await s.waitClosed(), true);
    await l.close();
  });

  it('answers 451 4.3.0 when a hook throws or rejects, never 5xx, and keeps serving', async () => {
    const l = await startListener({
      policy: {
        onRcptTo: () => {
          throw new Error('db down');
        },
        onMailFrom: async (_s, from) => {
          if (from === 'boom@sender.example') throw new Error('async failure');
          return { kind: 'accept' };
        },
      },
    });
    const { s } = await ehloSession(l.port);
    const mail = await s.cmd('MAIL FROM:<boom@sender.example>');
    const mail2 = await s.cmd('MAIL FROM:<a@sender.example>');
    const rcpt = await s.cmd('RCPT TO:<b@dest.example>');
    const noop = await s.cmd('NOOP');
    s.close();
    await l.close();
    assert.equal(mail.last, '451 4.3.0 Temporary local problem, try again later');
    assert.equal(mail2.code, 250);
    assert.equal(rcpt.last, '451 4.3.0 Temporary local problem, try again later');
    assert.equal(noop.code, 250);
  });

  it('answers 451 4.3.0 when onMessage throws or returns a reject with a 2xx/4xx code', async () => {
    let n = 0;
    const l = await startListener({
      policy: {
        onMessage: () => {
          n++;
          if (n === 1) throw new Error('disk on fire');
          return { kind: 'reject', reply: { code: 450, enhanced: '4.0.0', text: 'confused' } };
        },
      },
    });
    const { s } = await ehloSession(l.port);
    const r1 = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], MSG + '.\r\n');
    const r2 = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], MSG + '.\r\n');
    s.close();
    await l.close();
    assert.equal(r1.last, '451 4.3.0 Temporary local problem, try again later');
    assert.equal(r2.last, '451 4.3.0 Temporary local problem, try again later');
  });

  it('answers 451 4.3.0 when a hook never answers within policyTimeout', async () => {
    const l = await startListener({
      policyTimeout: 100,
      policy: { onRcptTo: () => new Promise(() => undefined) },
    });
    const { s } = await ehloSession(l.port);
    await s.cmd('MAIL FROM:<a@sender.example>');
    const rcpt = await s.cmd('RCPT TO:<b@dest.example>');
    const noop = await s.cmd('NOOP');
    s.close();
    await l.close();
    assert.equal(rcpt.last, '451 4.3.0 Temporary local problem, try again later');
    assert.equal(noop.code, 250, 'the session goes on');
  });

  it('lets notes set at connect reach later hooks of the same session', async () => {
    const l = await startListener({
      policy: {
        onConnect: (s) => {
          s.notes['connector'] = 'partner-1';
          return { kind: 'accept' };
        },
      },
    });
    const r = await sendWithNodemailer({ port: l.port, from: 'a@sender.example', to: ['b@dest.example'], message: MSG });
    await l.close();
    assert.equal(r.ok, true);
    assert.equal(l.messages[0]!.session.notes['connector'], 'partner-1');
  });
});
