// A raw stub resolver: dns-packet messages over UDP, TCP on truncation. Not node:dns, because
// c-ares refuses names with spaces, ':', '/' or '%', which SPF macros legitimately produce.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEndpoint } from '../config/endpoint.js';
import type { DnsResult, RecordType, Resolver } from './types.js';
import { decodeAnswer, encodeQuery, nameProblem, peekHeader, type Question } from './wire.js';
import { tcpExchange, udpExchange, type Exchange, type Server } from './transport.js';

export { toMailauthResolver } from './mailauth-resolver.js';

export interface ResolverOptions {
  /** 'host:port' (port 53 if left out, '[v6]:port' for IPv6); empty → nameservers of /etc/resolv.conf */
  servers: string[];
  /** Wait for one answer from one server, per attempt (default 2000). */
  timeoutMs?: number;
  /** Rounds over the server list before giving up with `timeout` (default 1). */
  tries?: number;
  /** Keep answers for this resolver's lifetime (default off: callers such as SPF memoize per check). */
  cache?: boolean;
  /**
   * Keep answers this long (ms) instead: what a long-running role uses, so the SPF/DMARC records of a
   * busy sender are not fetched for every message. Record TTLs are not read; keep this below them.
   */
  cacheMs?: number;
}

/** More cached names than this and the cache starts over (a bound, not an LRU). */
const MAX_CACHED = 10_000;

export function createResolver(opts: ResolverOptions): Resolver {
  const servers = (opts.servers.length ? opts.servers : systemNameservers()).map(toServer);
  if (servers.length === 0) throw new Error('no DNS servers given and none found in /etc/resolv.conf');
  const timeoutMs = opts.timeoutMs ?? 2000;
  const tries = Math.max(1, opts.tries ?? 1);
  const cacheMs = opts.cacheMs ?? (opts.cache ? Infinity : 0);
  const cache = cacheMs > 0 ? new Map<string, { until: number; answer: Promise<DnsResult>; settled: boolean }>() : null;

  async function ask<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    const problem = nameProblem(name);
    if (problem) return { status: 'error', message: `invalid name: ${problem}` };
    let last: DnsResult<T> = { status: 'timeout', message: `no answer for ${name} ${type} within ${timeoutMs} ms` };
    for (let round = 0; round < tries; round++) {
      for (const server of servers) {
        const outcome = await queryServer(server, name, type, timeoutMs);
        // an answer with an RCODE is final; a silent or broken server makes us ask the next one
        if (outcome.status !== 'timeout' && outcome.status !== 'error') return outcome;
        last = outcome;
      }
    }
    return last;
  }

  return {
    query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      if (!cache) return ask(name, type);
      const key = `${type} ${name.toLowerCase()}`;
      const now = Date.now();
      const entry = cache.get(key);
      if (entry && entry.until > now) return entry.answer as Promise<DnsResult<T>>;
      if (cache.size >= MAX_CACHED) cache.clear();
      const answer = ask(name, type);
      const fresh = { until: now + cacheMs, answer, settled: false };
      cache.set(key, fresh);
      // temporary failures are not remembered; registered before any caller's await, so a caller
      // that got its answer sees the entry settled or gone
      void answer.then((r) => {
        if (r.status !== 'ok' && r.status !== 'nxdomain' && r.status !== 'nodata') {
          if (cache.get(key) === fresh) cache.delete(key);
        } else fresh.settled = true;
      });
      return answer;
    },
    cachedUntil(name: string, type: RecordType): number | undefined {
      const entry = cache?.get(`${type} ${name.toLowerCase()}`);
      return entry?.settled && entry.until > Date.now() ? entry.until : undefined;
    },
  };
}

async function queryServer<T extends RecordType>(server: Server, name: string, type: T, timeoutMs: number): Promise<DnsResult<T>> {
  const q: Question & { type: T } = { id: randomInt(0, 0x10000), name, type };
  const query = encodeQuery(q);
  let truncated = false;
  const accept = (msg: Buffer): DnsResult<T> | null => {
    const head = peekHeader(msg);
    if (head && head.response && head.id === q.id && head.truncated) {
      truncated = true;
      return { status: 'nodata' }; // placeholder: the TCP answer replaces it
    }
    return decodeAnswer(msg, q);
  };
  const udp = await udpExchange(server, query, timeoutMs, accept);
  if (udp.kind !== 'answer' || !truncated) return fromExchange(udp, name, type, server, timeoutMs);
  const tcp = await tcpExchange(server, query, timeoutMs, (msg) => decodeAnswer(msg, q));
  const result = fromExchange(tcp, name, type, server, timeoutMs);
  return result.status === 'ok' ? { ...result, truncatedUdp: true } : result;
}

function fromExchange<T extends RecordType>(ex: Exchange<DnsResult<T>>, name: string, type: T, server: Server, timeoutMs: number): DnsResult<T> {
  switch (ex.kind) {
    case 'answer':
      return ex.value;
    case 'timeout':
      return { status: 'timeout', message: `no answer for ${name} ${type} from ${server.host}:${server.port} within ${timeoutMs} ms` };
    case 'error':
      return { status: 'error', message: ex.message };
  }
}

function toServer(spec: string): Server {
  const ep = parseEndpoint(spec, 53);
  if (!ep) throw new Error(`not a DNS server address: "${spec}" (expected host:port)`);
  return ep;
}

/** `nameserver` lines of resolv.conf text, in order. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, ''); // drop an IPv6 zone index
    out.push(host.includes(':') ? `[${host}]:53` : `${host}:53`);
  }
  return out;
}

function systemNameservers(): string[] {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return [];
  }
}
