// Envelope checks smtp-server leaves to us: which MAIL/RCPT parameters we take, and the SMTPUTF8 rule.
// smtp-server's parser is deliberately lenient and rewrites A-label domains to Unicode, so the
// address we judge and pass on is the one the client actually wrote (see `rawAddress`).

import { reply, type Reply } from '../replies.js';

/** MAIL FROM parameters we implement (SIZE is range-checked by smtp-server before we see it). */
const MAIL_PARAMS = new Set(['SIZE', 'BODY', 'SMTPUTF8']);

export type Params = Record<string, string | true>;

/** Upper-case keys, xtext already decoded by smtp-server; `false` (no parameters) becomes {}. */
export function normalizeParams(args: Record<string, unknown> | false | undefined): Params {
  const out: Params = {};
  if (!args) return out;
  for (const [k, v] of Object.entries(args)) out[k.toUpperCase()] = typeof v === 'string' ? v : true;
  return out;
}

export function checkMailParams(params: Params): Reply | null {
  for (const key of Object.keys(params)) {
    if (!MAIL_PARAMS.has(key)) return reply('UNKNOWN_PARAMETER', `Unsupported MAIL parameter ${key}`);
  }
  return null;
}

/** We implement no RCPT parameters (no DSN): any is refused. */
export function checkRcptParams(params: Params): Reply | null {
  const key = Object.keys(params)[0];
  return key ? reply('UNKNOWN_PARAMETER', `Unsupported RCPT parameter ${key}`) : null;
}

/** RFC 6531 §3.4: a non-ASCII address is only allowed in a transaction that declared SMTPUTF8. */
export function checkUtf8(address: string, smtputf8: boolean): Reply | null {
  // eslint-disable-next-line no-control-regex
  return !smtputf8 && /[^\x00-\x7f]/.test(address) ? reply('SMTPUTF8_REQUIRED') : null;
}

/**
 * The address between the angle brackets of a MAIL FROM / RCPT TO line, with an RFC 5321 source route
 * ("@a,@b:") dropped, as written by the client. '' for the null path; null if there are no brackets.
 */
export function rawAddress(commandLine: string): string | null {
  const m = /^[A-Za-z]+\s+[A-Za-z]+\s*:\s*<([^<>]*)>/.exec(commandLine);
  if (!m) return null;
  return m[1]!.replace(/^@[^\s,:@]+(?:,@[^\s,:@]+)*:/, '');
}
