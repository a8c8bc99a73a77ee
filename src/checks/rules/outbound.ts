// Hub outbound connectors: scope, smart hosts, TLS names (inventory section 1.3, rule 22).
import { defineRule } from '../types.js';

const out = (i: number, ...rest: (string | number)[]) => ['hub', 'outboundConnectors', i, ...rest];

export const outboundSmartHosts = defineRule(
  {
    id: 'outbound-smarthosts',
    title: 'Outbound connectors name their smart hosts unless MX routing is meant',
    source: 'inventory rule 22; New-OutboundConnector (UseMXRecord / SmartHosts)',
    severities: ['error', 'info'],
  },
  ({ config }, emit) => {
    config.hub.outboundConnectors.forEach((c, i) => {
      if (!c.enabled || c.smartHosts.length) return;
      if (c.type === 'onpremises') {
        emit('error', out(i, 'smartHosts'), `onpremises connector "${c.name}" has no smart hosts, so it would use MX routing, and the MX of your own domains is the gateway: mail for on-prem recipients would loop (rule 22); set smartHosts to the on-prem server${config.onprem[0] ? ` (${config.onprem[0].hostname})` : ''}`);
      } else {
        emit('info', out(i, 'smartHosts'), `partner connector "${c.name}" has no smart hosts and delivers by MX lookup for ${c.recipientDomains.join(', ') || 'its domains'}; fine if intended (for example to force TLS to a partner), otherwise list the smart hosts`);
      }
    });
  },
);

export const outboundRecipientScope = defineRule(
  {
    id: 'outbound-recipient-scope',
    title: 'Outbound connectors serve some recipient domains',
    source: 'New-OutboundConnector (RecipientDomains; AllAcceptedDomains is OnPremises only); inventory rule 22',
    severities: ['error'],
  },
  ({ config }, emit) => {
    config.hub.outboundConnectors.forEach((c, i) => {
      if (c.allAcceptedDomains && c.type !== 'onpremises') {
        emit('error', out(i, 'allAcceptedDomains'), `partner connector "${c.name}" sets allAcceptedDomains, which only onpremises connectors support; list recipientDomains instead`);
      } else if (!c.allAcceptedDomains && c.recipientDomains.length === 0) {
        emit('error', out(i, 'recipientDomains'), `connector "${c.name}" has no recipientDomains and not allAcceptedDomains, so it serves no mail; list the domains it is for${c.type === 'onpremises' ? ' or set allAcceptedDomains: true' : " (['*'] for every external domain)"}`);
      }
    });
  },
);

export const outboundTlsDomain = defineRule(
  {
    id: 'outbound-tls-domain',
    title: 'domain-validation names the domain to validate',
    source: 'New-OutboundConnector (TlsSettings DomainValidation needs TlsDomain)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    config.hub.outboundConnectors.forEach((c, i) => {
      if (c.tls === 'domain-validation' && !c.tlsDomain) {
        emit('warning', out(i, 'tls'), `connector "${c.name}" uses tls: domain-validation without tlsDomain, so there is no name to match the smart host's certificate against; set tlsDomain (wildcards allowed) or use certificate-validation`);
      } else if (c.tlsDomain && c.tls !== 'domain-validation') {
        emit('warning', out(i, 'tlsDomain'), `connector "${c.name}" sets tlsDomain but tls is ${c.tls}; the name is checked only with tls: domain-validation`);
      }
    });
  },
);
