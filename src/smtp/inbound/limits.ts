// The limits smtp-server leaves to the application, as pure checks over what the listener collected.
// Each returns the reply to send, or null when the message is within the limit.

import { reply, type Reply } from '../replies.js';
import type { InboundLimits } from './types.js';
import type { DataProblem } from './data-normalize.js';

export interface HeaderFacts {
  /** Octets of the header block, up to and including the empty line that ends it. */
  size: number;
  /** Received header fields already present. */
  received: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Looks at the header block of a CRLF-normalised message. */
export function headerFacts(message: Buffer): HeaderFacts {
  let size: number;
  if (message.length >= 2 && message[0] === 0x0d && message[1] === 0x0a) size = 2; // no header at all
  else {
    const end = message.indexOf(HEADER_END);
    size = end < 0 ? message.length : end + 4;
  }
  const head = message.subarray(0, size).toString('latin1');
  const received = head.match(/^Received[ \t]*:/gim)?.length ?? 0;
  return { size, received };
}

export interface DataOutcome {
  /** Wire octets of the message (smtp-server's count, dot-unstuffed). */
  bytes: number;
  problem: DataProblem | null;
  /** The collected message; null when collection stopped (over size or a problem). */
  message: Buffer | null;
}

/**
 * The verdict on a received message before policy sees it, most important first: size, framing,
 * line length, header size, hop count.
 */
export function checkData(d: DataOutcome, limits: InboundLimits): Reply | null {
  if (d.bytes > limits.maxMessageSize) return reply('MESSAGE_TOO_BIG');
  if (d.problem === 'smuggling') return reply('BAD_LINE_ENDINGS');
  if (d.problem === 'line-too-long') return reply('LINE_TOO_LONG');
  if (!d.message) return reply('LOCAL_ERROR'); // collection stopped without a reason: a bug, stay temporary
  const h = headerFacts(d.message);
  if (h.size > limits.maxHeaderSize) return reply('HEADER_TOO_BIG');
  if (h.received > limits.maxHops) return reply('LOOP_DETECTED');
  return null;
}

/** Open connections per client address, for maxConnectionsPerIp. */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  add(ip: string): number {
    const n = (this.open.get(ip) ?? 0) + 1;
    this.open.set(ip, n);
    return n;
  }

  remove(ip: string): void {
    const n = (this.open.get(ip) ?? 0) - 1;
    if (n > 0) this.open.set(ip, n);
    else this.open.delete(ip);
  }

  count(ip: string): number {
    return this.open.get(ip) ?? 0;
  }
}
