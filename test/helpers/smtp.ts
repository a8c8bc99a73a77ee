// SMTP test clients: a raw socket session that sends exact bytes and reads whole replies, and a
// nodemailer SMTPConnection wrapper for ordinary sends. Every wait is bounded.

import net from 'node:net';
import tls from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { createInboundServer } from '../../src/smtp/inbound/server.js';
import type {
  Decision,
  Envelope,
  InboundLimits,
  InboundPolicy,
  InboundServer,
  InboundServerOptions,
  SessionInfo,
} from '../../src/smtp/inbound/types.js';

export interface SmtpReply {
  code: number;
  lines: string[];
  /** All lines joined with "\n", each without its "NNN-" / "NNN " prefix. */
  text: string;
  /** The last line as sent, e.g. "550 5.1.10 Recipient not found". */
  last: string;
}

const WAIT_MS = 5000;

export class RawSession {
  private socket: net.Socket | tls.TLSSocket;
  private buf = '';
  private replies: SmtpReply[] = [];
  private waiters: Array<(r: SmtpReply | null) => void> = [];
  /** True once the server closed the connection. */
  ended = false;
  /** Everything the server has sent so far, as latin1 text. */
  raw = '';

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects without waiting for the greeting. */
  static connect(port: number, host = '127.0.0.1'): Promise<RawSession> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawSession(s));
      });
      s.once('error', reject);
    });
  }

  private attach(s: net.Socket | tls.TLSSocket): void {
    s.setEncoding('latin1');
    s.on('data', (d: string) => this.onData(d));
    s.on('error', () => this.onEnd());
    s.on('close', () => this.onEnd());
    s.on('end', () => this.onEnd());
  }

  private onData(d: string): void {
    this.raw += d;
    this.buf += d;
    let nl: number;
    let lines: string[] = [];
    // gather complete multi-line replies
    while ((nl = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 2);
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        this.push({
          code: Number(line.slice(0, 3)),
          lines,
          text: lines.map((l) => l.slice(4)).join('\n'),
          last: line,
        });
        lines = [];
      }
    }
    if (lines.length) this.buf = lines.map((l) => l + '\r\n').join('') + this.buf;
  }

  private push(r: SmtpReply): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else this.replies.push(r);
  }

  private onEnd(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /** Next reply; rejects after `ms` or if the connection ends first. */
  read(ms = WAIT_MS): Promise<SmtpReply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no reply within ${ms} ms`));
      }, ms);
      const waiter = (x: SmtpReply | null) => {
        clearTimeout(timer);
        if (x) resolve(x);
        else reject(new Error('connection closed'));
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if a reply is already waiting or arrives within `ms`, without consuming it. */
  async hasReplyWithin(ms: number): Promise<boolean> {
    try {
      const r = await this.read(ms);
      this.replies.unshift(r);
      return true;
    } catch {
      return false;
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string, ms = WAIT_MS): Promise<SmtpReply> {
    this.write(line + '\r\n');
    return this.read(ms);
  }

  /** Resolves when the server has closed the connection (bounded). */
  waitClosed(ms = WAIT_MS): Promise<boolean> {
    if (this.ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** TLS handshake on the current socket (after a 220 to STARTTLS). Drops any unread plaintext. */
  startTls(opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
    const raw = this.socket as net.Socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('end');
    raw.removeAllListeners('error');
    this.buf = '';
    return new Promise((resolve, reject) => {
      const s = tls.connect({ socket: raw, servername: 'localhost', rejectUnauthorized: false, ...opts }, () => {
        s.off('error', reject);
        this.socket = s;
        this.attach(s);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends the standard opening and one message over a raw session; returns the final reply. */
export async function rawTransaction(
  s: RawSession,
  from: string,
  to: string[],
  data: string | Buffer,
): Promise<SmtpReply> {
  for (const line of [`MAIL FROM:<${from}>`, ...to.map((r) => `RCPT TO:<${r}>`)]) {
    const r = await s.cmd(line);
    if (r.code >= 400) return r;
  }
  const go = await s.cmd('DATA');
  if (go.code !== 354) return go;
  s.write(data);
  return s.read();
}

export interface SendOptions {
  port: number;
  host?: string;
  from: string;
  to: string[];
  message: string | Buffer;
  /** Client name for EHLO. */
  name?: string;
  tls?: tls.ConnectionOptions;
  requireTLS?: boolean;
}

export interface SendResult {
  ok: boolean;
  /** Final server response line (success) or the error's response. */
  response: string;
  responseCode?: number;
  accepted: string[];
  rejected: string[];
}

/** One message through nodemailer's SMTP client; resolves with the outcome instead of throwing. */
export function sendWithNodemailer(o: SendOptions): Promise<SendResult> {
  return new Promise((resolve) => {
    const conn = new SMTPConnection({
      port: o.port,
      host: o.host ?? '127.0.0.1',
      name: o.name ?? 'client.test',
      ignoreTLS: !o.tls && !o.requireTLS,
      requireTLS: !!o.requireTLS,
      tls: { rejectUnauthorized: false, ...o.tls },
      connectionTimeout: WAIT_MS,
      greetingTimeout: WAIT_MS,
      socketTimeout: WAIT_MS,
    });
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      conn.close();
      resolve(r);
    };
    const fail = (err: SMTPConnection.SMTPError) =>
      finish({ ok: false, response: err.response ?? err.message, responseCode: err.responseCode, accepted: [], rejected: [] });
    conn.on('error', fail);
    conn.connect((err) => {
      if (err) return fail(err);
      conn.send({ from: o.from, to: o.to }, o.message, (err2, info) => {
        if (err2) return fail(err2);
        finish({ ok: true, response: info.response, accepted: info.accepted, rejected: info.rejected });
      });
    });
  });
}

// ---- an inbound listener with a recording policy ----
export const TEST_LIMITS: InboundLimits = {
  maxMessageSize: 10_000,
  maxRecipients: 3,
  maxLineLength: 1000,
  maxHeaderSize: 2000,
  maxHops: 5,
  maxConnectionsPerIp: 3,
  commandTimeout: 10_000,
};

export interface Received {
  session: SessionInfo;
  envelope: Envelope;
  message: Buffer;
}

export interface TestListener {
  server: InboundServer;
  port: number;
  messages: Received[];
  /** Snapshots of SessionInfo seen by each hook, in order. */
  seen: Array<{ hook: string; session: SessionInfo }>;
  close(): Promise<void>;
}

/** Starts a listener on 127.0.0.1:0 that accepts everything unless `policy` overrides a hook. */
export async function startListener(
  over: Partial<Omit<InboundServerOptions, 'policy' | 'limits'>> & {
    limits?: Partial<InboundLimits>;
    policy?: Partial<InboundPolicy>;
  } = {},
): Promise<TestListener> {
  const messages: Received[] = [];
  const seen: TestListener['seen'] = [];
  const snap = (hook: string, s: SessionInfo) => seen.push({ hook, session: structuredClone(s) });
  const accept: Decision = { kind: 'accept' };
  const p = over.policy ?? {};
  const policy: InboundPolicy = {
    onConnect: (s) => (snap('connect', s), p.onConnect ? p.onConnect(s) : accept),
    onMailFrom: (s, from) => (snap('mail', s), p.onMailFrom ? p.onMailFrom(s, from) : accept),
    onRcptTo: (s, env, rcpt) => (snap('rcpt', s), p.onRcptTo ? p.onRcptTo(s, env, rcpt) : accept),
    onMessage: (s, env, msg) => {
      snap('message', s);
      if (p.onMessage) return p.onMessage(s, env, msg);
      messages.push({ session: structuredClone(s), envelope: structuredClone(env), message: msg });
      return accept;
    },
  };
  const server = createInboundServer({
    hostname: 'mx.test.example',
    host: '127.0.0.1',
    port: 0,
    greetingDelay: 0,
    role: 'gateway',
    ...over,
    limits: { ...TEST_LIMITS, ...over.limits },
    policy,
  });
  const { port } = await server.listen();
  return { server, port, messages, seen, close: () => server.close(1000) };
}

/** Opens a raw session, reads the greeting and sends EHLO; returns the session and the EHLO reply. */
export async function ehloSession(port: number, name = 'client.test'): Promise<{ s: RawSession; ehlo: SmtpReply }> {
  const s = await RawSession.connect(port);
  const greeting = await s.read();
  if (greeting.code !== 220) throw new Error(`greeting: ${greeting.last}`);
  const ehlo = await s.cmd(`EHLO ${name}`);
  return { s, ehlo };
}
