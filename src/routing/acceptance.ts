// Who may send what to a role: the connector rules of the hub, relay rules of the gateway and on-prem.
// Pure: the listener hands in the client's facts, this answers accept or reject with the reason.
import type { Config } from '../config/schema.js';
import type { ReplyName } from '../smtp/replies.js';
import { classifyClient, hubIsLocked, type ClientClass, type ClientFacts } from './connectors.js';
import { decideAt } from './decide.js';
import { acceptedDomainFor, domainOf, isAccepted, matchesDomainPattern } from './domains.js';
import { ipInAny, normalizeIp } from './ip.js';
import { certificateName } from './hosts.js';

/** Where a client stands relative to a role, decided once per session. */
export interface ClientStanding {
  /** The role (or 'internet' / 'submission') the mail comes from, as routing understands it. */
  arrivedFrom: string;
  /** Hub only: the connector the client matched. */
  class?: ClientClass;
  reason: string;
}

export type Acceptance = { ok: true; reason: string } | { ok: false; reply: ReplyName; reason: string };

function roleAddresses(config: Config, role: string): string[] {
  if (role === 'gateway') return config.gateway.addresses;
  if (role === 'hub') return config.hub.addresses;
  return config.onprem.find((o) => o.name === role)?.addresses ?? [];
}

function roleCertNames(config: Config, role: string): string[] {
  const r = role === 'gateway' ? config.gateway : role === 'hub' ? config.hub : config.onprem.find((o) => o.name === role);
  if (!r) return [];
  return [certificateName(r).toLowerCase()];
}

/** Is the client one of our own roles (by verified certificate name, else by address)? */
function peerRole(config: Config, facts: ClientFacts, candidates: string[]): string | undefined {
  const names = facts.certNames.map((n) => n.toLowerCase());
  const byCert = candidates.find((r) => roleCertNames(config, r).some((n) => names.includes(n)));
  if (byCert) return byCert;
  const ip = normalizeIp(facts.ip);
  return candidates.find((r) => roleAddresses(config, r).some((a) => ipInAny(ip, [a])));
}

export function standingAt(config: Config, role: string, facts: ClientFacts): ClientStanding {
  const ip = normalizeIp(facts.ip);
  const self = role === 'gateway' ? config.gateway : role === 'hub' ? config.hub : config.onprem.find((o) => o.name === role)!;
  // Our own verified certificate: the operator's tools (quarantine release) re-injecting into this role.
  const ownNames = roleCertNames(config, role);
  if (facts.certNames.some((n) => ownNames.includes(n.toLowerCase()))) return { arrivedFrom: 'self', reason: `the client presented ${role}'s own certificate (an operator re-injection)` };
  if (role === 'hub') {
    const cls = classifyClient(config, facts);
    if (cls.kind === 'connector') {
      const from = cls.connector.type === 'partner' ? 'gateway' : peerRole(config, facts, config.onprem.map((o) => o.name)) ?? config.onprem[0]?.name ?? 'onprem';
      return { arrivedFrom: from, class: cls, reason: cls.reason };
    }
    if (self.submitFrom.length && ipInAny(ip, self.submitFrom)) return { arrivedFrom: 'submission', class: cls, reason: `${ip} is a client network of the hub (submitFrom)` };
    return { arrivedFrom: 'internet', class: cls, reason: cls.reason };
  }
  if (self.submitFrom.length && ipInAny(ip, self.submitFrom)) return { arrivedFrom: 'submission', reason: `${ip} is a client network of ${role} (submitFrom)` };
  const peer = peerRole(config, facts, role === 'gateway' ? ['hub'] : ['hub', 'gateway']);
  if (peer) return { arrivedFrom: peer, reason: `${ip} is the ${peer}` };
  return { arrivedFrom: 'internet', reason: `${ip} is an internet client` };
}

/** MAIL FROM time: rules that depend only on the client and the sender. */
export function acceptSender(config: Config, role: string, standing: ClientStanding, facts: ClientFacts, sender: string): Acceptance {
  if (role === 'hub' && standing.class?.kind === 'connector' && standing.class.connector.requireTls && !facts.tls) {
    return { ok: false, reply: 'TLS_REQUIRED', reason: `connector "${standing.class.connector.name}" requires TLS` };
  }
  if (standing.arrivedFrom === 'submission' && sender && !isAccepted(config, sender)) {
    return { ok: false, reply: 'RELAY_DENIED', reason: `submitted mail must come from an accepted domain, not ${domainOf(sender)}` };
  }
  if (role === 'hub' && standing.arrivedFrom === 'internet' && config.hub.rejectDirectSend && sender && isAccepted(config, sender)) {
    return { ok: false, reply: 'DIRECT_SEND_REJECTED', reason: `anonymous mail from accepted domain ${domainOf(sender)} matches no connector (rejectDirectSend)` };
  }
  return { ok: true, reason: standing.reason };
}

/** On-prem relay through the hub must be attributable: accepted domain on the certificate or in MAIL FROM. */
function onpremAttributed(config: Config, facts: ClientFacts, sender: string): boolean {
  const certOk = facts.certNames.some((n) => config.domains.some((d) => matchesDomainPattern(n, d.name) || n.toLowerCase().endsWith('.' + d.name)));
  return certOk || (!!sender && acceptedDomainFor(config, domainOf(sender)) !== undefined);
}

/** RCPT TO time: the connector rules, then the routing decision for the recipient. */
export function acceptRecipient(config: Config, role: string, standing: ClientStanding, facts: ClientFacts, sender: string, recipient: string): Acceptance {
  const internal = isAccepted(config, recipient);
  if (standing.arrivedFrom === 'self') {
    // Re-injected mail (a quarantine release) was accepted for our recipients once already.
    if (!internal) return { ok: false, reply: 'RELAY_DENIED', reason: 'a re-injection may only carry mail for the organization' };
    const d = decideAt(config, role, { sender, recipient, arrivedFrom: 'internet' });
    return d.action.kind === 'reject' ? { ok: false, reply: d.action.reply, reason: d.reason } : { ok: true, reason: d.reason };
  }
  if (role === 'hub') {
    const from = standing.arrivedFrom;
    if (from === 'internet') {
      if (!internal) return { ok: false, reply: 'RELAY_DENIED', reason: `anonymous client may not relay to ${domainOf(recipient)}` };
      if (hubIsLocked(config)) return { ok: false, reply: 'HUB_LOCKED', reason: `the hub is locked to its gateway and ${standing.reason}` };
    } else if (from === 'gateway') {
      if (!internal && !config.gateway.relaysOutbound) return { ok: false, reply: 'RELAY_DENIED', reason: `the partner connector carries mail for accepted domains only` };
      if (!internal) return { ok: false, reply: 'RELAY_DENIED', reason: 'the gateway may not relay external mail through the hub' };
    } else if (from !== 'submission' && !internal && !onpremAttributed(config, facts, sender)) {
      return { ok: false, reply: 'RELAY_ACCESS_DENIED_ONPREM', reason: 'on-prem relay needs an accepted domain on the certificate or in MAIL FROM' };
    }
  } else if (config.onprem.some((o) => o.name === role) && standing.arrivedFrom !== 'submission') {
    // Mail that reaches on-prem from outside its users must be for its own mailboxes: anything else
    // would be relayed back, i.e. a loop or an open relay.
    const d = decideAt(config, role, { sender, recipient, arrivedFrom: standing.arrivedFrom });
    if (d.action.kind === 'mailbox') return { ok: true, reason: d.reason };
    if (d.action.kind === 'reject') return { ok: false, reply: d.action.reply, reason: d.reason };
    return { ok: false, reply: internal ? 'MAILBOX_UNKNOWN' : 'RELAY_DENIED', reason: `${role} accepts only its own mailboxes from ${standing.arrivedFrom}` };
  } else if (role === 'gateway' && standing.arrivedFrom === 'submission' && !internal) {
    return { ok: false, reply: 'RELAY_DENIED', reason: 'the gateway does not relay submitted mail to the internet' };
  }
  const d = decideAt(config, role, { sender, recipient, arrivedFrom: standing.arrivedFrom });
  if (d.action.kind === 'reject') return { ok: false, reply: d.action.reply, reason: d.reason };
  return { ok: true, reason: d.reason };
}
