// The two seed scenarios: 1 (gateway filters, outbound hub → internet) and 2 (archiving service in
// both directions; discouraged). Inventory section 0, rules 17 and 29.
import { roleOfTarget } from '../topology.js';
import { defineRule } from '../types.js';

export const scenarioArchivingDiscouraged = defineRule(
  {
    id: 'scenario-archiving-discouraged',
    title: 'Scenario 2 (archiving service in both directions) is discouraged',
    source: 'seed 003 "Scenario 2 (unsupported)"; inventory section 0 and rules 17, 29',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    if (config.scenario !== 'archiving') return;
    emit('warning', ['scenario'], `scenario: archiving is the seed's "Scenario 2 (unsupported)": "We don't recommend or support this scenario because it causes Office 365 spam filtering not to work properly"; mail from all internet senders appears to originate from the third-party service, and the service becomes your internet-facing sender (SPF, reputation). If you keep it, Enhanced Filtering on its connector is mandatory; Microsoft recommends its own archiving and auditing instead`);
  },
);

export const scenarioArchivingOutbound = defineRule(
  {
    id: 'scenario-archiving-outbound',
    title: 'Scenario 2: the hub sends all outbound mail through the gateway',
    source: 'seed 003 scenario 2 diagram (Office 365 → third party → internet); inventory rule 29',
    severities: ['error'],
  },
  ({ config }, emit) => {
    if (config.scenario !== 'archiving') return;
    if (!config.gateway.relaysOutbound) {
      emit('error', ['gateway', 'relaysOutbound'], `scenario: archiving sends the hub's internet mail through the service (seed 003 scenario 2), but gateway.relaysOutbound is false; set it to true`);
    }
    const ok = config.hub.outboundConnectors.some(
      (c) => c.enabled && c.type === 'partner' && c.recipientDomains.includes('*') && c.smartHosts.some((h) => roleOfTarget(config, h) === 'gateway'),
    );
    if (!ok) {
      emit('error', ['hub', 'outboundConnectors'], `scenario: archiving needs an enabled partner outbound connector for recipientDomains ['*'] with the gateway as smart host, or the hub sends straight to the internet and the service never sees outbound mail (rule 29); add { name: To archiving service, type: partner, recipientDomains: ['*'], smartHosts: [${config.gateway.hostname}], tls: certificate-validation }`);
    }
  },
);

export const scenarioFilteringOutboundDirect = defineRule(
  {
    id: 'scenario-filtering-outbound-direct',
    title: 'Scenario 1: outbound mail goes hub → internet, bypassing the gateway',
    source: 'seed 000 diagram ("Mail from on-premises servers goes to Office 365 then to the internet (bypassing the third-party service)"); seed 003 scenario 1',
    severities: ['error'],
  },
  ({ config }, emit) => {
    if (config.scenario !== 'filtering') return;
    const why = 'in scenario 1 outbound mail goes from the hub straight to the internet, bypassing the third-party service (seeds 000/003)';
    if (config.gateway.relaysOutbound) {
      emit('error', ['gateway', 'relaysOutbound'], `gateway.relaysOutbound is true but ${why}; set it to false, or set scenario: archiving if the service really must relay outbound mail`);
    }
    config.hub.outboundConnectors.forEach((c, i) => {
      if (!c.enabled) return;
      const j = c.smartHosts.findIndex((h) => roleOfTarget(config, h) === 'gateway');
      if (j >= 0) emit('error', ['hub', 'outboundConnectors', i, 'smartHosts', j], `outbound connector "${c.name}" sends to the gateway (${c.smartHosts[j]}), but ${why}; remove the connector or point it elsewhere`);
    });
  },
);

export const gatewayFilteringScenario = defineRule(
  {
    id: 'gateway-filtering-scenario',
    title: 'Scenario 1 expects the gateway to filter',
    source: 'seed 003 scenario 1 ("All email that the Internet sends must be filtered by this third-party cloud service")',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    if (config.scenario === 'filtering' && !config.gateway.filtering) {
      emit('warning', ['gateway', 'filtering'], `scenario: filtering but gateway.filtering is false: nothing filters internet mail before the hub, which is seed 003's scenario 2; turn filtering on or set scenario: archiving (and enable Enhanced Filtering)`);
    }
  },
);
