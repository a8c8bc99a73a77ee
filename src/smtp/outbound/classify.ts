// Pure decisions for outbound delivery: what a client error means (EXO mail-flow-intelligence codes),
// what a server reply string means, and which outcome each recipient gets. No sockets here.
import { getSystemErrorName } from 'node:util';
import { reply, type Reply } from '../replies.js';
import type { RecipientOutcome } from './types.js';

/** Why a session with the next hop failed as a whole; each kind maps to one reply. */
export type ConnectionFailure =
  | { kind: 'dns'; detail: string } // 4.4.312
  | { kind: 'timeout'; detail: string } // 4.4.315
  | { kind: 'refused'; detail: string } // 4.4.316
  | { kind: 'connect'; detail: string } // 4.4.317 (incl. TLS required but not offered / handshake failed)
  | { kind: 'dropped'; detail: string } // 4.4.318
  | { kind: 'certificate'; detail: string } // 4.7.320
  | { kind: 'remote-reply'; reply: Reply }; // the server said no to the session (greeting, EHLO, 421)

/** What we can learn from an error nodemailer's SMTPConnection reports. */
export interface ErrorFacts {
  /** nodemailer's code (ETIMEDOUT, ESOCKET, ECONNECTION, EDNS, ETLS, EPROTOCOL, ...). */
  code?: string;
  /** libuv errno (negative); survives when nodemailer overwrites `code` with ESOCKET. */
  errno?: number;
  message: string;
  /** Server reply that came with the error, if any. */
  response?: string;
  /** TCP connection was established before the failure. */
  connected: boolean;
  /** The failure happened during the STARTTLS handshake. */
  duringTls: boolean;
}

const DNS_ERRNOS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'ENODATA']);

function errnoName(errno: number | undefined): string | undefined {
  if (typeof errno !== 'number' || errno >= 0) return undefined;
  try {
    return getSystemErrorName(errno);
  } catch {
    return undefined;
  }
}

export function classifyError(f: ErrorFacts): ConnectionFailure {
  const sys = errnoName(f.errno);
  const detail = f.message;
  // STARTTLS refused or the handshake failed: the session cannot be made secure (4.4.317).
  if (f.duringTls || f.code === 'ETLS') {
    return { kind: 'connect', detail: `TLS negotiation failed: ${f.response ? oneLine(f.response) : detail}` };
  }
  if (f.response && /^[45]\d\d/.test(f.response)) {
    const r = parseReply(f.response);
    // A 5xx to the session (e.g. "554 no service") is not about any recipient: defer, never bounce.
    if (r.code >= 500) return { kind: 'remote-reply', reply: reply('CONNECT_FAILED', `Remote server refused the session: ${oneLine(f.response)}`) };
    return { kind: 'remote-reply', reply: r };
  }
  if (f.code === 'EDNS' || (sys && DNS_ERRNOS.has(sys))) return { kind: 'dns', detail };
  if (sys === 'ECONNREFUSED') return { kind: 'refused', detail };
  if (f.code === 'ETIMEDOUT' || sys === 'ETIMEDOUT') return { kind: 'timeout', detail };
  if (!f.connected) return { kind: 'connect', detail };
  // Connected, then reset, closed or garbled (ECONNRESET, EPIPE, ECONNECTION, EPROTOCOL, ...).
  return { kind: 'dropped', detail };
}

export function failureReply(f: ConnectionFailure): Reply {
  switch (f.kind) {
    case 'dns':
      return reply('DNS_FAILED', `DNS query failed: ${f.detail}`);
    case 'timeout':
      return reply('CONNECT_TIMEOUT', `Connection timed out: ${f.detail}`);
    case 'refused':
      return reply('CONNECT_REFUSED', `Connection refused: ${f.detail}`);
    case 'connect':
      return reply('CONNECT_FAILED', `Cannot connect to remote server: ${f.detail}`);
    case 'dropped':
      return reply('CONNECTION_DROPPED', `Connection closed abruptly: ${f.detail}`);
    case 'certificate':
      return reply('TLS_CERT_FAILED', `Certificate validation failed: ${f.detail}`);
    case 'remote-reply':
      return f.reply;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/**
 * Parse a (possibly multi-line) SMTP reply. The enhanced code is taken from the text when present,
 * otherwise the class default (`4.0.0`, `5.0.0`, ...) so every reply carries one.
 */
export function parseReply(raw: string): Reply {
  const lines = raw.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0] ?? '';
  const m = /^(\d{3})/.exec(first);
  const code = m ? Number(m[1]) : 451;
  const texts = lines.map((l) => l.replace(/^\d{3}[ -]?/, ''));
  let enhanced = '';
  const cls = Math.floor(code / 100);
  const em = /^([245]\.\d{1,3}\.\d{1,3})\s*/.exec(texts[texts.length - 1] ?? '');
  if (em && em[1]!.startsWith(String(cls))) enhanced = em[1]!;
  const text = texts.map((t) => t.replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, '')).join(' ').trim();
  return { code, enhanced: enhanced || `${cls >= 2 && cls <= 5 ? cls : 4}.0.0`, text: text || (m ? '' : oneLine(raw)) };
}

export function outcomeFor(recipient: string, r: Reply): RecipientOutcome {
  if (r.code >= 200 && r.code < 300) return { recipient, kind: 'delivered', reply: r };
  if (r.code >= 500) return { recipient, kind: 'failed', reply: r };
  return { recipient, kind: 'deferred', reply: r };
}

/** A whole-session failure: every recipient is deferred with the same reply. */
export function deferAll(recipients: string[], r: Reply): RecipientOutcome[] {
  return recipients.map((recipient) => ({ recipient, kind: 'deferred' as const, reply: r }));
}

/** What happened in one MAIL/RCPT/DATA transaction, as replies. */
export interface TransactionFacts {
  /** Reply to MAIL FROM when it was refused (no recipient was then tried). */
  mailRefused?: Reply;
  /** Replies to RCPT TO for the recipients the server refused. */
  rcptRefused: Map<string, Reply>;
  /** The final answer of the data phase (DATA command refusal or end-of-data reply). */
  dataReply?: Reply;
  /** The session broke before a final answer. */
  lost?: Reply;
}

/**
 * Per-recipient outcomes: a refused MAIL applies to all; a refused RCPT is that recipient's answer;
 * the data-phase reply applies to every accepted recipient; a lost session defers the rest.
 */
export function transactionOutcomes(recipients: string[], t: TransactionFacts): RecipientOutcome[] {
  return recipients.map((rcpt) => {
    if (t.mailRefused) return outcomeFor(rcpt, t.mailRefused);
    const refused = t.rcptRefused.get(rcpt);
    if (refused) return outcomeFor(rcpt, refused);
    if (t.dataReply) return outcomeFor(rcpt, t.dataReply);
    return outcomeFor(rcpt, t.lost ?? reply('CONNECTION_DROPPED', 'Connection closed before the server answered'));
  });
}

/** Addresses that need SMTPUTF8 (RFC 6531): any non-ASCII character. */
export function needsSmtpUtf8(address: string): boolean {
  return /[^\x00-\x7f]/.test(address);
}

/** Envelope addresses that cannot be put on a command line safely. */
export function isUnsafeAddress(address: string): boolean {
  return /[\r\n<>\s]/.test(address);
}
