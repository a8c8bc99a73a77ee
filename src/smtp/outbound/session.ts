// One SMTP client session on nodemailer's low-level SMTPConnection, turned into promises that never
// reject for remote trouble: opening gives a session or a classified failure; a transaction gives the
// replies (TransactionFacts) that classify.ts turns into per-recipient outcomes. A server that
// advertises PIPELINING gets the envelope in one write (pipelining.ts); others, nodemailer's send.
//
// SMTPConnection reports a dropped connection only through its 'error'/'end' events (a pending send
// callback is never called), so every operation here also settles when the connection goes away.
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { reply, type Reply } from '../replies.js';
import { classifyError, failureReply, parseReply, type ConnectionFailure, type ErrorFacts, type TransactionFacts } from './classify.js';
import { corkUntilReleased } from '../../util/cork.js';
import { canPipeline, sendPipelined, type PipelineConn } from './pipelining.js';
import { checkPeer, type TlsPlan } from './tls-policy.js';

export interface SessionTimeouts {
  /** TCP connect. */
  connectMs: number;
  /** Connect to 220 greeting. */
  greetingMs: number;
  /** Inactivity on an open connection (each command, the data transfer). */
  socketMs: number;
}

export interface OpenParams {
  host: string;
  port: number;
  localAddress?: string;
  /** EHLO name. */
  hostname: string;
  plan: TlsPlan;
  timeouts: SessionTimeouts;
}

export type OpenResult =
  | { ok: true; session: SmtpSession }
  | { ok: false; failure: ConnectionFailure; tlsHandshakeFailed: boolean; remote: string };

/** Fields of SMTPConnection that its typings do not declare; read-only use, checked defensively. */
interface ConnInternals {
  upgrading?: boolean;
  _socket?: Socket | TLSSocket | false;
  _supportedExtensions?: string[];
  _envelope?: { rejectedErrors?: SMTPConnection.SMTPError[] } | false;
}

function internals(conn: SMTPConnection): ConnInternals {
  return conn as unknown as ConnInternals;
}

export class SmtpSession {
  /** The connection ended (either side). */
  closed = false;
  /** Something went wrong (error, 421): do not reuse. */
  broken = false;
  /** Called once when the connection ends. */
  onClose: (() => void) | null = null;
  private pending: ((f: ErrorFacts) => void) | null = null;
  private lastError: ErrorFacts | null = null;
  remote: string;

  constructor(
    readonly conn: SMTPConnection,
    target: string,
  ) {
    this.remote = target;
    conn.on('error', (err) => {
      const f = errorFacts(conn, err);
      this.lastError = f;
      this.broken = true;
      this.pending?.(f);
    });
    conn.on('end', () => {
      this.closed = true;
      this.broken = true;
      this.pending?.(this.lastError ?? { code: 'ECONNECTION', message: 'connection closed by server', connected: true, duringTls: false });
      const cb = this.onClose;
      this.onClose = null;
      cb?.();
    });
  }

  /** Settle the current operation if the connection fails (null: nothing is waiting). */
  watch(fn: ((f: ErrorFacts) => void) | null): void {
    this.pending = fn;
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  /** The server advertised SMTPUTF8 and nodemailer will add the parameter for non-ASCII envelopes. */
  get smtpUtf8(): boolean {
    return internals(this.conn)._supportedExtensions?.includes('SMTPUTF8') ?? false;
  }

  /** When the last transaction ended with a reply to its data (the server's state is reset), else 0. */
  private finishedAt = 0;

  /**
   * A connection whose last transaction completed moments ago is reused without RSET: the end of
   * data reset the server's state (RFC 5321 §4.1.1.4) and a server that closed since would have sent
   * its FIN first, which marks us closed. The rare race is covered by the caller (client.ts: a warm
   * transaction that read no byte back is sent once more on a verified connection).
   */
  warm(now: number, withinMs: number): boolean {
    return !this.closed && !this.broken && this.finishedAt > 0 && now - this.finishedAt < withinMs;
  }

  /** Bytes received so far: a transaction that got none back cannot have been accepted. */
  get bytesRead(): number {
    const sock = internals(this.conn)._socket;
    return sock ? sock.bytesRead : 0;
  }

  /** RSET before reuse: resets the transaction and proves the idle connection is still alive. */
  reset(): Promise<boolean> {
    if (this.closed || this.broken) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending = () => {
        this.pending = null;
        resolve(false);
      };
      this.conn.reset((err) => {
        this.pending = null;
        if (err) this.broken = true;
        else this.finishedAt = Date.now();
        resolve(!err);
      });
    });
  }

  transact(sender: string, recipients: string[], body: Buffer, use8BitMime: boolean): Promise<TransactionFacts> {
    if (this.closed) return Promise.resolve({ rcptRefused: new Map(), lost: reply('CONNECTION_DROPPED') });
    return new Promise((resolve) => {
      let settled = false;
      const done = (t: TransactionFacts) => {
        if (settled) return;
        settled = true;
        this.pending = null;
        // 421 means the server is closing the channel (RFC 5321 §3.8): never reuse it.
        const replies = [t.mailRefused, t.dataReply, ...t.rcptRefused.values()];
        if (replies.some((r) => r?.code === 421)) this.broken = true;
        this.finishedAt = t.dataReply && !t.lost ? Date.now() : 0;
        resolve(t);
      };
      const pipe = this.conn as unknown as PipelineConn;
      if (canPipeline(pipe)) {
        const refused = new Map<string, Reply>();
        this.pending = (f) => done({ rcptRefused: new Map(refused), lost: failureReply(classifyError(f)) });
        sendPipelined(pipe, { sender, recipients, body, use8BitMime, refused }, done);
        return;
      }
      this.pending = (f) => done({ rcptRefused: this.refusedSoFar(), lost: failureReply(classifyError(f)) });
      // `use8BitMime` is read by SMTPConnection but missing from its typings.
      const envelope = { from: sender, to: recipients, size: body.length, use8BitMime } as SMTPConnection.Envelope;
      this.conn.send(envelope, body, (err, info) => {
        if (!err) {
          done({ rcptRefused: refusedMap(info.rejectedErrors), dataReply: parseReply(info.response) });
          return;
        }
        done(this.transactionError(err));
      });
    });
  }

  private transactionError(err: SMTPConnection.SMTPError & { rejectedErrors?: SMTPConnection.SMTPError[] }): TransactionFacts {
    const response = typeof err.response === 'string' ? err.response : undefined;
    if (err.code === 'EMESSAGE' && !response && err.command === 'MAIL FROM') {
      // Client-side SIZE check against the server's advertised limit.
      return { rcptRefused: new Map(), mailRefused: reply('MESSAGE_TOO_BIG', err.message) };
    }
    if (response && err.command === 'MAIL FROM') return { rcptRefused: new Map(), mailRefused: parseReply(response) };
    if (err.command === 'RCPT TO' && err.rejectedErrors) return { rcptRefused: refusedMap(err.rejectedErrors) };
    if (response && err.command === 'DATA') return { rcptRefused: this.refusedSoFar(), dataReply: parseReply(response) };
    if (err.code === 'EENVELOPE' && !response) {
      // The client refused our envelope before sending it (we validate addresses first, so rare).
      return { rcptRefused: new Map(), mailRefused: reply('BAD_ADDRESS', err.message) };
    }
    this.broken = true;
    return { rcptRefused: this.refusedSoFar(), lost: failureReply(classifyError(errorFacts(this.conn, err))) };
  }

  private refusedSoFar(): Map<string, Reply> {
    const env = internals(this.conn)._envelope;
    return refusedMap(env ? env.rejectedErrors : undefined);
  }

  /** Polite close: QUIT, then force the socket shut if the server does not answer. */
  quit(graceMs = 2000): void {
    if (this.closed) return;
    this.broken = true;
    try {
      this.conn.quit();
    } catch {
      this.conn.close();
    }
    setTimeout(() => this.conn.close(), graceMs).unref();
  }

  /** Resolves when the connection has ended. */
  ended(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.conn.once('end', () => resolve()));
  }
}

function refusedMap(errors: SMTPConnection.SMTPError[] | undefined): Map<string, Reply> {
  const m = new Map<string, Reply>();
  for (const e of errors ?? []) {
    const rcpt = (e as { recipient?: string }).recipient;
    if (rcpt) m.set(rcpt, typeof e.response === 'string' ? parseReply(e.response) : reply('CONNECTION_DROPPED', e.message));
  }
  return m;
}

function errorFacts(conn: SMTPConnection, err: SMTPConnection.SMTPError | Error): ErrorFacts {
  const e = err as SMTPConnection.SMTPError;
  return {
    code: e.code,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: e.message,
    response: typeof e.response === 'string' ? e.response : undefined,
    connected: conn.stage === 'connected',
    duringTls: internals(conn).upgrading === true || e.code === 'ETLS',
  };
}

/**
 * The message and its final "\r\n.\r\n" in one write. nodemailer pipes the dot-stuffed body into the
 * socket chunk by chunk and the terminating dot as a chunk of its own, each its own write(2) (and
 * TLS record): on a busy relay those writes were half the SMTP client thread's time. The socket is
 * corked while the data stream is read and uncorked when it ends, so the kernel gets one writev.
 */
function coalesceData(conn: SMTPConnection): void {
  const inner = conn as unknown as { _createSendStream?: (cb: unknown) => NodeJS.ReadableStream };
  const create = inner._createSendStream;
  // a nodemailer without this internal still works, one write per chunk
  if (typeof create !== 'function') return;
  inner._createSendStream = function (this: SMTPConnection, cb: unknown) {
    const stream = create.call(this, cb);
    const sock = internals(conn)._socket;
    if (sock && !sock.destroyed) {
      const release = corkUntilReleased(sock);
      // a body larger than the socket's buffer makes the pipe pause until 'drain', which a corked
      // socket never emits: let it flow from there
      stream.once('pause', release);
      stream.once('end', release);
      stream.once('error', release);
      stream.once('close', release);
    }
    return stream;
  };
}

/** Connect, greet, EHLO, STARTTLS per plan, and judge the TLS peer. */
export function openSession(p: OpenParams): Promise<OpenResult> {
  const conn = new SMTPConnection({
    host: p.host,
    port: p.port,
    localAddress: p.localAddress,
    name: p.hostname,
    secure: false,
    ignoreTLS: p.plan.ignoreTls,
    // Opportunistic: a STARTTLS answered with an error continues in plaintext; other policies fail.
    opportunisticTLS: p.plan.policy === 'opportunistic',
    tls: p.plan.tlsOptions,
    connectionTimeout: p.timeouts.connectMs,
    greetingTimeout: p.timeouts.greetingMs,
    socketTimeout: p.timeouts.socketMs,
    logger: false,
  });
  coalesceData(conn);
  const target = `${p.host}:${p.port}`;
  const session = new SmtpSession(conn, target);
  return new Promise((resolve) => {
    let settled = false;
    const fail = (failure: ConnectionFailure, tlsHandshakeFailed = false) => {
      if (settled) return;
      settled = true;
      session.watch(null);
      session.quit();
      resolve({ ok: false, failure, tlsHandshakeFailed, remote: session.remote });
    };
    session.watch((f) => fail(classifyError(f), f.duringTls && !/^[45]\d\d/.test(f.response ?? '')));
    conn.connect(() => {
      if (settled) return;
      const sock = internals(conn)._socket;
      if (sock && sock.remoteAddress) session.remote = `${sock.remoteAddress}:${sock.remotePort}`;
      // SMTP is request/response with small writes (nodemailer writes the body and the final
      // "\r\n.\r\n" separately): Nagle + delayed ACK would add ~40 ms to every pooled message.
      if (sock) sock.setNoDelay(true);
      if (p.plan.mustEncrypt && !conn.secure) {
        return fail({ kind: 'connect', detail: `TLS is required (${p.plan.policy}) but the server did not offer STARTTLS` });
      }
      if (conn.secure && sock) {
        const tlsSock = sock as TLSSocket;
        const reason = checkPeer(p.plan, {
          authorized: tlsSock.authorized,
          authorizationError: tlsSock.authorizationError ? String(tlsSock.authorizationError) : undefined,
          certificate: tlsSock.getPeerCertificate(),
        });
        if (reason) return fail({ kind: 'certificate', detail: reason });
      }
      settled = true;
      session.watch(null);
      resolve({ ok: true, session });
    });
  });
}
