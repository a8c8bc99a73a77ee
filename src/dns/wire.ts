// DNS messages on the wire: build one query, read one answer. Pure (no sockets), so the client's
// decisions (which response is ours, what an RCODE means, CNAME chains) are testable byte for byte.
import dnsPacket from 'dns-packet';
import type { AnswerByType, DnsResult, MxRecord, RecordType } from './types.js';

/** EDNS0 payload size recommended by the 2020 DNS flag day: avoids IP fragmentation. */
export const EDNS_UDP_SIZE = 1232;

const MAX_CNAME_HOPS = 16;

export interface Question {
  id: number;
  name: string;
  type: RecordType;
}

/**
 * Why a name cannot be sent, or null if it can. SPF domain-specs may hold any printable byte
 * (spaces, ':', '/', '%'), so only the wire limits apply: 1–63 bytes per label, 255 in all.
 */
export function nameProblem(name: string): string | null {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === '') return null; // the root
  let total = 1;
  for (const label of bare.split('.')) {
    const len = Buffer.byteLength(label, 'utf8');
    if (len === 0) return `empty label in "${name}"`;
    if (len > 63) return `label longer than 63 bytes in "${name}"`;
    total += len + 1;
  }
  return total > 255 ? `name longer than 255 bytes: "${name}"` : null;
}

export function encodeQuery(q: Question): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED,
    // dns-packet's type list has no SPF (99) but encodes it by number through its type table
    questions: [{ type: q.type as dnsPacket.RecordType, name: stripDot(q.name), class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE } as dnsPacket.Answer],
  });
}

/** Header fields readable even when the rest of a (truncated) message does not decode. */
export function peekHeader(msg: Buffer): { id: number; response: boolean; truncated: boolean } | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  return { id: msg.readUInt16BE(0), response: (flags & 0x8000) !== 0, truncated: (flags & 0x0200) !== 0 };
}

/**
 * The outcome an answer message gives for a question, or `null` when the message is not the
 * answer to it (other id, other question, undecodable): the caller keeps waiting, so a stray or
 * spoofed datagram can neither win nor end the query early.
 */
export function decodeAnswer<T extends RecordType>(msg: Buffer, q: Question & { type: T }): DnsResult<T> | null {
  const head = peekHeader(msg);
  if (!head || !head.response || head.id !== q.id) return null;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(msg);
  } catch {
    return null;
  }
  const question = packet.questions?.[0];
  if (!question || packet.questions!.length !== 1) return null;
  if (!sameName(question.name, q.name) || question.type !== q.type) return null;

  // @types/dns-packet omits rcode, which decode() does set
  const rcode = (packet as { rcode?: string }).rcode ?? 'NOERROR';
  switch (rcode) {
    case 'NOERROR':
      break;
    case 'NXDOMAIN':
      return { status: 'nxdomain' };
    case 'SERVFAIL':
      return { status: 'servfail', message: `SERVFAIL for ${q.name} ${q.type}` };
    case 'REFUSED':
      return { status: 'refused', message: `REFUSED for ${q.name} ${q.type}` };
    default:
      return { status: 'error', message: `${rcode} for ${q.name} ${q.type}` };
  }

  const records = followChain(packet.answers ?? [], q.name, q.type);
  if (records.length === 0) return { status: 'nodata' };
  return { status: 'ok', answers: records.map((r) => convert(q.type, r.data)) as AnswerByType[T] };
}

interface RawAnswer {
  name: string;
  type: string;
  data?: unknown;
}

/** Records of `type` at `name`, reached through the CNAMEs of the answer section (loops cut). */
function followChain(answers: readonly RawAnswer[], name: string, type: RecordType): RawAnswer[] {
  let current = name;
  const seen = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const here = answers.filter((a) => sameName(a.name, current));
    const found = here.filter((a) => a.type === type);
    if (found.length || type === 'CNAME') return found;
    const alias = here.find((a) => a.type === 'CNAME');
    if (!alias || typeof alias.data !== 'string') return [];
    seen.add(normal(current));
    current = alias.data;
    if (seen.has(normal(current))) return [];
  }
  return [];
}

function convert(type: RecordType, data: unknown): unknown {
  switch (type) {
    case 'TXT':
      return (Array.isArray(data) ? data : [data]).map(text);
    case 'SPF':
      // unknown to dns-packet: raw RDATA, the same <character-string> list as TXT
      return Buffer.isBuffer(data) ? characterStrings(data) : [];
    case 'MX': {
      const mx = data as { preference?: number; exchange?: string };
      return { priority: mx.preference ?? 0, exchange: mx.exchange ?? '' } satisfies MxRecord;
    }
    default:
      return data;
  }
}

/** UTF-8 when the bytes are UTF-8, else Latin-1, so every byte survives as one character. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Buffer.isBuffer(value) && !(value instanceof Uint8Array)) return String(value);
  try {
    return utf8.decode(value);
  } catch {
    return Buffer.from(value).toString('latin1');
  }
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

function characterStrings(rdata: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < rdata.length; ) {
    const len = rdata[i]!;
    out.push(text(rdata.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return out;
}

function stripDot(name: string): string {
  return name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name;
}

function normal(name: string): string {
  return stripDot(name).toLowerCase();
}

function sameName(a: string, b: string): boolean {
  return normal(a) === normal(b);
}
