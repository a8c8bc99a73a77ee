// DKIM and DMARC (inventory rule 5): configured per accepted domain and, with DNS, published.
import type { DnsResult } from '../../dns/types.js';
import { acceptedDomainFor } from '../../routing/domains.js';
import { defineRule } from '../types.js';

export const dkimConfigured = defineRule(
  {
    id: 'dkim-configured',
    title: 'Every accepted domain has a DKIM key and every key signs for an accepted domain',
    source: 'inventory rule 5 (DKIM enabled; Jan 2026 guidance against internal-domain spoofing)',
    severities: ['warning'],
  },
  ({ config }, emit) => {
    config.domains.forEach((d, i) => {
      if (!config.dkim.some((k) => k.domain === d.name)) {
        emit('warning', ['domains', i, 'name'], `${d.name} has no DKIM key, so its mail relies on SPF alone and breaks DMARC whenever a forwarder changes the path (rule 5); add a dkim entry (domain: ${d.name}, selector: selector1, role: hub)`);
      }
    });
    config.dkim.forEach((k, i) => {
      if (!acceptedDomainFor(config, k.domain)) {
        emit('warning', ['dkim', i, 'domain'], `DKIM key for ${k.domain}, which is not an accepted domain: the hub never sends as it, so the key aligns with nothing; fix the domain or remove the key`);
      }
    });
  },
);

export const dkimPublished = defineRule(
  {
    id: 'dkim-published',
    title: 'Each DKIM selector is published (TXT key or the provider CNAME)',
    source: 'inventory rule 5',
    severities: ['warning'],
    dns: true,
  },
  ({ config, dns }, emit) => {
    config.dkim.forEach((k, i) => {
      const name = `${k.selector}._domainkey.${k.domain}`;
      if (k.cname) {
        const r = dns!.get(name, 'CNAME');
        if (!r || isTemporary(r)) return;
        const got = r.status === 'ok' ? r.answers.map(norm) : [];
        if (!got.includes(norm(k.cname))) {
          emit('warning', ['dkim', i, 'cname'], `${name} ${got.length ? `is a CNAME to ${got.join(', ')}` : 'is not published'}; receivers cannot verify signatures from selector ${k.selector}. Publish "${name}. CNAME ${k.cname}."`);
        }
        return;
      }
      const r = dns!.get(name, 'TXT');
      if (!r || isTemporary(r)) return;
      const keys = r.status === 'ok' ? r.answers.map((p) => p.join('')).filter((t) => /(^|;)\s*p=/.test(t)) : [];
      if (!keys.length) {
        emit('warning', ['dkim', i, 'selector'], `${name} publishes no DKIM key (TXT with p=), so signatures from selector ${k.selector} fail (rule 5); publish the key${k.publicKey ? '' : ' (set dkim publicKey or privateKey so the DNS plan can print it)'}`);
      } else if (k.publicKey && !keys.some((t) => t.replace(/\s+/g, '').includes(`p=${k.publicKey!.replace(/\s+/g, '')}`))) {
        emit('warning', ['dkim', i, 'publicKey'], `${name} publishes a different key than dkim[${i}].publicKey: signatures with the configured key would fail; republish the record or fix the key`);
      }
    });
  },
);

export const dmarcConfigured = defineRule(
  {
    id: 'dmarc-configured',
    title: 'DMARC is planned, with an enforcing policy',
    source: 'inventory rule 5 (p=quarantine/reject when ready)',
    severities: ['warning', 'info'],
  },
  ({ config }, emit) => {
    const m = config.dmarc;
    if (!m) {
      emit('warning', ['dmarc'], `no dmarc section, so no DMARC record is planned: in complex routing, spoofed mail "from" your own domains is the attack Microsoft warned about in Jan 2026 (rule 5); add dmarc: { policy: none, rua: [...] } and move to quarantine/reject once reports are clean`);
    } else if (m.policy === 'none') {
      emit('info', ['dmarc', 'policy'], `DMARC policy is none (monitor only): receivers take no action on spoofed mail from your domains (rule 5); move to quarantine, then reject, when the aggregate reports show only legitimate senders`);
    }
  },
);

export const dmarcAggregateReports = defineRule(
  {
    id: 'dmarc-aggregate-reports',
    title: 'The hub sends no DMARC aggregate reports while the MX points elsewhere',
    source: 'inventory rule 5; DMARC page (reports only when MX points to Microsoft 365)',
    severities: ['info'],
  },
  ({ config }, emit) => {
    if (!config.dmarc) return;
    emit('info', config.dmarc.rua.length ? ['dmarc', 'rua'] : ['dmarc'], `the hub sends no DMARC aggregate (rua) reports about the mail it receives while the MX points to the gateway (Microsoft sends them only when the MX points to it); reports you get come from other receivers about your outbound mail. Ask the gateway provider for inbound DMARC reporting if you need it`);
  },
);

export const dmarcPublished = defineRule(
  {
    id: 'dmarc-published',
    title: 'The DMARC record is published once, with the planned policy',
    source: 'inventory rule 5; RFC 7489 §6.6.3 (several records = none)',
    severities: ['warning'],
    dns: true,
  },
  ({ config, dns }, emit) => {
    const m = config.dmarc;
    if (!m) return;
    config.domains.forEach((d, i) => {
      const name = `_dmarc.${d.name}`;
      const r = dns!.get(name, 'TXT');
      if (!r || isTemporary(r)) return;
      const recs = r.status === 'ok' ? r.answers.map((p) => p.join('')).filter((t) => /^v=DMARC1\s*(;|$)/i.test(t)) : [];
      const at = ['domains', i, 'name'];
      if (recs.length === 0) {
        emit('warning', at, `${name} publishes no DMARC record, so the planned policy ${m.policy} is not in force (rule 5); publish "v=DMARC1; p=${m.policy}${m.rua.length ? `; rua=${m.rua.join(',')}` : ''}"`);
      } else if (recs.length > 1) {
        emit('warning', at, `${name} publishes ${recs.length} DMARC records; receivers then apply no DMARC at all (RFC 7489); keep one`);
      } else {
        const p = /(^|;)\s*p\s*=\s*([a-z]+)/i.exec(recs[0]!)?.[2]?.toLowerCase();
        if (p !== m.policy) emit('warning', at, `${name} publishes p=${p ?? '(missing)'} but the config plans p=${m.policy}; republish the record or update dmarc.policy so they agree`);
      }
    });
  },
);

function isTemporary(r: DnsResult): boolean {
  return r.status !== 'ok' && r.status !== 'nxdomain' && r.status !== 'nodata';
}

function norm(h: string): string {
  return h.toLowerCase().replace(/\.$/, '');
}
