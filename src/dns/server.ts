// A small authoritative DNS server on UDP and TCP (same port) for tests and the demo: it answers
// from a ZoneRecord list (see zone.ts), truncates big UDP answers so clients retry over TCP, and
// can stay silent for chosen names so timeouts can be tested.
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { buildZone, DEFAULT_TTL, lookupZone, normalizeName, txtStrings, type Zone, type ZoneRecord } from './zone.js';
import type { MxRecord } from './types.js';

export type { ZoneRecord, ZoneRecordType } from './zone.js';

export interface DnsServerOptions {
  /** Loopback address to bind (127.0.0.x or ::1); default 127.0.0.1. */
  host?: string;
  /** 0 = ephemeral (UDP and TCP then share the port UDP got). */
  port?: number;
  records: ZoneRecord[];
  /** Names whose queries are dropped without an answer (any type, UDP and TCP). */
  silentNames?: string[];
}

export interface DnsQueryLogEntry {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port` (`[v6]:port`), what Resolver `servers` lists take. */
  address: string;
  setRecords(records: ZoneRecord[]): void;
  setSilentNames(names: string[]): void;
  /** Questions received, oldest first (bounded); lets tests see a TCP retry. */
  readonly queries: readonly DnsQueryLogEntry[];
  close(): Promise<void>;
}

const CLASSIC_UDP_LIMIT = 512;
const MAX_UDP_LIMIT = 4096;
const QUERY_LOG_LIMIT = 10_000;
const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4 } as const;

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const host = opts.host ?? '127.0.0.1';
  let zone: Zone = buildZone(opts.records);
  let silent = new Set((opts.silentNames ?? []).map(normalizeName));
  const queries: DnsQueryLogEntry[] = [];
  const family = net.isIPv6(host) ? 'udp6' : 'udp4';

  const respond = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return null; // not DNS: nothing sensible to answer
    }
    const q = query.questions?.[0];
    if (q) {
      queries.push({ name: q.name, type: q.type, transport });
      if (queries.length > QUERY_LOG_LIMIT) queries.shift();
      if (silent.has(normalizeName(q.name))) return null;
    }
    const reply = buildReply(zone, query);
    const encoded = dnsPacket.encode(reply);
    if (transport === 'tcp') return encoded;
    const limit = udpLimit(query);
    if (encoded.length <= limit) return encoded;
    // Too big for this datagram: header + question with TC set, the client retries over TCP.
    return dnsPacket.encode({ ...reply, flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  };

  const { udp, tcp, port } = await bindBoth(host, opts.port ?? 0, family);
  const sockets = new Set<net.Socket>();

  udp.on('message', (msg, rinfo) => {
    const out = respond(msg, 'udp');
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', () => {}); // a send to a vanished client must not crash the test process

  tcp.on('connection', (socket) => {
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      // Several length-prefixed messages may share one connection (RFC 7766).
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const out = respond(pending.subarray(2, 2 + len), 'tcp');
        pending = pending.subarray(2 + len);
        if (out) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  return {
    host,
    port,
    address: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
    queries,
    setRecords(records) {
      zone = buildZone(records);
    },
    setSilentNames(names) {
      silent = new Set(names.map(normalizeName));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function udpLimit(query: dnsPacket.DecodedPacket): number {
  const opt = query.additionals?.find((a): a is dnsPacket.OptAnswer => a.type === 'OPT');
  if (!opt) return CLASSIC_UDP_LIMIT;
  return Math.min(MAX_UDP_LIMIT, Math.max(CLASSIC_UDP_LIMIT, opt.udpPayloadSize));
}

function buildReply(zone: Zone, query: dnsPacket.DecodedPacket): dnsPacket.Packet {
  const questions = query.questions ?? [];
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const base = { id: query.id, type: 'response' as const, questions };
  const edns = query.additionals?.some((a) => a.type === 'OPT')
    ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_LIMIT, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as dnsPacket.OptAnswer]
    : [];
  const opcode = (query as { opcode?: string }).opcode;
  if (opcode && opcode !== 'QUERY') return { ...base, flags: rd | RCODE.NOTIMP, additionals: edns };
  const q = questions[0];
  if (questions.length !== 1 || !q) return { ...base, flags: rd | RCODE.FORMERR, additionals: edns };
  const found = lookupZone(zone, q.name, q.type);
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | rd | (found.rcode === 'NXDOMAIN' ? RCODE.NXDOMAIN : RCODE.NOERROR);
  return { ...base, flags, answers: found.answers.map(({ name, record }) => toAnswer(name, record)), additionals: edns };
}

function toAnswer(name: string, r: ZoneRecord): dnsPacket.Answer {
  const common = { name, ttl: r.ttl ?? DEFAULT_TTL, class: 'IN' as const };
  switch (r.type) {
    case 'MX': {
      const mx = r.value as MxRecord;
      return { ...common, type: 'MX', data: { preference: mx.priority, exchange: normalizeName(mx.exchange) } };
    }
    case 'TXT':
      return { ...common, type: 'TXT', data: txtStrings(r.value) };
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return { ...common, type: r.type, data: normalizeName(String(r.value)) };
    default:
      return { ...common, type: r.type, data: String(r.value) };
  }
}

/** Bind UDP first (it picks the ephemeral port), then TCP on the same number; retry if TCP lost the race. */
async function bindBoth(host: string, port: number, family: 'udp4' | 'udp6') {
  const attempts = port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = dgram.createSocket({ type: family });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const bound = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: bound };
    } catch (err) {
      lastError = err;
      udp.close();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(`cannot bind DNS server on ${host}:${port}`);
}
