// RFC 2920 command pipelining for one transaction on nodemailer's SMTPConnection: MAIL FROM, every
// RCPT TO and DATA leave in one write, their replies are read back in order, and the message follows
// a 354. nodemailer waits for MAIL's reply before its RCPTs and for the last RCPT's before DATA, so
// each message over a pooled connection cost four round trips (and four writes on each side); this
// makes it two, as Postfix's smtp(8) does with any server that advertises PIPELINING.
//
// The rules that keep the connection in step: every pipelined command gets exactly one reply, and
// the transaction is reported only after the DATA reply has been read; the message is sent only
// after a 354 (RFC 5321 §3.3), and if a server answers 354 although it accepted no recipient, a lone
// "." ends that empty transaction (RFC 2920 §3.1) instead of leaving the server waiting for data.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { reply, type Reply } from '../replies.js';
import { isUnsafeAddress, needsSmtpUtf8, parseReply, type TransactionFacts } from './classify.js';

/** The parts of SMTPConnection this uses: its reply dispatch, its command writer and its data stream. */
export interface PipelineConn {
  _socket?: Socket | TLSSocket | false;
  _supportedExtensions?: string[];
  _maxAllowedSize?: number;
  _responseActions?: ((str: string) => void)[];
  _sendCommand?: (str: string) => void;
  _createSendStream?: (cb: (err: (Error & { response?: unknown }) | null, str?: string) => void) => NodeJS.WritableStream;
}

export interface PipelinedTransaction {
  sender: string;
  recipients: string[];
  body: Buffer;
  use8BitMime: boolean;
  /** Refusals so far, for a caller whose connection fails mid-transaction. */
  refused: Map<string, Reply>;
}

/** The server advertised PIPELINING and this nodemailer exposes what `sendPipelined` needs. */
export function canPipeline(c: PipelineConn): boolean {
  return (
    (c._supportedExtensions?.includes('PIPELINING') ?? false) &&
    Array.isArray(c._responseActions) &&
    typeof c._sendCommand === 'function' &&
    typeof c._createSendStream === 'function' &&
    !!c._socket
  );
}

/** MAIL FROM with the parameters nodemailer would add for this server and envelope. */
export function mailCommand(ext: string[], t: Pick<PipelinedTransaction, 'sender' | 'recipients' | 'body' | 'use8BitMime'>): string {
  const args: string[] = [];
  if (ext.includes('SMTPUTF8') && (needsSmtpUtf8(t.sender) || t.recipients.some(needsSmtpUtf8))) args.push('SMTPUTF8');
  if (t.use8BitMime && ext.includes('8BITMIME')) args.push('BODY=8BITMIME');
  if (ext.includes('SIZE')) args.push(`SIZE=${t.body.length}`);
  return `MAIL FROM:<${t.sender}>${args.length ? ' ' + args.join(' ') : ''}`;
}

/**
 * Send one transaction pipelined; `done` is called once, after the last reply of the transaction
 * (a dropped connection is the caller's to notice: SMTPConnection reports it only as an event).
 */
export function sendPipelined(c: PipelineConn, t: PipelinedTransaction, done: (facts: TransactionFacts) => void): void {
  const ext = c._supportedExtensions ?? [];
  if (c._maxAllowedSize && t.body.length > c._maxAllowedSize) {
    // the server's advertised SIZE: refused here, as nodemailer does, without sending anything
    done({ rcptRefused: new Map(), mailRefused: reply('MESSAGE_TOO_BIG', `Message size larger than allowed ${c._maxAllowedSize}`) });
    return;
  }
  // client.ts refuses these before a session is taken; here they must never reach a command line
  const unsafe = [t.sender, ...t.recipients].find((a, i) => isUnsafeAddress(a) || (i > 0 && !a));
  if (unsafe !== undefined) {
    done({ rcptRefused: new Map(), mailRefused: reply('BAD_ADDRESS', `Invalid address ${JSON.stringify(unsafe)}`) });
    return;
  }
  const actions = c._responseActions!;
  let mailRefused: Reply | undefined;
  let accepted = 0;
  actions.push((str) => {
    if (str.charAt(0) !== '2') mailRefused = parseReply(str);
  });
  for (const rcpt of t.recipients) {
    actions.push((str) => {
      if (str.charAt(0) === '2') accepted++;
      else t.refused.set(rcpt, parseReply(str));
    });
  }
  actions.push((str) => {
    const refusedAll = (): TransactionFacts => (mailRefused ? { rcptRefused: new Map(), mailRefused } : { rcptRefused: t.refused });
    if (mailRefused || accepted === 0) {
      // RFC 5321 says DATA must fail here; a server that answers 354 anyway gets an empty message
      if (str.charAt(0) === '3') {
        actions.push(() => done(refusedAll()));
        c._sendCommand!('.');
      } else done(refusedAll());
      return;
    }
    // nodemailer accepts 2xx to DATA too (some servers send 250 instead of 354)
    if (!/^[23]/.test(str)) {
      done({ rcptRefused: t.refused, dataReply: parseReply(str) });
      return;
    }
    const stream = c._createSendStream!((err, final) => {
      if (err) {
        const response = typeof err.response === 'string' ? err.response : undefined;
        done({ rcptRefused: t.refused, dataReply: response ? parseReply(response) : undefined, lost: response ? undefined : reply('CONNECTION_DROPPED', err.message) });
        return;
      }
      done({ rcptRefused: t.refused, dataReply: parseReply(final ?? '') });
    });
    stream.end(t.body);
  });
  // one write(2) (one TLS record) for the whole envelope
  const sock = c._socket as Socket;
  sock.cork();
  c._sendCommand!(mailCommand(ext, t));
  for (const rcpt of t.recipients) c._sendCommand!(`RCPT TO:<${rcpt}>`);
  c._sendCommand!('DATA');
  sock.uncork();
}
