// Facts about the topology that several rules need: which connector faces the gateway, which role a
// smart host names, which domains have on-prem recipients. Matching reuses src/routing so a check
// agrees with what the engine does.
import { parseEndpoint, type AcceptedDomain, type Config, type InboundConnector } from '../config/schema.js';
import { domainOf, matchesAddressPattern, matchesDomainPattern } from '../routing/domains.js';
import { resolveHostRef } from '../routing/hosts.js';
import { ipInAny } from '../routing/ip.js';

export interface Indexed<T> {
  c: T;
  index: number;
}

export function inbound(config: Config): Indexed<InboundConnector>[] {
  return config.hub.inboundConnectors.map((c, index) => ({ c, index }));
}

/** Names the gateway's certificate can carry (its configured subject, else its host name). */
export function gatewayCertNames(config: Config): string[] {
  const g = config.gateway;
  return unique([g.tls.subject, g.hostname].filter((n): n is string => !!n).map(lower));
}

export function certNameMatches(pattern: string | undefined, names: string[]): boolean {
  return !!pattern && names.some((n) => matchesDomainPattern(n, pattern));
}

/** Partner connectors that restrict `*` to an IP list or a certificate: the gateway lock (rule 6). */
export function lockingConnectors(config: Config): Indexed<InboundConnector>[] {
  return inbound(config).filter(
    ({ c }) =>
      c.enabled &&
      c.type === 'partner' &&
      c.senderDomains.includes('*') &&
      ((c.restrictDomainsToIPAddresses && c.senderIpAddresses.length > 0) || (c.restrictDomainsToCertificate && !!c.tlsSenderCertificateName)),
  );
}

/**
 * Enabled partner connectors that identify the gateway (by one of its addresses or its certificate
 * name). If none does, the locking connectors, then every enabled partner connector: the one the
 * admin meant is among them and its own rule reports the mismatch.
 */
export function gatewayConnectors(config: Config): Indexed<InboundConnector>[] {
  const names = gatewayCertNames(config);
  const partners = inbound(config).filter(({ c }) => c.enabled && c.type === 'partner');
  const matching = partners.filter(
    ({ c }) => config.gateway.addresses.some((a) => ipInAny(a, c.senderIpAddresses)) || certNameMatches(c.tlsSenderCertificateName, names),
  );
  if (matching.length) return matching;
  const locks = lockingConnectors(config);
  return locks.length ? locks : partners;
}

/** Which of our roles a smart-host entry (`hub`, a host name, an address, host:port) points at. */
export function roleOfTarget(config: Config, entry: string): string | undefined {
  const ref = resolveHostRef(config, entry);
  if (ref.role) return ref.role;
  const host = (parseEndpoint(entry, config.smtpPort)?.host ?? entry).toLowerCase().replace(/\.$/, '');
  const roles: { name: string; addresses: string[]; listen: string }[] = [
    { name: 'gateway', ...config.gateway },
    { name: 'hub', ...config.hub },
    ...config.onprem,
  ];
  for (const r of roles) {
    const listenHost = parseEndpoint(r.listen)?.host;
    const own = [...r.addresses, ...(listenHost && !isWildcardAddress(listenHost) ? [listenHost] : [])];
    if (own.includes(host)) return r.name;
  }
  return undefined;
}

function isWildcardAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** True when `name` lies in the accepted domain's namespace (the domain itself or any sub-domain). */
export function inDomainNamespace(name: string, domain: string): boolean {
  const n = lower(name).replace(/^\*\./, '');
  return n === domain || n.endsWith('.' + domain);
}

/** Addresses or rules that home recipients of this domain on-prem. */
export function onpremRecipientsIn(config: Config, d: AcceptedDomain): string[] {
  const inDomain = (domain: string) => domain === d.name || (d.matchSubDomains && domain.endsWith('.' + d.name));
  const out: string[] = [];
  for (const list of Object.values(config.mailboxes.onprem)) for (const a of list) if (inDomain(domainOf(a))) out.push(a);
  for (const r of config.mailboxes.rules) {
    if (r.home === 'cloud') continue;
    // A rule pattern names this domain if its domain part, read as a glob, can match the domain.
    const patternDomain = domainOf(r.match);
    if (matchesAddressPattern(d.name, patternDomain) || (d.matchSubDomains && patternDomain.endsWith('.' + d.name))) out.push(r.match);
  }
  return out;
}

export function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)}MB` : `${n} bytes`;
}

export function formatDuration(ms: number): string {
  const h = ms / 3_600_000;
  if (Number.isInteger(h)) return `${h}h`;
  const m = ms / 60_000;
  return Number.isInteger(m) ? `${m}m` : `${ms / 1000}s`;
}

export function lower(s: string): string {
  return s.toLowerCase();
}

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
