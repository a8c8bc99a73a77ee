// clamd over TCP with the INSTREAM command (clamd(8)): `zINSTREAM\0`, chunks of <u32 length><bytes>,
// a zero-length chunk; the answer is `stream: OK`, `stream: <name> FOUND`, or `... ERROR`.
// clamd decodes MIME and archives itself (ScanMail/ScanArchive default on), so the whole RFC 822
// message is streamed.
import net from 'node:net';
import type { ScanContext, ScanResult, Scanner } from './types.js';

export interface ClamdOptions {
  host: string;
  port: number;
  timeoutMs?: number;
}

const CHUNK = 64 * 1024;

export type ClamdReply = { kind: 'clean' } | { kind: 'found'; signature: string } | { kind: 'error'; message: string } | { kind: 'unreachable'; message: string };

/** One INSTREAM exchange. Connection trouble is `unreachable`; anything clamd says is parsed. */
export function clamdInstream(data: Buffer, opts: ClamdOptions): Promise<ClamdReply> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const chunks: Buffer[] = [];
    const done = (r: ClamdReply) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(r);
    };
    const sock = net.connect({ host: opts.host, port: opts.port });
    sock.setTimeout(timeoutMs, () => done(connected ? { kind: 'error', message: `no answer within ${timeoutMs} ms` } : { kind: 'unreachable', message: `connect timeout after ${timeoutMs} ms` }));
    sock.on('connect', () => {
      connected = true;
      sock.write('zINSTREAM\0');
      for (let i = 0; i < data.length; i += CHUNK) {
        const part = data.subarray(i, i + CHUNK);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(part.length);
        sock.write(len);
        sock.write(part);
      }
      sock.end(Buffer.alloc(4));
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // clamd closes early on a size-limit error; what it said before that still counts
      if (chunks.length) return done(parseClamdReply(Buffer.concat(chunks).toString('latin1')));
      done(connected ? { kind: 'error', message: err.message } : { kind: 'unreachable', message: `${err.code ?? ''} ${err.message}`.trim() });
    });
    sock.on('close', () => done(parseClamdReply(Buffer.concat(chunks).toString('latin1'))));
  });
}

export function parseClamdReply(raw: string): ClamdReply {
  const reply = raw.replace(/\0+$/, '').trim();
  if (reply === 'stream: OK') return { kind: 'clean' };
  const m = /^stream: (.+) FOUND$/.exec(reply);
  if (m) return { kind: 'found', signature: m[1]! };
  return { kind: 'error', message: reply ? reply : 'clamd closed the connection without an answer' };
}

export function clamdScanner(opts: ClamdOptions): Scanner {
  const where = `${opts.host}:${opts.port}`;
  return {
    name: 'clamd',
    async scan(message: Buffer, _ctx: ScanContext): Promise<ScanResult> {
      const r = await clamdInstream(message, opts);
      switch (r.kind) {
        case 'clean':
          return { scanner: 'clamd', status: 'ok', detail: `clamd ${where}: no malware found` };
        case 'found':
          return { scanner: 'clamd', status: 'ok', malware: r.signature, symbols: [`MALWARE(${r.signature})`], detail: `clamd ${where}: ${r.signature} FOUND` };
        case 'unreachable':
          return { scanner: 'clamd', status: 'unavailable', detail: `clamd ${where} unreachable: ${r.message}` };
        case 'error':
          return { scanner: 'clamd', status: 'error', detail: `clamd ${where}: ${r.message}` };
      }
    },
  };
}
