// The routing decision: at a given role, for one recipient, where does the message go next and why.
// The same function answers `mailflow route` and decides the engine's real deliveries.
import type { Config, OutboundConnector } from '../config/schema.js';
import type { ReplyName } from '../smtp/replies.js';
import type { TlsPolicy } from '../smtp/outbound/types.js';
import { classifyClient, hubIsLocked, selectOutboundConnector } from './connectors.js';
import { resolveRecipient, type RecipientHome } from './directory.js';
import { domainOf } from './domains.js';
import { certificateName, resolveHostRef, type HostRef } from './hosts.js';

export type RouteAction =
  | { kind: 'mailbox'; role: string; address: string }
  | { kind: 'relay'; toRole: string; targets: HostRef[]; tls: TlsPolicy; connector?: ConnectorRef }
  | { kind: 'internet'; domain: string; via: 'mx' }
  | { kind: 'reject'; reply: ReplyName };

export interface ConnectorRef {
  name: string;
  /** `outbound` = the sending role's connector; `inbound` = the connector the receiving hub matches. */
  direction: 'inbound' | 'outbound';
  type: 'partner' | 'onpremises';
}

export interface RouteDecision {
  action: RouteAction;
  /** The config location (or rule) that decided. */
  rule: string;
  reason: string;
  home: RecipientHome;
}

export interface RouteInput {
  sender: string;
  recipient: string;
  /** The role the message came from ('internet' when from outside), if known. */
  arrivedFrom?: string;
}

export function decideAt(config: Config, role: string, input: RouteInput): RouteDecision {
  const home = resolveRecipient(config, input.recipient);
  if (role === 'internet') return decideInternet(config, input, home);
  if (role === 'gateway') return decideGateway(config, input, home);
  if (role === 'hub') return decideHub(config, input, home);
  if (config.onprem.some((o) => o.name === role)) return decideOnprem(config, role, input, home);
  throw new Error(`unknown role ${role}`);
}

function decideInternet(config: Config, input: RouteInput, home: RecipientHome): RouteDecision {
  const domain = domainOf(input.recipient);
  if (home.kind === 'external') return { action: { kind: 'internet', domain, via: 'mx' }, rule: 'internet', reason: `${domain} is not ours: delivered by its own MX`, home };
  return {
    action: { kind: 'relay', toRole: 'gateway', targets: [resolveHostRef(config, 'gateway')], tls: 'opportunistic' },
    rule: 'dns.mx',
    reason: `the MX of ${domain} points at the gateway (${config.gateway.hostname})`,
    home,
  };
}

function decideGateway(config: Config, input: RouteInput, home: RecipientHome): RouteDecision {
  const g = config.gateway;
  if (home.kind === 'external') {
    if (g.relaysOutbound && input.arrivedFrom === 'hub') {
      return { action: { kind: 'internet', domain: domainOf(input.recipient), via: 'mx' }, rule: 'gateway.relaysOutbound', reason: 'scenario 2: the gateway relays the hub\'s outbound mail to the internet', home };
    }
    if (input.arrivedFrom === 'local') {
      return { action: { kind: 'internet', domain: domainOf(input.recipient), via: 'mx' }, rule: 'dsn', reason: 'a delivery report the gateway generated goes back to the sender\'s MX', home };
    }
    return { action: { kind: 'reject', reply: 'RELAY_DENIED' }, rule: 'domains', reason: `${home.reason}; the gateway relays only for the organization's domains`, home };
  }
  // A filter with directory sync knows every mailbox it protects: an address in no list and matching no
  // rule is refused at RCPT time, even in an internal-relay domain (no accept-then-bounce backscatter).
  if ((home.kind === 'unknown' || home.kind === 'relay-onprem') && g.validateRecipients) {
    return { action: { kind: 'reject', reply: 'RECIPIENT_NOT_FOUND' }, rule: 'gateway.validateRecipients', reason: `${input.recipient.toLowerCase()} is in no mailbox list or rule of the directory the gateway validates against`, home };
  }
  const target = resolveHostRef(config, g.deliverTo ?? 'hub');
  const facts = { ip: g.addresses[0] ?? '', certNames: [certificateName(g)], tls: true };
  const cls = classifyClient(config, facts);
  if (cls.kind === 'anonymous' && hubIsLocked(config)) {
    return { action: { kind: 'reject', reply: 'HUB_LOCKED' }, rule: 'hub.inboundConnectors', reason: `the hub is locked to its gateway but no partner connector matches the gateway (${cls.reason})`, home };
  }
  const connector = cls.kind === 'connector' ? { name: cls.connector.name, direction: 'inbound' as const, type: cls.connector.type } : undefined;
  const tls: TlsPolicy = cls.kind === 'connector' && cls.connector.requireTls ? 'required' : 'opportunistic';
  return {
    action: { kind: 'relay', toRole: 'hub', targets: [target], tls, connector },
    rule: g.deliverTo ? 'gateway.deliverTo' : 'hub.hostname',
    reason: `${g.filtering ? 'filtered, then ' : ''}relayed to the hub (${target.host})${cls.kind === 'connector' ? ` over ${cls.reason}` : ' as anonymous mail'}`,
    home,
  };
}

function viaOutboundConnector(config: Config, c: OutboundConnector, index: number, match: string, home: RecipientHome, why: string): RouteDecision {
  const targets = c.smartHosts.map((h) => resolveHostRef(config, h));
  const toRole = targets[0]?.role ?? (c.type === 'onpremises' ? config.onprem[0]?.name ?? 'onprem' : 'partner');
  return {
    action: { kind: 'relay', toRole, targets, tls: c.tls, connector: { name: c.name, direction: 'outbound', type: c.type } },
    rule: `hub.outboundConnectors[${index}]`,
    reason: `${why}; outbound connector "${c.name}" serves ${match}`,
    home,
  };
}

function decideHub(config: Config, input: RouteInput, home: RecipientHome): RouteDecision {
  const domain = domainOf(input.recipient);
  switch (home.kind) {
    case 'cloud':
      return { action: { kind: 'mailbox', role: 'hub', address: input.recipient.toLowerCase() }, rule: home.rule, reason: home.reason, home };
    case 'unknown':
      return { action: { kind: 'reject', reply: 'RECIPIENT_NOT_FOUND' }, rule: home.rule, reason: home.reason, home };
    case 'onprem':
    case 'relay-onprem': {
      const sel = selectOutboundConnector(config, domain, (c) => c.type === 'onpremises', true);
      if (!sel) return { action: { kind: 'reject', reply: 'NO_ROUTE' }, rule: 'hub.outboundConnectors', reason: `${home.reason}, but no outbound connector to on-premises serves ${domain}`, home };
      return viaOutboundConnector(config, sel.connector, sel.index, sel.match, home, home.reason);
    }
    case 'external': {
      const sel = selectOutboundConnector(config, domain, (c) => c.type === 'partner');
      if (sel) return viaOutboundConnector(config, sel.connector, sel.index, sel.match, home, `${domain} is outside the organization`);
      return { action: { kind: 'internet', domain, via: 'mx' }, rule: 'hub.outboundConnectors', reason: `${domain} is outside the organization and no outbound connector serves it: direct delivery by MX (scenario 1, bypassing the gateway)`, home };
    }
  }
}

function decideOnprem(config: Config, role: string, input: RouteInput, home: RecipientHome): RouteDecision {
  const server = config.onprem.find((o) => o.name === role)!;
  if (home.kind === 'onprem' && home.server === role) {
    return { action: { kind: 'mailbox', role, address: input.recipient.toLowerCase() }, rule: home.rule, reason: home.reason, home };
  }
  if (home.kind === 'relay-onprem' && home.server === role) {
    return { action: { kind: 'reject', reply: 'MAILBOX_UNKNOWN' }, rule: home.rule, reason: `${input.recipient} has no mailbox on ${role}, which is authoritative for the internal-relay remainder`, home };
  }
  const target = resolveHostRef(config, server.smartHost);
  const facts = { ip: server.addresses[0] ?? '', certNames: [certificateName(server)], tls: true };
  const cls = target.role === 'hub' ? classifyClient(config, facts) : undefined;
  const connector = cls?.kind === 'connector' ? { name: cls.connector.name, direction: 'inbound' as const, type: cls.connector.type } : undefined;
  const why = home.kind === 'external' ? `${domainOf(input.recipient)} is outside the organization` : home.reason;
  return {
    action: { kind: 'relay', toRole: target.role ?? server.smartHost, targets: [target], tls: 'opportunistic', connector },
    rule: `onprem[${config.onprem.indexOf(server)}].smartHost`,
    reason: `${why}; on-prem sends everything that is not its own through ${server.smartHost}${cls ? ` (${cls.reason})` : ''}`,
    home,
  };
}

/** Where a message from `sender` starts when the caller does not say: the sender's mailbox home, else the internet. */
export function originRole(config: Config, sender: string): string {
  if (!sender) return 'internet';
  const home = resolveRecipient(config, sender);
  if (home.kind === 'cloud') return 'hub';
  if (home.kind === 'onprem') return home.server;
  return 'internet';
}
