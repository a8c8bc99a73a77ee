// SPF: who must be authorised (seeds 000/003 step 3, inventory rules 2–4), checked on the config and,
// with DNS, on the published record. Lookup counting through includes is the SPF linter's job.
import type { Config } from '../../config/schema.js';
import type { DnsResult } from '../../dns/types.js';
import { spfRecordValue } from '../../dns/plan.js';
import { ipInRange } from '../../routing/ip.js';
import { roleOfTarget } from '../topology.js';
import { defineRule, type ConfigPath } from '../types.js';

interface SpfRole {
  name: string;
  path: ConfigPath;
  spfInclude?: string;
  addresses: string[];
  inSpf: boolean;
  /** Sends mail to the internet itself, so SPF must authorise it. */
  sends: boolean;
  why: string;
}

/** Every role with its SPF facts; `sends` follows the scenario (rule 4). */
export function spfRoles(config: Config): SpfRole[] {
  const viaGateway = config.gateway.relaysOutbound;
  const roles: SpfRole[] = [
    {
      name: 'hub',
      path: ['hub'],
      spfInclude: config.hub.spfInclude,
      addresses: config.hub.addresses,
      inSpf: true,
      sends: !viaGateway,
      why: 'the hub sends all internet mail, cloud and relayed on-prem (seeds: "add Office 365 as a valid sender")',
    },
    {
      name: 'gateway',
      path: ['gateway'],
      spfInclude: config.gateway.spfInclude,
      addresses: config.gateway.addresses,
      inSpf: config.gateway.inSpf,
      sends: viaGateway,
      why: 'the gateway relays the hub\'s outbound mail, so it is the real internet-facing sender (rule 4, scenario 2)',
    },
  ];
  config.onprem.forEach((o, i) => {
    const target = roleOfTarget(config, o.smartHost);
    roles.push({
      name: `on-prem ${o.name}`,
      path: ['onprem', i],
      spfInclude: o.spfInclude,
      addresses: o.addresses,
      inSpf: o.inSpf,
      sends: target !== 'hub' && target !== 'gateway',
      why: `on-prem ${o.name} sends straight to the internet (smartHost ${o.smartHost})`,
    });
  });
  return roles;
}

/** The record `mailflow dns plan` publishes (the DNS planner owns it; checks only read it). */
export const plannedSpf = spfRecordValue;

export const spfSendingRoles = defineRule(
  {
    id: 'spf-sending-roles',
    title: 'The planned SPF record authorises every role that sends to the internet',
    source: 'seeds 000/003 (SPF example); inventory rules 3 and 4',
    severities: ['error', 'warning'],
  },
  ({ config }, emit) => {
    for (const r of spfRoles(config)) {
      const listable = !!r.spfInclude || r.addresses.length > 0;
      if (r.sends && !r.inSpf) {
        emit('error', [...r.path, 'inSpf'], `${r.name} is left out of SPF (inSpf: false) but ${r.why}; receivers would SPF-fail its mail. Set inSpf: true`);
      } else if (r.sends && !listable) {
        emit('error', r.path, `${r.name} must be in SPF because ${r.why}, but it has neither spfInclude nor addresses to list; add its egress addresses or its SPF include domain${r.name === 'hub' ? ' (EXO: spf.protection.outlook.com)' : ''}`);
      } else if (r.sends && !listsRole(plannedSpf(config), r)) {
        emit('error', r.path, `${r.name} must be in SPF because ${r.why}, but the planned record "${plannedSpf(config)}" does not list it; check the scenario settings (gateway.relaysOutbound, the hub's outbound connectors)`);
      } else if (r.inSpf && !listable) {
        emit('warning', [...r.path, 'inSpf'], `${r.name} has inSpf: true but neither spfInclude nor addresses, so nothing can be listed for it; add its egress addresses or set inSpf: false`);
      }
    }
  },
);

export const spfContestedListing = defineRule(
  {
    id: 'spf-contested-listing',
    title: 'Roles listed in SPF that send no internet mail (documented, contested)',
    source: 'inventory rule 4; MicrosoftDocs/OfficeDocs-Exchange issues #682 and #714',
    severities: ['info'],
  },
  ({ config }, emit) => {
    for (const r of spfRoles(config)) {
      if (!r.inSpf || r.sends || r.name === 'hub') continue;
      const how = r.name === 'gateway' ? 'outbound mail goes hub → internet in scenario 1' : 'it relays through the hub';
      emit('info', [...r.path, 'inSpf'], `${r.name} is listed in SPF though it sends no internet mail directly (${how}). The seeds list it ("include the third-party service", "the IP addresses of your on-premises servers"); documented, contested: issues #682/#714 argue SPF strictly needs only the hub. Keep it if it emits NDRs or forwards with your domain, otherwise inSpf: false shortens the record`);
    }
  },
);

/** The `all` term's qualifier, `redirect` when the record delegates, or undefined. */
function allQualifier(record: string): string | undefined {
  const terms = record.trim().split(/\s+/);
  for (const t of terms) {
    const m = /^([+\-~?]?)all$/i.exec(t);
    if (m) return m[1] || '+';
  }
  return terms.some((t) => /^redirect=/i.test(t)) ? 'redirect' : undefined;
}

export const spfOpenAll = defineRule(
  {
    id: 'spf-open-all',
    title: 'No SPF record authorises the whole internet (+all, ?all)',
    source: 'inventory rule 2 (ends -all); defender SPF page',
    severities: ['error'],
  },
  ({ config, dns }, emit) => {
    const open = (q: string | undefined) => q === '+' || q === '?';
    const hubSpf = config.demo?.hubSpf;
    if (hubSpf && open(allQualifier(hubSpf))) {
      emit('error', ['demo', 'hubSpf'], `demo.hubSpf "${hubSpf}" ends ${allQualifier(hubSpf)}all, which lets any host send as the hub; end it with -all`);
    }
    if (!dns) return;
    config.domains.forEach((d, i) => {
      for (const rec of publishedSpf(dns.get(d.name, 'TXT'))) {
        const q = allQualifier(rec);
        if (open(q)) emit('error', ['domains', i, 'name'], `the published SPF record of ${d.name} ends ${q}all, so every host on the internet passes SPF for it; publish "${plannedSpf(config)}"`);
      }
    });
  },
);

function publishedSpf(r: DnsResult<'TXT'> | undefined): string[] {
  if (!r || r.status !== 'ok') return [];
  return r.answers.map((parts) => parts.join('')).filter((t) => /^v=spf1(\s|$)/i.test(t));
}

/** Whether the record lists the role directly (its include or all of its addresses). */
function listsRole(record: string, r: SpfRole): boolean {
  const terms = record.trim().split(/\s+/).map((t) => t.replace(/^\+/, '').toLowerCase());
  if (r.spfInclude && terms.includes(`include:${r.spfInclude.toLowerCase()}`)) return true;
  const ranges = terms.filter((t) => /^ip[46]:/.test(t)).map((t) => t.slice(4));
  return r.addresses.length > 0 && r.addresses.every((a) => ranges.some((range) => ipInRange(a, range)));
}

export const spfPublished = defineRule(
  {
    id: 'spf-published',
    title: 'Published SPF: exactly one record, ends -all, authorises the sending roles',
    source: 'inventory rules 2–4; seeds 000/003',
    severities: ['error', 'warning'],
    dns: true,
  },
  ({ config, dns }, emit) => {
    const plan = plannedSpf(config);
    config.domains.forEach((d, i) => {
      const r = dns!.get(d.name, 'TXT');
      if (!r || (r.status !== 'ok' && r.status !== 'nxdomain' && r.status !== 'nodata')) return;
      const at = ['domains', i, 'name'];
      const records = publishedSpf(r);
      if (records.length === 0) {
        emit('error', at, `${d.name} publishes no SPF record, so receivers cannot tell the hub's mail from forgeries (seeds: include the third party and Office 365, end -all); publish "${plan}"`);
        return;
      }
      if (records.length > 1) {
        emit('error', at, `${d.name} publishes ${records.length} SPF records; more than one is a permerror and every check fails (rule 2); merge them into one: "${plan}"`);
        return;
      }
      const rec = records[0]!;
      const q = allQualifier(rec);
      if (q === '~') emit('warning', at, `the SPF record of ${d.name} ends ~all (softfail); Microsoft recommends -all for its domains and its threat-intelligence guidance against internal-domain spoofing asks for hard fail (rule 2); end it with -all once every sender is listed`);
      else if (q === undefined) emit('error', at, `the SPF record of ${d.name} has no all term, so unlisted hosts get neutral instead of fail (rule 2); end it with -all`);
      const hasIndirect = /(^|\s)[+\-~?]?(include:|a(\s|:|\/|$)|mx(\s|:|\/|$)|exists:|redirect=)/i.test(rec);
      for (const role of spfRoles(config)) {
        if (!role.sends || listsRole(rec, role)) continue;
        const want = role.spfInclude ? `include:${role.spfInclude}` : role.addresses.map((a) => `${a.includes(':') ? 'ip6' : 'ip4'}:${a}`).join(' ');
        if (!want) continue; // spf-sending-roles reports a role with nothing to list
        if (hasIndirect) emit('warning', at, `the SPF record of ${d.name} does not list ${role.name} directly (${want}); it may be covered by another include or a/mx term, which this check does not expand. ${capital(role.why)}; add ${want} or confirm by evaluating the record`);
        else emit('error', at, `the SPF record of ${d.name} does not authorise ${role.name}, but ${role.why}; its mail would fail SPF. Add ${want}`);
      }
    });
  },
);

/** Linter findings the other SPF rules already report for the top-level record. */
const COVERED = new Set(['no-record', 'multiple-records', 'dns-error', 'pass-all', 'neutral-all', 'no-all']);

export const spfLint = defineRule(
  {
    id: 'spf-lint',
    title: 'The published SPF record passes the SPF linter (syntax, 10-lookup and void limits through includes)',
    source: 'inventory rule 2 (more than 10 lookups = permerror); src/spf/lint.ts',
    severities: ['error', 'warning', 'info'],
    dns: true,
  },
  ({ config, dns }, emit) => {
    config.domains.forEach((d, i) => {
      const report = dns!.spfLint(d.name);
      if (!report) return;
      for (const f of report.findings) {
        const top = !f.domain || f.domain === d.name;
        if (top && COVERED.has(f.rule)) continue;
        emit(f.severity, ['domains', i, 'name'], `SPF record of ${d.name}${top ? '' : ` (via ${f.domain})`}: ${f.message} [${f.rule}]`);
      }
    });
  },
);

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
