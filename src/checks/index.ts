// The rule registry and the runner. `runChecks` is pure except for the injected resolver.
import type { LoadedConfig } from '../config/load.js';
import type { Resolver } from '../dns/types.js';
import { buildContext, gatherDns } from './context.js';
import * as auth from './rules/auth.js';
import * as dns from './rules/dns.js';
import * as ef from './rules/enhanced-filtering.js';
import * as inbound from './rules/inbound.js';
import * as limits from './rules/limits.js';
import * as mailboxes from './rules/mailboxes.js';
import * as onprem from './rules/onprem.js';
import * as outbound from './rules/outbound.js';
import * as scenario from './rules/scenario.js';
import * as spf from './rules/spf.js';
import type { CheckContext, Finding, Rule, Severity } from './types.js';

export type { CheckContext, Finding, Rule, Severity } from './types.js';

/** Every rule, in the order findings are reported (roughly the order of exo-features.md section 2). */
export const RULES: readonly Rule[] = [
  // DNS (rules 1–5)
  dns.mxPointsToGateway,
  dns.dnsLookupFailed,
  spf.spfSendingRoles,
  spf.spfOpenAll,
  spf.spfPublished,
  spf.spfLint,
  spf.spfContestedListing,
  auth.dkimConfigured,
  auth.dkimPublished,
  auth.dmarcConfigured,
  auth.dmarcPublished,
  auth.dmarcAggregateReports,
  // Inbound from the gateway (rules 6–17)
  inbound.hubLockedToGateway,
  inbound.gatewayIpsCovered,
  inbound.gatewayCertName,
  inbound.partnerIpAndCert,
  inbound.connectorIpFormat,
  inbound.openRelayConnector,
  inbound.partnerUnrestricted,
  dns.gatewayDeliversToHub,
  ef.efEnabled,
  ef.efSkipIpsCoverGateway,
  ef.efPrivateIp,
  ef.efSkipLastMultiple,
  ef.efUsersScope,
  inbound.rejectDirectSend,
  // Scenarios (seed 003; rules 17, 29)
  scenario.scenarioArchivingDiscouraged,
  scenario.scenarioArchivingOutbound,
  scenario.scenarioFilteringOutboundDirect,
  scenario.gatewayFilteringScenario,
  // On-prem (rules 18–24)
  onprem.onpremSmartHostHub,
  onprem.onpremInboundConnector,
  onprem.onpremConnectorPreferCert,
  onprem.onpremCertAcceptedDomain,
  onprem.onpremDomainConnector,
  onprem.authoritativeWithOnprem,
  onprem.onpremConnectorTls,
  onprem.onpremConnectorLoop,
  // Outbound connectors
  outbound.outboundSmartHosts,
  outbound.outboundRecipientScope,
  outbound.outboundTlsDomain,
  // Mailboxes
  mailboxes.mailboxHomeConflict,
  mailboxes.mailboxDomainAccepted,
  // Operations (rules 30–31)
  limits.limitMessageSize,
  limits.limitRecipients,
  limits.queueExpireRange,
  limits.queueRetrySpan,
  limits.queueDelayWarning,
];

export interface CheckReport {
  ok: boolean;
  findings: Finding[];
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Runs every rule on a prepared context; findings sorted by position in the file, then severity. */
export function checkContext(ctx: CheckContext, rules: readonly Rule[] = RULES): CheckReport {
  const findings = rules
    .flatMap((r) => r.check(ctx))
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.location.line - b.f.location.line || a.f.location.column - b.f.location.column || RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
  return { ok: !findings.some((f) => f.severity === 'error'), findings };
}

/** Checks a loaded config; with a resolver, also the published DNS of every accepted domain. */
export async function runChecks(loaded: LoadedConfig, opts: { dns?: Resolver } = {}): Promise<CheckReport> {
  const facts = opts.dns ? await gatherDns(loaded.config, opts.dns) : undefined;
  return checkContext(buildContext(loaded, facts));
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const c: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity]++;
  return c;
}
