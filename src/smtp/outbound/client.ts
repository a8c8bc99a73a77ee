// The SmtpSender: one message to one next hop, per-recipient outcomes, over pooled connections.
// Remote trouble never throws: it becomes deferred/failed outcomes with a reply from replies.ts.
// Throws only for caller bugs (no recipients, an unsafe EHLO name, a bad port).
//
// Choices worth knowing:
// - Opportunistic TLS: when STARTTLS is offered but the handshake fails, retry once on a new
//   connection without STARTTLS (what Postfix does at security level `may`); a STARTTLS answered
//   with an error continues in plaintext on the same connection. Such plaintext fallback
//   connections are not pooled, so the next message tries TLS again.
// - Pool: at most maxPerHost connections per target; more concurrent sends wait their turn.
//   A reused connection gets RSET first, which also proves it is still alive, unless its last
//   transaction completed less than WARM_MS ago; should such a transaction get no reply at all (the
//   server closed meanwhile), it is sent again once on a verified or new connection.
// - send() after close() (or while closing) defers every recipient with 4.3.2.
import { isIP } from 'node:net';
import type { Resolver } from '../../dns/types.js';
import { reply } from '../replies.js';
import { deferAll, isUnsafeAddress, needsSmtpUtf8, transactionOutcomes, failureReply } from './classify.js';
import { has8bit, normalizeLineEndings } from './line-endings.js';
import { resolveHost } from './mx.js';
import { ConnectionPool, type PoolStats } from './pool.js';
import { openSession, type SessionTimeouts, type SmtpSession } from './session.js';
import { tlsIdentity, tlsPlan } from './tls-policy.js';
import type { RecipientOutcome, SendRequest, SendResult, SendTarget, SmtpSender } from './types.js';

/** pino-compatible subset. */
export interface SenderLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SmtpSenderOptions {
  logger?: SenderLogger;
  /** Connections per target (busy + idle): `queue.connectionsPerHost`. Default 4. */
  maxPerHost?: number;
  /** Close pooled connections idle this long. Default 5000 ms. */
  idleMs?: number;
  timeouts?: Partial<SessionTimeouts>;
  /**
   * Resolves targets given by name (smart hosts). Without it a name is handed to nodemailer, which
   * uses the system resolver; with it all DNS goes through mailflow's configured resolvers.
   */
  resolver?: Resolver;
}

export interface PooledSmtpSender extends SmtpSender {
  /** Pool counters for one target (tests, status output). */
  stats(target: SendTarget): PoolStats;
}

/** Reuse without RSET within this time of the last completed transaction. */
const WARM_MS = 1000;

export const DEFAULT_TIMEOUTS: SessionTimeouts = { connectMs: 30_000, greetingMs: 30_000, socketMs: 120_000 };

const SAFE_EHLO = /^[A-Za-z0-9](?:[A-Za-z0-9.\-:_]*[A-Za-z0-9\]])?$|^\[[0-9A-Fa-f.:IPv6]+\]$/;

/** Connections are shared only between sends that would open them identically. */
export function poolKey(t: SendTarget): string {
  return [t.host, t.port, tlsIdentity(t), t.localAddress ?? ''].join('|');
}

export function createSmtpSender(opts: SmtpSenderOptions = {}): PooledSmtpSender {
  const pool = new ConnectionPool<SmtpSession>(opts.maxPerHost ?? 4, opts.idleMs ?? 5000);
  const timeouts: SessionTimeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const log = opts.logger;
  let closed = false;

  async function send(req: SendRequest): Promise<SendResult> {
    validate(req);
    const { target } = req;
    const remote = `${target.host}:${target.port}`;
    // Per-recipient answers decided before any connection (null: still to be sent).
    const pre: (RecipientOutcome | null)[] = req.recipients.map((r) =>
      isUnsafeAddress(r) || isUnsafeAddress(req.sender) ? { recipient: r, kind: 'failed', reply: reply('BAD_ADDRESS') } : null,
    );
    if (pre.every((o) => o)) return { remote, tls: false, outcomes: pre as RecipientOutcome[] };
    if (closed) return { remote, tls: false, outcomes: merge(pre, deferAll(req.recipients, reply('SHUTTING_DOWN'))) };

    let connectTarget = target;
    if (!isIP(target.host) && opts.resolver) {
      const r = await resolveHost(opts.resolver, target.host);
      if (!Array.isArray(r)) {
        return { remote, tls: false, outcomes: merge(pre, deferAll(req.recipients, reply('DNS_FAILED', `DNS query failed for ${target.host}: ${r.message}`))) };
      }
      connectTarget = { ...target, host: r[0]!, servername: target.servername ?? target.host };
    }

    const key = poolKey(target);
    const first = await attempt(req, pre, key, connectTarget, true);
    // Nothing came back on a connection reused without RSET: the server never saw a transaction.
    if (first.retry) return (await attempt(req, pre, key, connectTarget, false)).result;
    return first.result;
  }

  async function attempt(req: SendRequest, pre: (RecipientOutcome | null)[], key: string, connectTarget: SendTarget, allowWarm: boolean): Promise<{ result: SendResult; retry?: boolean }> {
    const got = await session(key, connectTarget, req.hostname, allowWarm);
    if (got.kind === 'failed') {
      return { result: { remote: got.remote, tls: false, outcomes: merge(pre, deferAll(req.recipients, got.reply)) } };
    }
    const { s, poolable } = got;
    // nodemailer would send a non-ASCII envelope to a server without SMTPUTF8 (nodemailer#1378).
    if (!s.smtpUtf8) {
      const senderNeeds = needsSmtpUtf8(req.sender);
      req.recipients.forEach((r, i) => {
        if (!pre[i] && (senderNeeds || needsSmtpUtf8(r))) pre[i] = { recipient: r, kind: 'failed', reply: reply('SMTPUTF8_REQUIRED') };
      });
    }
    const sendable = [...new Set(req.recipients.filter((_, i) => !pre[i]))];
    if (sendable.length === 0) {
      pool.release(key, s, poolable);
      return { result: { remote: s.remote, tls: s.secure, outcomes: pre as RecipientOutcome[] } };
    }
    const body = normalizeLineEndings(req.body);
    const before = s.bytesRead;
    const facts = await s.transact(req.sender, sendable, body, has8bit(body));
    pool.release(key, s, poolable && !facts.lost);
    if (facts.lost && got.warm && s.bytesRead === before) {
      log?.debug({ remote: s.remote }, 'pooled connection was gone; sending again on a verified one');
      return { result: { remote: s.remote, tls: false, outcomes: [] }, retry: true };
    }
    const outcomes = transactionOutcomes(sendable, facts);
    const byRcpt = new Map(outcomes.map((o) => [o.recipient, o]));
    if (facts.lost) log?.warn({ remote: s.remote, reply: facts.lost }, 'outbound session lost');
    return { result: { remote: s.remote, tls: s.secure, outcomes: req.recipients.map((r, i) => pre[i] ?? byRcpt.get(r)!) } };
  }

  type Got = { kind: 'ok'; s: SmtpSession; poolable: boolean; warm?: boolean } | { kind: 'failed'; reply: ReturnType<typeof reply>; remote: string };

  /** A ready session for the target: a pooled one (warm, or after RSET) or a new one. */
  async function session(key: string, target: SendTarget, hostname: string, allowWarm: boolean): Promise<Got> {
    // Ends: each failed RSET discards one idle connection, and then a slot to open a new one comes.
    for (;;) {
      const lease = await pool.acquire(key);
      if (lease.kind === 'closed') return { kind: 'failed', reply: reply('SHUTTING_DOWN'), remote: `${target.host}:${target.port}` };
      if (lease.kind === 'reuse') {
        if (allowWarm && lease.conn.warm(Date.now(), WARM_MS)) return { kind: 'ok', s: lease.conn, poolable: true, warm: true };
        if (await lease.conn.reset()) {
          log?.debug({ remote: lease.conn.remote }, 'reusing pooled connection');
          return { kind: 'ok', s: lease.conn, poolable: true };
        }
        pool.release(key, lease.conn, false);
        continue;
      }
      const base = { host: target.host, port: target.port, localAddress: target.localAddress, hostname, timeouts };
      let r = await openSession({ ...base, plan: tlsPlan(target) });
      let poolable = true;
      if (!r.ok && r.tlsHandshakeFailed && target.tls === 'opportunistic') {
        log?.warn({ remote: r.remote, reason: r.failure }, 'STARTTLS handshake failed; retrying once without TLS (opportunistic)');
        r = await openSession({ ...base, plan: tlsPlan(target, { plaintextRetry: true }) });
        poolable = false;
      }
      if (!r.ok) {
        pool.release(key, null, false);
        const rep = failureReply(r.failure);
        log?.warn({ remote: r.remote, reply: rep }, 'outbound connection failed');
        return { kind: 'failed', reply: rep, remote: r.remote };
      }
      log?.debug({ remote: r.session.remote, tls: r.session.secure }, 'opened outbound connection');
      return { kind: 'ok', s: r.session, poolable };
    }
  }

  return {
    send,
    stats: (target) => pool.stats(poolKey(target)),
    async close() {
      closed = true;
      const quitting = pool.close();
      await Promise.all(quitting.map((s) => s.ended()));
    },
  };
}

function merge(pre: (RecipientOutcome | null)[], rest: RecipientOutcome[]): RecipientOutcome[] {
  return pre.map((o, i) => o ?? rest[i]!);
}

function validate(req: SendRequest): void {
  if (!Array.isArray(req.recipients) || req.recipients.length === 0) throw new TypeError('SendRequest.recipients must not be empty');
  if (!SAFE_EHLO.test(req.hostname)) throw new TypeError(`unsafe EHLO hostname ${JSON.stringify(req.hostname)}`);
  const p = req.target.port;
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new TypeError(`bad target port ${p}`);
  if (!req.target.host) throw new TypeError('target.host is empty');
}
