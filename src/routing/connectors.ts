// Which hub connector a client or a recipient falls under. Pure: facts in, connector and reason out.
import type { Config, InboundConnector, OutboundConnector } from '../config/schema.js';
import { matchesDomainPattern } from './domains.js';
import { ipInAny, normalizeIp } from './ip.js';

export interface ClientFacts {
  ip: string;
  /** Names on the client's TLS certificate, only when the chain verified. */
  certNames: string[];
  tls: boolean;
}

export type ClientClass =
  | { kind: 'connector'; connector: InboundConnector; index: number; by: 'certificate' | 'ip'; reason: string }
  | { kind: 'anonymous'; reason: string };

function certMatches(c: InboundConnector, names: string[]): boolean {
  const pattern = c.tlsSenderCertificateName;
  return !!pattern && names.some((n) => matchesDomainPattern(n, pattern));
}

/**
 * The inbound connector a connecting client belongs to. Certificate identification wins over IP
 * (Microsoft recommends certificates); among equals, partner connectors that restrict come first
 * because "the restrict connector will take precedence".
 */
export function classifyClient(config: Config, facts: ClientFacts): ClientClass {
  const ip = normalizeIp(facts.ip);
  const candidates: { c: InboundConnector; index: number; by: 'certificate' | 'ip'; score: number }[] = [];
  config.hub.inboundConnectors.forEach((c, index) => {
    if (!c.enabled) return;
    const restricts = c.type === 'partner' && (c.restrictDomainsToIPAddresses || c.restrictDomainsToCertificate) ? 1 : 0;
    if (certMatches(c, facts.certNames)) candidates.push({ c, index, by: 'certificate', score: 4 + restricts });
    else if (c.senderIpAddresses.length && ipInAny(ip, c.senderIpAddresses)) candidates.push({ c, index, by: 'ip', score: 2 + restricts });
  });
  candidates.sort((a, b) => b.score - a.score || a.index - b.index);
  const best = candidates[0];
  if (!best) return { kind: 'anonymous', reason: `${ip} matches no inbound connector (by certificate or IP)` };
  const how = best.by === 'certificate' ? `certificate name ${facts.certNames.join(', ')} matches ${best.c.tlsSenderCertificateName}` : `${ip} is in ${best.c.senderIpAddresses.join(', ')}`;
  return { kind: 'connector', connector: best.c, index: best.index, by: best.by, reason: `${best.c.type} connector "${best.c.name}": ${how}` };
}

/** The hub only takes internet mail from the gateway: an explicit lock or a restricting partner connector for `*`. */
export function hubIsLocked(config: Config): boolean {
  if (config.hub.lockToGateway) return true;
  return config.hub.inboundConnectors.some(
    (c) => c.enabled && c.type === 'partner' && c.senderDomains.includes('*') && (c.restrictDomainsToIPAddresses || c.restrictDomainsToCertificate),
  );
}

/**
 * Outbound connector for a recipient domain, in EXO's order: exact domain match, then a connector for
 * all accepted domains, then wildcard (`*.contoso.com`), then `*`.
 */
export function selectOutboundConnector(
  config: Config,
  domain: string,
  filter: (c: OutboundConnector) => boolean = () => true,
  accepted = false,
): { connector: OutboundConnector; index: number; match: string } | undefined {
  const list = config.hub.outboundConnectors.map((c, index) => ({ c, index })).filter(({ c }) => c.enabled && filter(c));
  const d = domain.toLowerCase();
  const exact = list.find(({ c }) => c.recipientDomains.includes(d));
  if (exact) return { connector: exact.c, index: exact.index, match: `recipient domain ${d}` };
  if (accepted) {
    const all = list.find(({ c }) => c.type === 'onpremises' && c.allAcceptedDomains);
    if (all) return { connector: all.c, index: all.index, match: 'all accepted domains' };
  }
  const wildcard = list
    .flatMap(({ c, index }) => c.recipientDomains.filter((p) => p.startsWith('*.') && matchesDomainPattern(d, p)).map((p) => ({ c, index, p })))
    .sort((a, b) => b.p.length - a.p.length)[0];
  if (wildcard) return { connector: wildcard.c, index: wildcard.index, match: `wildcard ${wildcard.p}` };
  const star = list.find(({ c }) => c.recipientDomains.includes('*'));
  if (star) return { connector: star.c, index: star.index, match: 'every domain (*)' };
  return undefined;
}
