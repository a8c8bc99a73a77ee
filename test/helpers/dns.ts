// DNS for tests: a real loopback server around a callback, and raw dns-packet queries to it
// (so server tests do not depend on our own client).
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { startDnsServer, type DnsServer, type DnsServerOptions, type ZoneRecord } from '../../src/dns/server.js';

export { zoneResolver } from '../../src/dns/zone.js';

/** Start a DNS server on 127.0.0.1 (ephemeral port), run `fn`, always close it. */
export async function withDnsServer<T>(
  records: ZoneRecord[],
  fn: (server: DnsServer) => Promise<T>,
  opts: Omit<DnsServerOptions, 'records'> = {},
): Promise<T> {
  const server = await startDnsServer({ host: '127.0.0.1', port: 0, ...opts, records });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export interface RawReply {
  packet: dnsPacket.DecodedPacket & { rcode?: string };
  bytes: number;
}

/** One raw question over UDP or TCP; rejects after `timeoutMs` without an answer. */
export async function rawQuery(
  server: { host: string; port: number },
  name: string,
  type: dnsPacket.RecordType,
  opts: { transport?: 'udp' | 'tcp'; ednsSize?: number; timeoutMs?: number; id?: number } = {},
): Promise<RawReply> {
  const id = opts.id ?? 4242;
  const additionals: dnsPacket.Answer[] = opts.ednsSize
    ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.ednsSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
    : [];
  const query = dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }], additionals });
  const timeoutMs = opts.timeoutMs ?? 2000;
  return opts.transport === 'tcp' ? tcpQuery(server, query, timeoutMs) : udpQuery(server, query, timeoutMs);
}

function udpQuery(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<RawReply> {
  const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
  return new Promise<RawReply>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no UDP answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, reply?: RawReply) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.on('message', (msg) => finish(null, { packet: dnsPacket.decode(msg), bytes: msg.length }));
    socket.on('error', (err) => finish(err));
    socket.send(query, server.port, server.host);
  });
}

function tcpQuery(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<RawReply> {
  return new Promise<RawReply>((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no TCP answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, reply?: RawReply) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        finish(null, { packet: dnsPacket.decode(msg), bytes: msg.length });
      }
    });
    socket.on('error', (err) => finish(err));
  });
}

/** TXT answer data → one string per record (its character-strings joined). */
export function txtOf(reply: RawReply): string[] {
  return (reply.packet.answers ?? [])
    .filter((a) => a.type === 'TXT')
    .map((a) => ([] as (string | Buffer)[]).concat((a as dnsPacket.TxtAnswer).data).map(String).join(''));
}
