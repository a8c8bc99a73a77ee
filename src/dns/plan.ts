// The DNS records a topology needs, derived from the config alone (seed 000/003 "Update the DNS
// records" step): MX to the gateway, one SPF record naming exactly the real senders, DMARC, DKIM,
// autodiscover and A records for role hosts inside accepted domains.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseEndpoint, type Config, type DkimKey } from '../config/schema.js';

export type PlannedRecordType = 'MX' | 'TXT' | 'CNAME' | 'A' | 'AAAA';
export type PlannedKind = 'mx' | 'spf' | 'dmarc' | 'dkim' | 'autodiscover' | 'host';

export interface PlannedRecord {
  type: PlannedRecordType;
  /** Owner name without the trailing dot. */
  name: string;
  /** Zone-file style value without trailing dots: `10 mx.example.net`, `v=spf1 ... -all`, a host, an address. */
  value: string;
  purpose: string;
  kind: PlannedKind;
  /** The config does not hold what the record needs (a DKIM key): never "ok" when verified. */
  incomplete?: true;
}

export interface PlanOptions {
  /** Directory the config's relative paths (DKIM private keys) resolve against. */
  baseDir?: string;
  /** Injected file reader (default: node:fs), so tests need no files. */
  readFile?: (absolutePath: string) => string;
}

export const MX_PRIORITY = 10;
export const DKIM_PLACEHOLDER = 'v=DKIM1; k=rsa; p=<generate with mailflow dkim keygen>';

/** A role that may appear in SPF, and how it does (addresses or an include domain). */
export interface SpfSender {
  role: string;
  hostname: string;
  addresses: string[];
  spfInclude?: string;
  /** Why the role is (or is not) a sender; shown in purposes and verify output. */
  reason: string;
  included: boolean;
}

export function planRecords(config: Config, opts: PlanOptions = {}): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  const spf = spfRecordValue(config);
  const accepted = config.domains.map((d) => d.name);
  for (const domain of accepted) {
    out.push({
      type: 'MX',
      name: domain,
      value: `${MX_PRIORITY} ${bare(config.gateway.hostname)}`,
      kind: 'mx',
      purpose: 'inbound mail goes to the third-party gateway first; it then relays to the hub',
    });
    out.push({ type: 'TXT', name: domain, value: spf, kind: 'spf', purpose: spfPurpose(config) });
    if (config.dmarc) {
      out.push({ type: 'TXT', name: `_dmarc.${domain}`, value: dmarcValue(config.dmarc), kind: 'dmarc', purpose: 'DMARC policy for mail using this domain in From' });
    }
    for (const key of config.dkim.filter((k) => k.domain === domain)) out.push(dkimRecord(key, opts));
    if (config.autodiscover) {
      out.push({ type: 'CNAME', name: `autodiscover.${domain}`, value: bare(config.autodiscover.target), kind: 'autodiscover', purpose: 'mail clients find the hub' });
    }
  }
  // Keys for domains the hub does not accept (a sending subdomain, say) still need publishing.
  for (const key of config.dkim.filter((k) => !accepted.includes(k.domain))) out.push(dkimRecord(key, opts));
  // ARC sealing keys (the gateway's): the receiving hub looks them up in the sealer's zone.
  for (const [role, section] of [['gateway', config.gateway], ['hub', config.hub], ...config.onprem.map((o) => [o.name, o] as const)] as const) {
    const seal = section.filter?.arcSeal;
    if (!seal) continue;
    const rec = dkimRecord({ domain: seal.domain, selector: seal.selector, role, privateKey: seal.privateKey } as DkimKey, opts);
    out.push({ ...rec, purpose: `ARC sealing key of the ${role} (published in ${seal.domain}'s zone, which the ${role}'s operator runs)` });
  }
  for (const host of roleHosts(config)) {
    const first = host.addresses[0];
    if (!first || !accepted.some((d) => inDomain(host.hostname, d))) continue;
    if (out.some((r) => r.kind === 'host' && r.name === host.hostname)) continue;
    out.push({ type: isIP(first) === 6 ? 'AAAA' : 'A', name: host.hostname, value: first, kind: 'host', purpose: `address of the ${host.role} host` });
  }
  return out;
}

/** Every role with its host name and egress addresses, in SPF order. */
export function roleHosts(config: Config): { role: string; hostname: string; addresses: string[]; spfInclude?: string }[] {
  return [
    { role: 'gateway', hostname: bare(config.gateway.hostname), addresses: config.gateway.addresses, spfInclude: config.gateway.spfInclude },
    ...config.onprem.map((o) => ({ role: `onprem:${o.name}`, hostname: bare(o.hostname), addresses: o.addresses, spfInclude: o.spfInclude })),
    { role: 'hub', hostname: bare(config.hub.hostname), addresses: config.hub.addresses, spfInclude: config.hub.spfInclude },
  ];
}

/**
 * Who sends internet mail with our domains (exo-features §2 rules 2–4): the gateway when listed or
 * when it relays outbound (scenario 2), each on-prem server that is listed, and the hub unless all
 * its internet mail leaves through the gateway.
 */
export function spfSenders(config: Config): SpfSender[] {
  const gw = config.gateway;
  const hubRelays = hubRelaysThroughGateway(config);
  return roleHosts(config).map((h) => {
    if (h.role === 'gateway') {
      const included = gw.inSpf || gw.relaysOutbound;
      const reason = gw.relaysOutbound ? 'relays all outbound mail' : gw.inSpf ? 'the seeds list it: it sends NDRs' : 'gateway.inSpf is false';
      return { ...h, included, reason };
    }
    if (h.role === 'hub') {
      return { ...h, included: !hubRelays, reason: hubRelays ? 'its internet mail leaves through the gateway' : 'sends internet mail directly' };
    }
    const server = config.onprem.find((o) => `onprem:${o.name}` === h.role)!;
    return { ...h, included: server.inSpf, reason: server.inSpf ? 'the seed lists on-prem IPs' : 'inSpf is false' };
  });
}

/** Scenario 2: an enabled outbound connector for every domain (`*`) whose smart hosts are the gateway. */
export function hubRelaysThroughGateway(config: Config): boolean {
  const gw = config.gateway;
  const gwNames = new Set(['gateway', bare(gw.hostname), ...gw.addresses, parseEndpoint(gw.listen)?.host ?? ''].filter(Boolean));
  return config.hub.outboundConnectors.some(
    (c) =>
      c.enabled &&
      c.recipientDomains.includes('*') &&
      c.smartHosts.length > 0 &&
      c.smartHosts.every((s) => gwNames.has(bare(parseEndpoint(s)?.host ?? s))),
  );
}

export function spfMechanisms(config: Config): string[] {
  const mechanisms: string[] = [];
  for (const s of spfSenders(config)) {
    if (!s.included) continue;
    const terms = s.spfInclude ? [`include:${s.spfInclude}`] : s.addresses.map((a) => `${isIP(a) === 6 ? 'ip6' : 'ip4'}:${a}`);
    for (const t of terms) if (!mechanisms.includes(t)) mechanisms.push(t);
  }
  return mechanisms;
}

export function spfRecordValue(config: Config): string {
  return ['v=spf1', ...spfMechanisms(config), '-all'].join(' ');
}

function spfPurpose(config: Config): string {
  const senders = spfSenders(config).filter((s) => s.included);
  if (!senders.length) return 'SPF: nothing sends mail for this domain';
  return `SPF authorises exactly: ${senders.map((s) => `${s.role} (${s.reason})`).join('; ')}`;
}

export function dmarcValue(d: NonNullable<Config['dmarc']>): string {
  const tags = ['v=DMARC1', `p=${d.policy}`];
  if (d.rua.length) tags.push(`rua=${d.rua.join(',')}`);
  if (d.subdomainPolicy) tags.push(`sp=${d.subdomainPolicy}`);
  if (d.pct !== 100) tags.push(`pct=${d.pct}`);
  if (d.adkim !== 'r') tags.push(`adkim=${d.adkim}`);
  if (d.aspf !== 'r') tags.push(`aspf=${d.aspf}`);
  return tags.join('; ');
}

function dkimRecord(key: DkimKey, opts: PlanOptions): PlannedRecord {
  const name = `${key.selector}._domainkey.${key.domain}`;
  const role = `signing role ${key.role}`;
  if (key.cname) return { type: 'CNAME', name, value: bare(key.cname), kind: 'dkim', purpose: `DKIM selector hosted by the provider (${role})` };
  if (key.publicKey) return { type: 'TXT', name, value: `v=DKIM1; k=rsa; p=${key.publicKey.replace(/\s+/g, '')}`, kind: 'dkim', purpose: `DKIM public key (${role})` };
  if (key.privateKey) {
    const derived = publicKeyFromPrivate(key.privateKey, opts);
    if (derived.kind === 'ok') return { type: 'TXT', name, value: `v=DKIM1; k=${derived.k}; p=${derived.p}`, kind: 'dkim', purpose: `DKIM public key of ${key.privateKey} (${role})` };
    return { type: 'TXT', name, value: DKIM_PLACEHOLDER, kind: 'dkim', incomplete: true, purpose: `DKIM key MISSING: ${derived.message} (${role})` };
  }
  return { type: 'TXT', name, value: DKIM_PLACEHOLDER, kind: 'dkim', incomplete: true, purpose: `DKIM key MISSING: the config has no publicKey, privateKey or cname (${role})` };
}

type DerivedKey = { kind: 'ok'; k: 'rsa' | 'ed25519'; p: string } | { kind: 'error'; message: string };

/** The DNS `p=` value of a PEM private key: SPKI DER for RSA, the raw key for Ed25519 (RFC 8463). */
export function publicKeyFromPrivate(file: string, opts: PlanOptions): DerivedKey {
  const path = resolve(opts.baseDir ?? '.', file);
  let pem: string;
  try {
    pem = (opts.readFile ?? ((p) => readFileSync(p, 'utf8')))(path);
  } catch (err) {
    return { kind: 'error', message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  try {
    const pub = createPublicKey(createPrivateKey(pem));
    const der = pub.export({ type: 'spki', format: 'der' });
    if (pub.asymmetricKeyType === 'rsa') return { kind: 'ok', k: 'rsa', p: der.toString('base64') };
    if (pub.asymmetricKeyType === 'ed25519') return { kind: 'ok', k: 'ed25519', p: der.subarray(der.length - 32).toString('base64') };
    return { kind: 'error', message: `${path} holds a ${pub.asymmetricKeyType} key; DKIM needs RSA or Ed25519` };
  } catch (err) {
    return { kind: 'error', message: `${path} is not a PEM private key (${(err as Error).message})` };
  }
}

export function inDomain(host: string, domain: string): boolean {
  const h = bare(host);
  return h === domain || h.endsWith(`.${domain}`);
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
