// Where to connect for a domain (RFC 5321 §5.1): MX records by preference, RFC 7505 null MX, implicit
// MX (the domain's own A/AAAA) when there is no MX, each exchange resolved to addresses. All DNS goes
// through the injected Resolver. Also the address lookup for smart hosts.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { DnsResult, MxRecord, Resolver } from '../../dns/types.js';
import { reply, type Reply } from '../replies.js';

export interface NextHop {
  /** IP address to connect to. */
  host: string;
  port: number;
  /** MX exchange name (or the domain itself for an implicit MX); the name for certificate checks. */
  name: string;
  priority: number;
}

export interface MxFailure {
  kind: 'nxdomain' | 'null-mx' | 'no-address' | 'temporary';
  message: string;
}

/** Ordered next hops (never empty), or why there are none. Tell them apart with Array.isArray. */
export type NextHops = NextHop[] | MxFailure;

export interface HostFailure {
  kind: 'nxdomain' | 'no-address' | 'temporary';
  message: string;
}

/** Addresses (never empty), or why there are none. */
export type HostAddresses = string[] | HostFailure;

export interface MxOptions {
  /** Shuffles MX hosts of equal preference (RFC 5321 asks for randomisation); inject for tests. */
  random?: () => number;
  /** Include AAAA addresses (after the A addresses of the same host). Default true. */
  ipv6?: boolean;
}

const TEMPORARY = new Set(['timeout', 'servfail', 'refused', 'error']);

function isTemporary(r: DnsResult): r is Extract<DnsResult, { message: string }> {
  return TEMPORARY.has(r.status);
}

function normalizeDomain(domain: string): string {
  return domainToASCII(domain.trim().replace(/\.$/, '').toLowerCase());
}

/** Addresses of one host name: A first, then AAAA. An IP literal (also `[ip]`) passes through. */
export async function resolveHost(resolver: Resolver, name: string, opts: Pick<MxOptions, 'ipv6'> = {}): Promise<HostAddresses> {
  const literal = name.replace(/^\[(?:IPv6:)?(.*)\]$/i, '$1');
  if (isIP(literal)) return [literal];
  const host = normalizeDomain(name);
  if (!host) return { kind: 'nxdomain', message: `invalid host name ${JSON.stringify(name)}` };
  const [a, aaaa] = await Promise.all([
    resolver.query(host, 'A'),
    opts.ipv6 === false ? Promise.resolve<DnsResult<'AAAA'>>({ status: 'nodata' }) : resolver.query(host, 'AAAA'),
  ]);
  const addresses = [...(a.status === 'ok' ? a.answers : []), ...(aaaa.status === 'ok' ? aaaa.answers : [])];
  if (addresses.length) return addresses;
  const temp = [a, aaaa].find(isTemporary);
  if (temp) return { kind: 'temporary', message: `${host}: ${temp.status}: ${temp.message}` };
  if (a.status === 'nxdomain') return { kind: 'nxdomain', message: `${host}: no such domain` };
  return { kind: 'no-address', message: `${host} has no A/AAAA records` };
}

function isNullExchange(mx: MxRecord): boolean {
  return mx.exchange === '' || mx.exchange === '.';
}

/** Sort by preference; within one preference, shuffle (Fisher–Yates with the injected random). */
export function orderMx(records: MxRecord[], random: () => number = Math.random): MxRecord[] {
  const byPref = new Map<number, MxRecord[]>();
  for (const r of records) byPref.set(r.priority, [...(byPref.get(r.priority) ?? []), r]);
  const out: MxRecord[] = [];
  for (const pref of [...byPref.keys()].sort((x, y) => x - y)) {
    const group = byPref.get(pref)!;
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
    out.push(...group);
  }
  return out;
}

export async function resolveNextHops(resolver: Resolver, domain: string, port: number, opts: MxOptions = {}): Promise<NextHops> {
  // A domain literal (user@[192.0.2.1]) names the host directly.
  const literal = /^\[(?:IPv6:)?(.*)\]$/i.exec(domain.trim());
  if (literal && isIP(literal[1]!)) return [{ host: literal[1]!, port, name: literal[1]!, priority: 0 }];

  const name = normalizeDomain(domain);
  if (!name) return { kind: 'nxdomain', message: `invalid domain ${JSON.stringify(domain)}` };
  const mx = await resolver.query(name, 'MX');
  if (mx.status === 'nxdomain') return { kind: 'nxdomain', message: `${name}: no such domain` };
  if (isTemporary(mx)) return { kind: 'temporary', message: `MX lookup for ${name}: ${mx.status}: ${mx.message}` };

  const records = mx.status === 'ok' ? mx.answers : [];
  if (records.length === 0) {
    // Implicit MX (RFC 5321 §5.1): the domain itself, preference 0.
    const addr = await resolveHost(resolver, name, opts);
    if (!Array.isArray(addr)) return { kind: addr.kind, message: `no MX for ${name} and ${addr.message}` };
    return addr.map((host) => ({ host, port, name, priority: 0 }));
  }
  if (records.length === 1 && isNullExchange(records[0]!)) {
    return { kind: 'null-mx', message: `${name} publishes a null MX (RFC 7505): it accepts no mail` };
  }

  // Keep each exchange once, at its best preference; a stray "." among real MXes is ignored.
  const best = new Map<string, MxRecord>();
  for (const r of records) {
    if (isNullExchange(r)) continue;
    const ex = r.exchange.replace(/\.$/, '').toLowerCase();
    const prev = best.get(ex);
    if (!prev || r.priority < prev.priority) best.set(ex, { priority: r.priority, exchange: ex });
  }
  const ordered = orderMx([...best.values()], opts.random);
  const resolved = await Promise.all(ordered.map((r) => resolveHost(resolver, r.exchange, opts)));

  const hops: NextHop[] = [];
  const seen = new Set<string>();
  const problems: string[] = [];
  let temporary = false;
  ordered.forEach((r, i) => {
    const a = resolved[i]!;
    if (!Array.isArray(a)) {
      problems.push(a.message);
      if (a.kind === 'temporary') temporary = true;
      return;
    }
    for (const host of a) {
      if (seen.has(host)) continue;
      seen.add(host);
      hops.push({ host, port, name: r.exchange, priority: r.priority });
    }
  });
  if (hops.length) return hops;
  // Some exchange might still resolve later: only a clean "no address anywhere" is permanent.
  if (temporary) return { kind: 'temporary', message: `no MX host of ${name} resolved: ${problems.join('; ')}` };
  return { kind: 'no-address', message: `no MX host of ${name} has an address: ${problems.join('; ')}` };
}

/** The reply given to every recipient of a domain whose next hops could not be found. */
export function mxFailureReply(f: MxFailure): Reply {
  switch (f.kind) {
    case 'nxdomain':
      return reply('DOMAIN_NOT_FOUND', `DNS domain does not exist: ${f.message}`);
    case 'null-mx':
      return reply('NULL_MX', f.message);
    case 'no-address':
      return reply('NO_MX', f.message);
    case 'temporary':
      return reply('DNS_FAILED', `DNS query failed: ${f.message}`);
  }
}
