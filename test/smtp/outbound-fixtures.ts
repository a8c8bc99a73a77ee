// Receiving sides for the outbound client tests, on 127.0.0.1 port 0: an smtp-server with a scripted
// per-recipient policy, and a raw line-scripted server for misbehaviour smtp-server cannot produce
// (dropping mid-DATA, bad greetings, broken STARTTLS). Every wait is bounded.
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  secure: boolean;
  mailArgs: Record<string, unknown>;
}

export interface Receiver {
  port: number;
  messages: Received[];
  /** TCP connections accepted. */
  connections: number;
  /** Client address of each connection. */
  remotes: string[];
  /** CN of the client certificate per TLS session ('' when none was presented). */
  clientSubjects: string[];
  server: SMTPServer;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Offer STARTTLS with this key pair. */
  tls?: { key: string; cert: string };
  requestCert?: boolean;
  extra?: Partial<SMTPServerOptions>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * Policy by local part: `defer*` → 450 4.2.1 at RCPT, `reject*` → 550 5.1.1 at RCPT,
 * `datareject*` → 554 5.7.1 after DATA, `datadefer*` → 451 4.3.0 after DATA; anything else is accepted.
 */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const r: Omit<Receiver, 'port' | 'close'> & { port: number } = {
    port: 0,
    messages: [],
    connections: 0,
    remotes: [],
    clientSubjects: [],
    server: undefined as unknown as SMTPServer,
  };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['AUTH', ...(opts.tls ? [] : ['STARTTLS'])],
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    ...(opts.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
    closeTimeout: 1000,
    logger: false,
    onConnect(session, cb) {
      r.connections++;
      r.remotes.push(session.remoteAddress);
      cb();
    },
    onSecure(socket, _session, cb) {
      const cert = (socket as TLSSocket).getPeerCertificate?.();
      r.clientSubjects.push(cert && cert.subject ? String(cert.subject.CN ?? '') : '');
      cb();
    },
    onRcptTo(address, _session, cb) {
      const local = address.address.split('@')[0]!.toLowerCase();
      if (local.startsWith('defer')) return cb(smtpError(450, '4.2.1 Mailbox busy, try later'));
      if (local.startsWith('reject')) return cb(smtpError(550, '5.1.1 No such user here'));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((a) => a.address);
        const locals = to.map((a) => a.split('@')[0]!.toLowerCase());
        if (locals.some((l) => l.startsWith('datareject'))) return cb(smtpError(554, '5.7.1 Message rejected as spam'));
        if (locals.some((l) => l.startsWith('datadefer'))) return cb(smtpError(451, '4.3.0 Temporary failure, try later'));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const mailArgs = (session.envelope.mailFrom ? (session.envelope.mailFrom as { args?: Record<string, unknown> }).args : undefined) ?? {};
        r.messages.push({ from, to, raw: Buffer.concat(chunks), secure: session.secure, mailArgs });
        cb();
      });
    },
    ...opts.extra,
  });
  server.on('error', () => undefined);
  r.server = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as net.AddressInfo).port;
  return Object.assign(r, {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Reads CRLF lines from a socket; `line()` resolves null when the peer is gone or after `ms`. */
export class LineReader {
  private buf = '';
  private waiting: ((l: string | null) => void) | null = null;
  private ended = false;
  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.flush();
    });
    const end = () => {
      this.ended = true;
      this.flush();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }
  private flush(): void {
    if (!this.waiting) return;
    const i = this.buf.indexOf('\r\n');
    if (i >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const w = this.waiting;
      this.waiting = null;
      w(line);
    } else if (this.ended) {
      const w = this.waiting;
      this.waiting = null;
      w(null);
    }
  }
  line(ms = 5000): Promise<string | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, ms);
      this.waiting = (l) => {
        clearTimeout(t);
        resolve(l);
      };
      this.flush();
    });
  }
}

export interface Scripted {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A raw TCP server that runs `script` for every connection. */
export async function startScripted(script: (socket: net.Socket, lines: LineReader, n: number) => Promise<void>): Promise<Scripted> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void script(socket, new LineReader(socket), state.connections).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function ehloReply(extensions: string[]): string {
  const lines = ['scripted.test', ...extensions];
  return lines.map((x, i) => `250${i === lines.length - 1 ? ' ' : '-'}${x}\r\n`).join('');
}

/** A plain SMTP dialogue up to and including the DATA command; returns false if the client left. */
export async function scriptEnvelope(socket: net.Socket, lines: LineReader, ehlo = ['PIPELINING']): Promise<boolean> {
  socket.write('220 scripted.test ESMTP\r\n');
  for (;;) {
    const l = await lines.line();
    if (l === null) return false;
    const verb = l.split(/[ :]/)[0]!.toUpperCase();
    if (verb === 'EHLO') socket.write(ehloReply(ehlo));
    else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET') socket.write('250 2.0.0 OK\r\n');
    else if (verb === 'DATA') {
      socket.write('354 go ahead\r\n');
      return true;
    } else if (verb === 'QUIT') {
      socket.end('221 bye\r\n');
      return false;
    } else socket.write('502 5.5.1 not implemented\r\n');
  }
}

/** A free loopback port nobody listens on (listen on 0, note the port, close). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}
