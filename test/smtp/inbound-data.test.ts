// Bytes on the wire: bare CR/LF normalised, smuggling refused, over raw sockets and as a unit.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DataNormalizer } from '../../src/smtp/inbound/data-normalize.js';
import { receiveData } from '../../src/smtp/inbound/data.js';
import { ehloSession, rawTransaction, startListener, type TestListener } from '../helpers/smtp.js';

/** Feeds `input` split at `cuts` through a DataNormalizer; returns output and problem. */
async function normalize(input: string, cuts: number[] = [], maxLineLength = 1000) {
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    chunks.push(Buffer.from(input.slice(prev, c), 'latin1'));
    prev = c;
  }
  const n = new DataNormalizer({ maxLineLength });
  const out: Buffer[] = [];
  n.on('data', (b: Buffer) => out.push(b));
  await new Promise<void>((resolve, reject) => {
    n.on('end', resolve);
    n.on('error', reject);
    for (const c of chunks) if (c.length) n.write(c);
    n.end();
  });
  return { out: Buffer.concat(out).toString('latin1'), problem: n.problem, bare: n.bareLineEnds };
}

/** Every way of splitting `input` in two, plus unsplit: framing must not depend on TCP segmentation. */
async function allSplits(input: string, maxLineLength = 1000) {
  const results = [await normalize(input, [], maxLineLength)];
  for (let i = 1; i < input.length; i++) results.push(await normalize(input, [i], maxLineLength));
  return results;
}

describe('DataNormalizer', () => {
  it('leaves CRLF text alone and keeps a dot-stuffed "." line (CRLF on both sides)', async () => {
    const input = 'a: b\r\n\r\nline\r\n.\r\nmore\r\n';
    for (const r of await allSplits(input)) {
      assert.equal(r.out, input);
      assert.equal(r.problem, null);
      assert.equal(r.bare, 0);
    }
  });

  it('rewrites bare LF and bare CR as CRLF, whatever the chunking', async () => {
    for (const r of await allSplits('a: b\n\nx\ry\r\rz\r\n\n')) {
      assert.equal(r.out, 'a: b\r\n\r\nx\r\ny\r\n\r\nz\r\n\r\n');
      assert.equal(r.problem, null);
      assert.equal(r.bare, 6);
    }
  });

  it('turns a trailing bare CR into CRLF at the end of the stream', async () => {
    const r = await normalize('x\r');
    assert.equal(r.out, 'x\r\n');
  });

  for (const [name, seq] of [
    ['<CRLF>.<LF>', 'a\r\n.\nb\r\n'],
    ['<LF>.<CRLF>', 'a\n.\r\nb\r\n'],
    ['<LF>.<LF>', 'a\n.\nb\r\n'],
    ['<CR>.<CR>', 'a\r.\rb\r\n'],
    ['<CRLF>.<CR>', 'a\r\n.\rb\r\n'],
    ['<CR>.<CRLF>', 'a\r.\r\nb\r\n'],
    ['start of data, .<LF>', '.\nb\r\n'],
  ] as const) {
    it(`flags ${name} as smuggling and emits nothing after it`, async () => {
      for (const r of await allSplits(seq)) {
        assert.equal(r.problem, 'smuggling', JSON.stringify(r));
        assert.ok(!r.out.includes('b'), 'nothing after the flag is emitted');
      }
    });
  }

  it('does not flag a dot that is not alone on its line', async () => {
    for (const r of await allSplits('a\n.b\n..\nc.\n')) assert.equal(r.problem, null);
  });

  it('flags a line longer than maxLineLength (CRLF counted), across chunks', async () => {
    for (const r of await allSplits('12345678\r\nab\r\n', 10)) assert.equal(r.problem, null);
    for (const r of await allSplits('123456789\r\nab\r\n', 10)) assert.equal(r.problem, 'line-too-long');
    for (const r of await allSplits('123456789\nab\r\n', 10)) assert.equal(r.problem, 'line-too-long');
  });

  it('prefers the smuggling verdict over a long line', async () => {
    const r = await normalize('1234567890123\r\nx\n.\r\n', [], 10);
    assert.equal(r.problem, 'smuggling');
  });

  it('stays linear on a large LF-only message (one indexOf pass per kind of line end)', async () => {
    const line = 'x'.repeat(70) + '\n';
    const big = line.repeat(50_000); // 3.5 MB
    const r = await normalize(big, [1_000_000, 2_000_000]);
    assert.equal(r.out.length, big.length + 50_000);
    assert.equal(r.problem, null);
  });
});

describe('receiveData', () => {
  it('stops buffering past maxMessageSize but reads the stream to its end', async () => {
    const chunks = Array.from({ length: 100 }, () => Buffer.from('y'.repeat(98) + '\r\n'));
    const src = Readable.from(chunks);
    const r = await receiveData(src, { maxMessageSize: 1000, maxLineLength: 1000 });
    assert.equal(r.bytes, 10_000);
    assert.equal(r.message, null);
    assert.equal(src.readableEnded, true);
  });

  it('returns the normalised message when within limits', async () => {
    const r = await receiveData(Readable.from([Buffer.from('a: b\n\nhi\n')]), { maxMessageSize: 1000, maxLineLength: 1000 });
    assert.equal(r.message?.toString(), 'a: b\r\n\r\nhi\r\n');
    assert.equal(r.bytes, 9);
  });
});

describe('inbound listener: line ends on the wire (raw sockets)', () => {
  let l: TestListener;
  before(async () => {
    l = await startListener();
  });
  after(() => l.close());

  it('normalises bare LF and bare CR in DATA to CRLF before onMessage', async () => {
    const { s } = await ehloSession(l.port);
    const r = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], 'Subject: lf\n\nline1\nline2\rline3\r\n.\r\n');
    s.close();
    assert.equal(r.code, 250, r.last);
    const body = l.messages.at(-1)!.message.toString();
    assert.ok(body.endsWith('Subject: lf\r\n\r\nline1\r\nline2\r\nline3\r\n'), JSON.stringify(body));
  });

  for (const [name, sep] of [
    ['<CRLF>.<LF>', '\r\n.\n'],
    ['<LF>.<CRLF>', '\n.\r\n'],
    ['<CR>.<CR>', '\r.\r'],
  ] as const) {
    it(`refuses a smuggling attempt with ${name} (554 5.6.0) and never makes a second message`, async () => {
      const before = l.messages.length;
      const { s } = await ehloSession(l.port);
      const payload =
        `Subject: first\r\n\r\nhello${sep}` +
        'MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@dest.example>\r\nDATA\r\n' +
        'Subject: smuggled\r\n\r\nevil\r\n.\r\n';
      const r = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], payload);
      // the next reply must be the one to our QUIT: none of the smuggled commands ran
      const quit = await s.cmd('QUIT');
      s.close();
      assert.equal(r.last, '554 5.6.0 Bare CR or LF in message data is not allowed');
      assert.equal(quit.code, 221, quit.last);
      assert.equal(l.messages.length, before, 'no message at all, let alone two');
    });
  }

  it('keeps a dot-stuffed line intact and accepts it', async () => {
    const { s } = await ehloSession(l.port);
    const r = await rawTransaction(s, 'a@sender.example', ['b@dest.example'], 'Subject: dots\r\n\r\na\r\n..\r\n...x\r\n.\r\n');
    s.close();
    assert.equal(r.code, 250, r.last);
    assert.ok(l.messages.at(-1)!.message.toString().endsWith('\r\n\r\na\r\n.\r\n..x\r\n'));
  });
});
