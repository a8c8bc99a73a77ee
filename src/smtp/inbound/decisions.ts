// The one place where policy answers become SMTP replies. Hooks return `Decision` values; smtp-server
// wants `callback(err)` with `err.responseCode`. A hook that throws (or rejects) is our own fault, so the
// client gets 451 4.3.0 and retries later: never a 5xx for a local problem.

import type { Logger } from 'pino';
import { reply, type Reply } from '../replies.js';
import type { Decision } from './types.js';

export interface SmtpError extends Error {
  responseCode: number;
}

/** Reply text as smtp-server sends it after the code: "<enhanced> <text>". */
export function replyText(r: Reply): string {
  return `${r.enhanced} ${r.text}`;
}

export function toSmtpError(r: Reply): SmtpError {
  const err = new Error(replyText(r)) as SmtpError;
  err.responseCode = r.code;
  return err;
}

/**
 * Runs a policy hook and never throws: exceptions, malformed answers and (with `timeoutMs`) a hook that
 * does not answer in time become a `defer` with LOCAL_ERROR, logged with the hook name. smtp-server
 * stops its idle timer while a hook is pending, so without a bound a stuck hook holds the session
 * forever. A late answer is ignored; for onMessage that can mean a duplicate after the client's retry,
 * which is the safe side (never a loss).
 */
export async function decide(
  hook: string,
  log: Logger,
  run: () => Promise<Decision> | Decision,
  timeoutMs = 0,
): Promise<Decision> {
  let timer: NodeJS.Timeout | undefined;
  try {
    // Most hooks (routing rules) answer synchronously: no timer and no race for those, which is a
    // per-command saving on every session.
    const now = run();
    if (!isThenable(now)) return checked(log, hook, now);
    const answer = Promise.resolve(now);
    const d =
      timeoutMs > 0
        ? await Promise.race([
            answer,
            new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
          ])
        : await answer;
    if (d === 'timeout') {
      answer.catch(() => undefined); // a late failure has nobody left to tell
      log.error({ hook, timeoutMs }, 'policy hook timed out');
      return localError();
    }
    return checked(log, hook, d);
  } catch (err) {
    log.error({ hook, err }, 'policy hook failed');
  } finally {
    clearTimeout(timer);
  }
  return localError();
}

function isThenable(v: unknown): v is PromiseLike<Decision> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The decision if it is well formed, else a logged LOCAL_ERROR. */
function checked(log: Logger, hook: string, d: Decision): Decision {
  if (d && (d.kind === 'accept' || ((d.kind === 'reject' || d.kind === 'defer') && d.reply))) {
    if (classMatches(d)) return d;
  }
  log.error({ hook, decision: d }, 'policy hook returned an invalid decision');
  return localError();
}

function localError(): Decision {
  return { kind: 'defer', reply: reply('LOCAL_ERROR') };
}

// A reject must be 5xx and a defer 4xx, or the client would act on the wrong class; a policy that
// mixes them up has a bug, answered as a temporary local error rather than trusted.
function classMatches(d: Decision): boolean {
  if (d.kind === 'reject') return d.reply.code >= 500 && d.reply.code < 600;
  if (d.kind === 'defer') return d.reply.code >= 400 && d.reply.code < 500;
  return !d.reply || (d.reply.code >= 200 && d.reply.code < 300);
}
