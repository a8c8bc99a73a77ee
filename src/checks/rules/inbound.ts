// Mail into the hub: locked to the gateway (inventory rules 6–8, 16), no open relay.
import { isIP } from 'node:net';
import { ipInAny, prefixLength } from '../../routing/ip.js';
import { certNameMatches, gatewayCertNames, inbound, lockingConnectors } from '../topology.js';
import { defineRule } from '../types.js';

const conn = (i: number, ...rest: (string | number)[]) => ['hub', 'inboundConnectors', i, ...rest];

export const hubLockedToGateway = defineRule(
  {
    id: 'hub-locked-to-gateway',
    title: 'The hub accepts internet mail only through a partner connector restricted to the gateway',
    source: 'inventory rule 6 (scenario page lock-down step); seeds: MX points to the third party',
    severities: ['error'],
  },
  ({ config }, emit) => {
    const hub = config.hub.hostname;
    if (!config.hub.lockToGateway) {
      emit('error', ['hub', 'lockToGateway'], `hub.lockToGateway is false: mail sent straight to ${hub} bypasses the gateway's filtering, the most reported gap in this design (rule 6); set lockToGateway: true`);
    }
    if (lockingConnectors(config).length === 0) {
      const ips = config.gateway.addresses.join(', ') || '<gateway egress IPs>';
      emit('error', ['hub', 'inboundConnectors'], `no enabled partner connector with senderDomains ['*'] restricts mail to the gateway, so anyone can deliver to ${hub} and skip the filter (rule 6: "messages smart-host routed directly … will be rejected" only with it). Add a partner connector with senderDomains ['*'], senderIpAddresses [${ips}] and restrictDomainsToIPAddresses: true, or tlsSenderCertificateName ${gatewayCertNames(config)[0]} with restrictDomainsToCertificate: true and requireTls: true`);
    }
  },
);

export const gatewayIpsCovered = defineRule(
  {
    id: 'gateway-ips-covered',
    title: 'The IP-restricted partner connector lists every gateway address',
    source: 'inventory rules 6 and 7 (partner connector page: "If you miss an IP address … some mail will not be delivered")',
    severities: ['error'],
  },
  ({ config }, emit) => {
    const addrs = config.gateway.addresses;
    for (const { c, index } of lockingConnectors(config)) {
      if (!c.restrictDomainsToIPAddresses) continue;
      if (addrs.length === 0) {
        emit('error', ['gateway', 'addresses'], `gateway.addresses is empty, so nothing shows that partner connector "${c.name}" (restricted to ${c.senderIpAddresses.join(', ')}) admits the gateway; list the gateway's full egress list`);
        continue;
      }
      const missing = addrs.filter((a) => !ipInAny(a, c.senderIpAddresses));
      if (missing.length) {
        emit('error', conn(index, 'senderIpAddresses'), `partner connector "${c.name}" is restricted to ${c.senderIpAddresses.join(', ')} but the gateway also sends from ${missing.join(', ')}: mail from those addresses is rejected ("If you miss an IP address some mail will not be delivered", rule 7); add them`);
      }
    }
  },
);

export const gatewayCertName = defineRule(
  {
    id: 'gateway-cert-name',
    title: 'The certificate-restricted partner connector names the gateway\'s certificate and requires TLS',
    source: 'inventory rule 6',
    severities: ['error', 'warning'],
  },
  ({ config }, emit) => {
    const names = gatewayCertNames(config);
    for (const { c, index } of lockingConnectors(config)) {
      if (!c.restrictDomainsToCertificate) continue;
      if (!certNameMatches(c.tlsSenderCertificateName, names)) {
        emit('error', conn(index, 'tlsSenderCertificateName'), `partner connector "${c.name}" is restricted to certificate ${c.tlsSenderCertificateName}, which does not match the gateway's certificate (${names.join(', ')}): the gateway's mail would be rejected (rule 6); set it to the gateway's certificate subject or set gateway.tls.subject`);
      }
      if (!c.requireTls) {
        emit('warning', conn(index, 'requireTls'), `partner connector "${c.name}" restricts by certificate without requireTls: true (rule 6 pairs RestrictDomainsToCertificate with RequireTls); set requireTls: true`);
      }
    }
  },
);

export const partnerIpAndCert = defineRule(
  {
    id: 'partner-ip-and-cert',
    title: 'No partner connector mixes IP and certificate identification',
    source: 'inventory rule 8 (use-connectors page; issue #900)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      if (c.type !== 'partner') continue;
      const both = (c.restrictDomainsToIPAddresses && c.restrictDomainsToCertificate) || (c.senderIpAddresses.length > 0 && !!c.tlsSenderCertificateName);
      if (both) emit('warning', conn(index), `partner connector "${c.name}" has both IP addresses and a certificate name; Microsoft: "You should not have IPs and certificates configured in the same partner connector" (rule 8); keep one (certificate preferred) or split it into two connectors`);
    }
  },
);

export const connectorIpFormat = defineRule(
  {
    id: 'connector-ip-format',
    title: 'Inbound connector IP addresses are IPv4 with masks /24–/32',
    source: 'inventory rule 7 (New-InboundConnector SenderIPAddresses)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      c.senderIpAddresses.forEach((e, j) => {
        const base = e.split('/')[0]!;
        const bits = prefixLength(e);
        if (bits < 8) return; // open-relay-connector reports these
        if (isIP(base) === 6) emit('warning', conn(index, 'senderIpAddresses', j), `${e} on connector "${c.name}" is IPv6; the hub's connectors take IPv4 only ("IPv6 addresses are not supported", rule 7), so mail from it will not match; list the IPv4 egress addresses`);
        else if (bits < 24) emit('warning', conn(index, 'senderIpAddresses', j), `${e} on connector "${c.name}" has mask /${bits}; the hub accepts /24 to /32 only (rule 7); split it or list the exact egress addresses`);
      });
    }
  },
);

export const openRelayConnector = defineRule(
  {
    id: 'open-relay-connector',
    title: 'No inbound connector trusts the whole internet',
    source: 'inventory rules 6 and 18 (connectors grant relay and trust; compromised-connector guidance)',
    severities: ['error'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      c.senderIpAddresses.forEach((e, j) => {
        if (prefixLength(e) > 7) return;
        const what = c.type === 'onpremises' ? 'relay to any internet destination as your organisation' : 'pass as the gateway and skip the lock';
        emit('error', conn(index, 'senderIpAddresses', j), `${e} on ${c.type} connector "${c.name}" covers (almost) the whole internet, so any host can ${what}: an open relay; list only your servers' egress addresses`);
      });
    }
  },
);

export const partnerUnrestricted = defineRule(
  {
    id: 'partner-unrestricted',
    title: 'No unrestricted partner connector next to the gateway lock',
    source: 'inventory rule 8 ("You can\'t have an \'allow\' by sender domain connector when there is a restrict … connector")',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    if (!config.hub.lockToGateway) return;
    for (const { c, index } of inbound(config)) {
      if (!c.enabled || c.type !== 'partner' || c.restrictDomainsToIPAddresses || c.restrictDomainsToCertificate) continue;
      emit('warning', conn(index), `partner connector "${c.name}" restricts nothing while the hub is locked to the gateway: an "allow by sender domain" connector is overridden by the restrict connector (rule 8, issue #900), so it does not do what it seems to; restrict it by IP or certificate, or remove it`);
    }
  },
);

export const rejectDirectSend = defineRule(
  {
    id: 'reject-direct-send',
    title: 'Reject Direct Send considered',
    source: 'inventory rule 16 (Set-OrganizationConfig -RejectDirectSend, 5.7.68)',
    severities: ['info'],
  },
  ({ config }, emit) => {
    if (config.hub.rejectDirectSend) return;
    emit('info', ['hub', 'rejectDirectSend'], `rejectDirectSend is off: anonymous mail with one of your domains in MAIL FROM that matches no connector is accepted (the Direct Send spoofing vector, rule 16); consider rejectDirectSend: true once every legitimate sender using your domains reaches the hub through an IP- or certificate-matching connector`);
  },
);
