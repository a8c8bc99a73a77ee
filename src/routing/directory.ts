// Where a recipient lives: the directory the hub and the gateway consult (cloud mailbox, on-prem
// mailbox, relayed on-prem by internal-relay semantics, unknown, or outside the organisation).
import type { Config } from '../config/schema.js';
import { acceptedDomainFor, domainOf, matchesAddressPattern } from './domains.js';

export type RecipientHome =
  | { kind: 'cloud'; rule: string; reason: string }
  | { kind: 'onprem'; server: string; rule: string; reason: string }
  /** Internal relay: not a cloud mailbox, so the hub hands it to on-prem, which is authoritative. */
  | { kind: 'relay-onprem'; server: string; rule: string; reason: string }
  | { kind: 'unknown'; rule: string; reason: string }
  | { kind: 'external'; rule: string; reason: string };

export function resolveRecipient(config: Config, address: string): RecipientHome {
  const addr = address.toLowerCase();
  const domain = domainOf(addr);
  const accepted = acceptedDomainFor(config, domain);
  if (!accepted) {
    return { kind: 'external', rule: 'domains', reason: `${domain} is not an accepted domain of the organization` };
  }
  if (config.mailboxes.cloud.includes(addr)) {
    return { kind: 'cloud', rule: 'mailboxes.cloud', reason: `${addr} is a cloud mailbox` };
  }
  for (const [server, list] of Object.entries(config.mailboxes.onprem)) {
    if (list.includes(addr)) return { kind: 'onprem', server, rule: `mailboxes.onprem.${server}`, reason: `${addr} is homed on-prem on ${server}` };
  }
  for (const [i, r] of config.mailboxes.rules.entries()) {
    if (!matchesAddressPattern(addr, r.match)) continue;
    const rule = `mailboxes.rules[${i}]`;
    if (r.home === 'cloud') return { kind: 'cloud', rule, reason: `${addr} matches ${r.match} → cloud` };
    return { kind: 'onprem', server: r.home, rule, reason: `${addr} matches ${r.match} → on-prem ${r.home}` };
  }
  if (accepted.type === 'internal-relay' && config.onprem.length > 0) {
    const server = config.onprem[0]!.name;
    return {
      kind: 'relay-onprem',
      server,
      rule: `domains[${config.domains.indexOf(accepted)}].type`,
      reason: `${domain} is internal-relay and ${addr} is not a cloud mailbox, so it is relayed to on-prem`,
    };
  }
  return {
    kind: 'unknown',
    rule: `domains[${config.domains.indexOf(accepted)}].type`,
    reason: `${domain} is ${accepted.type} and ${addr} is not a known recipient`,
  };
}

/** A mailbox the organisation hosts (cloud or on-prem), i.e. a sender that may use the hub to reach the internet. */
export function homeOfSender(config: Config, address: string): RecipientHome {
  return resolveRecipient(config, address);
}
