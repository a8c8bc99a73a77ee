// On-prem ↔ hub: outbound through the hub, relay attributed to the tenant, on-prem domains reachable
// (seed 000; inventory rules 18–20, 22, 24).
import { selectOutboundConnector } from '../../routing/connectors.js';
import { ipInAny } from '../../routing/ip.js';
import { certNameMatches, inDomainNamespace, inbound, onpremRecipientsIn, roleOfTarget } from '../topology.js';
import { defineRule } from '../types.js';

export const onpremSmartHostHub = defineRule(
  {
    id: 'onprem-smarthost-hub',
    title: 'On-prem servers send everything through the hub',
    source: 'seed 000 ("My messages to the internet must route through Office 365 to prevent my on-premises servers\' IP addresses from being added to external block lists"); inventory rule 20',
    severities: ['error'],
  },
  ({ config }, emit) => {
    config.onprem.forEach((o, i) => {
      const role = roleOfTarget(config, o.smartHost);
      if (role === 'hub') return;
      const where =
        role === 'gateway'
          ? 'the gateway; seed 000 routes on-prem mail to the hub, then to the internet, bypassing the third-party service'
          : role === o.name
            ? 'itself'
            : role
              ? `on-prem server ${role}, not the hub`
              : 'a host that is not the hub, so it reaches the internet without the hub and its IP faces external block lists (seed 000)';
      emit('error', ['onprem', i, 'smartHost'], `on-prem ${o.name} sends through ${o.smartHost}, which is ${where}; set smartHost: hub (or ${config.hub.hostname})`);
    });
  },
);

export const onpremInboundConnector = defineRule(
  {
    id: 'onprem-inbound-connector',
    title: 'An onpremises inbound connector identifies each on-prem server',
    source: 'inventory rules 18 and 19 (relay since Nov 2023; 550 5.7.64 TenantAttribution)',
    severities: ['error'],
  },
  ({ config }, emit) => {
    const conns = inbound(config).filter(({ c }) => c.enabled && c.type === 'onpremises');
    config.onprem.forEach((o, i) => {
      const names = [o.tls.subject, o.hostname].filter((n): n is string => !!n).map((n) => n.toLowerCase());
      if (conns.some(({ c }) => certNameMatches(c.tlsSenderCertificateName, names))) return;
      if (o.addresses.length && conns.some(({ c }) => o.addresses.every((a) => ipInAny(a, c.senderIpAddresses)))) return;
      const partial = conns.find(({ c }) => o.addresses.some((a) => ipInAny(a, c.senderIpAddresses)));
      const detail = partial
        ? `connector "${partial.c.name}" lists only some of its addresses (missing ${o.addresses.filter((a) => !ipInAny(a, partial.c.senderIpAddresses)).join(', ')})`
        : 'no onpremises connector matches its certificate or its addresses';
      emit('error', ['onprem', i], `on-prem ${o.name} relays through the hub but ${detail}: the hub rejects the relay with 550 5.7.64 TenantAttribution (rules 18/19: the certificate domain or source IP must match an OnPremises connector). Add { type: onpremises, tlsSenderCertificateName: ${names[0]}, requireTls: true }`);
    });
  },
);

export const onpremConnectorPreferCert = defineRule(
  {
    id: 'onprem-connector-prefer-cert',
    title: 'On-prem servers are identified by certificate rather than IP',
    source: 'inventory rule 18 (Message Center MC1226222: prefer certificates)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    const conns = inbound(config).filter(({ c }) => c.enabled && c.type === 'onpremises');
    config.onprem.forEach((o) => {
      const names = [o.tls.subject, o.hostname].filter((n): n is string => !!n).map((n) => n.toLowerCase());
      if (conns.some(({ c }) => certNameMatches(c.tlsSenderCertificateName, names))) return;
      const byIp = conns.find(({ c }) => o.addresses.length && o.addresses.every((a) => ipInAny(a, c.senderIpAddresses)));
      if (!byIp) return;
      emit('warning', ['hub', 'inboundConnectors', byIp.index], `connector "${byIp.c.name}" identifies on-prem ${o.name} by IP only; an IP connector whose address is shared with other tenants "may unexpectedly stop working" (MC1226222, rule 18); add tlsSenderCertificateName: ${names[0]} (a name in an accepted domain) and requireTls: true`);
    });
  },
);

export const onpremCertAcceptedDomain = defineRule(
  {
    id: 'onprem-cert-accepted-domain',
    title: 'OnPremises connector certificate names lie in an accepted domain',
    source: 'inventory rules 18 and 19 (tenant attribution: certificate domain → P1 MailFrom → RcptTo)',
    severities: ['error'],
  },
  ({ config }, emit) => {
    for (const { c, index } of inbound(config)) {
      const name = c.tlsSenderCertificateName;
      if (c.type !== 'onpremises' || !c.enabled || !name) continue;
      if (config.domains.some((d) => inDomainNamespace(name, d.name))) continue;
      emit('error', ['hub', 'inboundConnectors', index, 'tlsSenderCertificateName'], `connector "${c.name}" expects certificate ${name}, which is not in an accepted domain (${config.domains.map((d) => d.name).join(', ')}): relay is attributed to the tenant by the certificate's domain, and a foreign name is the MC1226222 anti-pattern that ends in 550 5.7.64 (rules 18/19); use a certificate named in one of your accepted domains`);
    }
  },
);

export const onpremDomainConnector = defineRule(
  {
    id: 'onprem-domain-connector',
    title: 'Domains with on-prem recipients are served by an onpremises outbound connector',
    source: 'inventory rules 22 and 24 (internal relay needs an outbound connector)',
    severities: ['error'],
  },
  ({ config }, emit) => {
    config.domains.forEach((d, i) => {
      const onprem = onpremRecipientsIn(config, d);
      if (d.type !== 'internal-relay' && onprem.length === 0) return;
      const why = d.type === 'internal-relay' ? `${d.name} is internal-relay (recipients the hub does not host go on-prem)` : `${d.name} has on-prem recipients (${onprem.slice(0, 3).join(', ')}${onprem.length > 3 ? ', …' : ''})`;
      const sel = selectOutboundConnector(config, d.name, undefined, true);
      const fix = `add { type: onpremises, recipientDomains: [${d.name}], smartHosts: [${config.onprem[0]?.hostname ?? 'your on-prem server'}], tls: certificate-validation }`;
      if (!sel) {
        emit('error', ['domains', i, 'type'], `${why}, but no enabled outbound connector serves it, so that mail queues for 24 h and bounces (rule 22); ${fix}`);
      } else if (sel.connector.type !== 'onpremises') {
        emit('error', ['hub', 'outboundConnectors', sel.index], `${why}, but the hub would send it over partner connector "${sel.connector.name}" (${sel.match}) instead of an onpremises connector (rules 22/24); ${fix}`);
      }
    });
  },
);

export const authoritativeWithOnprem = defineRule(
  {
    id: 'authoritative-with-onprem',
    title: 'Authoritative domains with on-prem recipients list every one of them',
    source: 'inventory rule 24 (Authoritative only if every on-prem recipient exists in the hub; DBEB)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    config.domains.forEach((d, i) => {
      if (d.type !== 'authoritative') return;
      const onprem = onpremRecipientsIn(config, d);
      if (!onprem.length) return;
      emit('warning', ['domains', i, 'type'], `${d.name} is authoritative but has on-prem recipients: the hub rejects every recipient it does not know (directory-based edge blocking), so each on-prem recipient must be listed in mailboxes (rule 24); if some are not, use type: internal-relay`);
    });
  },
);

export const onpremConnectorTls = defineRule(
  {
    id: 'onprem-connector-tls',
    title: 'The connector to on-prem requires TLS with certificate validation',
    source: 'inventory rules 20 and 22 (RequireTLS, TlsAuthLevel CertificateValidation/DomainValidation)',
    severities: ['warning', 'info'],
  },
  ({ config }, emit) => {
    config.hub.outboundConnectors.forEach((c, i) => {
      if (c.type !== 'onpremises' || !c.enabled) return;
      if (c.tls === 'opportunistic') {
        emit('warning', ['hub', 'outboundConnectors', i, 'tls'], `connector "${c.name}" to on-prem uses opportunistic TLS: mail to on-prem can travel in clear or to an impostor, and the hybrid link expects forced TLS with a validated certificate (rule 20); set tls: certificate-validation`);
      } else if (c.tls === 'required') {
        emit('info', ['hub', 'outboundConnectors', i, 'tls'], `connector "${c.name}" requires TLS but does not validate the on-prem certificate (rule 20 recommends CertificateValidation or DomainValidation); consider tls: certificate-validation`);
      }
    });
  },
);

export const onpremConnectorLoop = defineRule(
  {
    id: 'onprem-connector-loop',
    title: 'The connector to on-prem does not point back at the gateway or the hub',
    source: 'seed 000 diagram (hub → on-prem); inventory rule 22',
    severities: ['error'],
  },
  ({ config }, emit) => {
    config.hub.outboundConnectors.forEach((c, i) => {
      if (c.type !== 'onpremises' || !c.enabled) return;
      c.smartHosts.forEach((h, j) => {
        const role = roleOfTarget(config, h);
        if (role !== 'gateway' && role !== 'hub') return;
        emit('error', ['hub', 'outboundConnectors', i, 'smartHosts', j], `onpremises connector "${c.name}" sends to ${h}, which is the ${role}: mail for on-prem recipients would loop instead of reaching on-prem; use the on-prem server's host name${config.onprem[0] ? ` (${config.onprem[0].hostname})` : ''}`);
      });
    });
  },
);
