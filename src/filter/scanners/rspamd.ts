// rspamd's normal worker over HTTP: POST /checkv2 with the raw message; the envelope travels in
// request headers (IP, Helo, From, Rcpt). The answer's score is on the scale the verdict uses.
import http from 'node:http';
import type { ScanContext, ScanResult, Scanner } from './types.js';

export interface RspamdOptions {
  host: string;
  port: number;
  timeoutMs?: number;
}

interface CheckReply {
  score?: number;
  required_score?: number;
  action?: string;
  is_skipped?: boolean;
  symbols?: Record<string, { name?: string; score?: number }>;
  messages?: Record<string, string>;
}

type HttpOutcome = { kind: 'ok'; status: number; body: string } | { kind: 'unreachable'; message: string } | { kind: 'error'; message: string };

function post(message: Buffer, headers: Record<string, string>, opts: RspamdOptions): Promise<HttpOutcome> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve) => {
    let connected = false;
    const req = http.request(
      { host: opts.host, port: opts.port, method: 'POST', path: '/checkv2', headers: { ...headers, 'Content-Length': message.length }, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ kind: 'ok', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ kind: 'error', message: err.message }));
      },
    );
    req.on('socket', (s) => s.on('connect', () => (connected = true)));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(connected ? { kind: 'error', message: err.message } : { kind: 'unreachable', message: `${err.code ?? ''} ${err.message}`.trim() }));
    req.end(message);
  });
}

/** Header values must be one line of visible ASCII; addresses with anything else are left out. */
const safe = (v: string) => /^[\x21-\x7e]+$/.test(v);

export function rspamdScanner(opts: RspamdOptions): Scanner {
  const where = `${opts.host}:${opts.port}`;
  return {
    name: 'rspamd',
    async scan(message: Buffer, ctx: ScanContext): Promise<ScanResult> {
      const headers: Record<string, string> = {};
      if (safe(ctx.ip)) headers['IP'] = ctx.ip;
      if (ctx.helo && safe(ctx.helo)) headers['Helo'] = ctx.helo;
      if (ctx.sender && safe(ctx.sender)) headers['From'] = ctx.sender;
      const rcpts = ctx.recipients.filter(safe);
      // rspamd reads repeated Rcpt headers; node joins an array into one field with ", ", which rspamd also splits
      if (rcpts.length) headers['Rcpt'] = rcpts.join(',');
      const r = await post(message, headers, opts);
      if (r.kind === 'unreachable') return { scanner: 'rspamd', status: 'unavailable', detail: `rspamd ${where} unreachable: ${r.message}` };
      if (r.kind === 'error') return { scanner: 'rspamd', status: 'error', detail: `rspamd ${where}: ${r.message}` };
      if (r.status !== 200) return { scanner: 'rspamd', status: 'error', detail: `rspamd ${where}: HTTP ${r.status} ${r.body.slice(0, 200)}` };
      let reply: CheckReply;
      try {
        reply = JSON.parse(r.body) as CheckReply;
      } catch {
        return { scanner: 'rspamd', status: 'error', detail: `rspamd ${where}: answer is not JSON` };
      }
      if (typeof reply.score !== 'number') return { scanner: 'rspamd', status: 'error', detail: `rspamd ${where}: answer has no score` };
      const symbols = Object.values(reply.symbols ?? {})
        .filter((s) => s.name && (s.score ?? 0) !== 0 || s.name === 'GTUBE')
        .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
        .map((s) => `${s.name}(${Number((s.score ?? 0).toFixed(2))})`);
      // GTUBE and other pre-filters skip scoring but say reject; keep that visible in the score too
      const score = reply.action === 'reject' ? Math.max(reply.score, reply.required_score ?? 15) : reply.score;
      const note = reply.messages?.smtp_message ? `; ${reply.messages.smtp_message}` : '';
      return { scanner: 'rspamd', status: 'ok', score, symbols, action: reply.action, detail: `rspamd ${where}: ${reply.action ?? 'no action'} score ${reply.score}${note}` };
    },
  };
}
