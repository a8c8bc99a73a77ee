// Our SMTPConnection: smtp-server's session with four behaviours adjusted, each a small override of a
// method the package declares in its own types (no edits to node_modules):
//  - init(): greeting delay per listener instead of the hard-coded 100 ms (greeting.ts);
//  - send(): our replies already carry their enhanced code ("550 5.1.10 ..."); with
//    hideENHANCEDSTATUSCODES off, smtp-server would put its own in front ("550 5.1.1 5.1.10 ...").
//    A text that starts with an enhanced code is sent as it is;
//  - _parseAddressCommand(): keeps the address as the client wrote it (`raw`). smtp-server rewrites
//    A-label domains to Unicode, which would make an ASCII address look like an SMTPUTF8 one;
//  - _onCommand(): while the listener shuts down, new commands get 421 4.3.2 (DATA in flight is not a
//    command and completes);
//  - _createParser(): replies to commands that arrived pipelined in one read leave in one write
//    (RFC 2920 §3.2 asks servers to group them); smtp-server writes each reply on its own;
//  - close(): once our last reply and FIN are out, the descriptor is closed, as Postfix's smtpd
//    does after 221; smtp-server kept reading until the client's FIN (or a timer).

import type net from 'node:net';
import type tls from 'node:tls';
import type { SMTPServer } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { formatReply, reply } from '../replies.js';
import { rawAddress } from './address.js';
import { scheduleGreeting } from './greeting.js';
import { corkUntilReleased } from '../../util/cork.js';

export interface ConnectionControl {
  greetingDelay: number;
  shuttingDown(): boolean;
}

/** smtp-server's parsed MAIL/RCPT address plus the client's own spelling. */
export interface ParsedAddress {
  address: string;
  args: Record<string, unknown> | false;
  raw?: string;
}

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;

export class MailflowConnection extends SMTPConnection {
  /** Called once when the connection's socket has closed (set by the listener for its bookkeeping). */
  onGone: (() => void) | null = null;

  constructor(
    server: SMTPServer,
    socket: net.Socket | tls.TLSSocket,
    options: SMTPConnectionOptions | null | undefined,
    private readonly control: ConnectionControl,
  ) {
    super(server, socket, options);
  }

  /** Replaces upstream init(), whose only difference is `setTimeout(connectionReady, 100)`. */
  override init(): void {
    this._setListeners(() => {
      scheduleGreeting(this.control.greetingDelay, () => this.connectionReady());
    });
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    super.send(code, data, typeof data === 'string' && ENHANCED_PREFIX.test(data) ? false : context);
  }

  override _parseAddressCommand(rawName: string, rawCommand: Buffer | string) {
    const parsed = super._parseAddressCommand(rawName, rawCommand);
    if (parsed) (parsed as ParsedAddress).raw = rawAddress(rawCommand.toString()) ?? parsed.address;
    return parsed;
  }

  /**
   * A read holding more than one command line (a pipelining client: MAIL, RCPT… and DATA at once)
   * corks the socket until the parser has answered every line of it, so the replies share one
   * write(2). Our policy answers come back in microtasks, so that is normally within the same
   * event-loop turn; a check that takes longer (a DNS lookup) releases what is corked at the end of
   * the turn (setImmediate), and the later replies are written as they come. Single commands, the
   * usual case, are not touched: nothing delays a reply to them.
   */
  override _createParser(): SMTPStream {
    const parser = super._createParser();
    const write = parser._write;
    parser._write = (chunk, encoding, next) => {
      const sock = this._socket;
      if (parser._dataMode || this._upgrading || !sock || sock.destroyed || !hasTwoLines(chunk)) {
        write.call(parser, chunk, encoding, next);
        return;
      }
      const release = corkUntilReleased(sock);
      const turnEnd = setImmediate(release);
      write.call(parser, chunk, encoding, (err?: Error | null) => {
        clearImmediate(turnEnd);
        release();
        next(err);
      });
    };
    return parser;
  }

  /**
   * smtp-server ends our side and then keeps the socket open, reading and discarding, until the
   * client closes its side or a half-close deadline passes. Clients commonly close with a reset
   * after 221 (smtp-source always does): Node turns that into an ECONNRESET error with a formatted
   * stack on every session, about 2 % of the event loop at 20 sessions (bench/profile.mjs). Nothing
   * the client sends after this can be answered, so once the last reply and the FIN have been handed
   * to the kernel the socket is destroyed; the kernel still delivers what was written.
   */
  override close(): void {
    const sock = this._socket;
    const ending = !this._closing && !sock.destroyed && sock.writable;
    super.close();
    if (ending) sock.once('finish', () => sock.destroy());
  }

  override _onClose(): void {
    super._onClose();
    this.onGone?.();
  }

  override _onCommand(command: Buffer, callback?: () => void): void {
    // plaintext buffered during a STARTTLS handshake and early talkers stay upstream's business
    if (this.control.shuttingDown() && this._ready && !this._upgrading) {
      this.send(421, text('SHUTTING_DOWN')); // a 421 closes the connection
      return;
    }
    super._onCommand(command, callback);
  }
}

/** At least two CRLF-terminated lines (cheap: a read of one command has a single LF, at its end). */
function hasTwoLines(chunk: Buffer): boolean {
  const first = chunk.indexOf(10);
  return first >= 0 && first < chunk.length - 1 && chunk.indexOf(10, first + 1) >= 0;
}

function text(name: 'SHUTTING_DOWN'): string {
  return formatReply(reply(name)).replace(/^\d{3} /, '');
}
