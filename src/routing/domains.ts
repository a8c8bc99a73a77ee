// Accepted domains and domain patterns (`*`, `*.contoso.com`, `contoso.com`).
import type { AcceptedDomain, Config } from '../config/schema.js';

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(at + 1) : address).toLowerCase().replace(/\.$/, '');
}

export function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(0, at) : address;
}

/** EXO-style pattern match: `*` matches any domain; `*.contoso.com` matches sub-domains only. */
export function matchesDomainPattern(domain: string, pattern: string): boolean {
  const d = domain.toLowerCase();
  const p = pattern.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*.')) return d.endsWith(p.slice(1));
  return d === p;
}

/** The accepted domain that covers `domain` (exact, or a parent with matchSubDomains). */
export function acceptedDomainFor(config: Config, domain: string): AcceptedDomain | undefined {
  const d = domain.toLowerCase();
  const exact = config.domains.find((a) => a.name === d);
  if (exact) return exact;
  return config.domains.find((a) => a.matchSubDomains && d.endsWith('.' + a.name));
}

export function isAccepted(config: Config, address: string): boolean {
  return acceptedDomainFor(config, domainOf(address)) !== undefined;
}

/** Simple glob for mailbox rules: `*` matches any run of characters. */
export function matchesAddressPattern(address: string, pattern: string): boolean {
  const re = new RegExp('^' + pattern.toLowerCase().split('*').map(escapeRe).join('.*') + '$');
  return re.test(address.toLowerCase());
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
