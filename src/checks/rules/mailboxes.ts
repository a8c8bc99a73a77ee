// Mailbox homes: one home per address, every address in an accepted domain (routing depends on both).
import type { ConfigPath } from '../types.js';
import { acceptedDomainFor, domainOf } from '../../routing/domains.js';
import { defineRule } from '../types.js';

interface Listed {
  address: string;
  home: string;
  path: ConfigPath;
}

function listed(config: import('../../config/schema.js').Config): Listed[] {
  const out: Listed[] = config.mailboxes.cloud.map((address, j) => ({ address, home: 'cloud', path: ['mailboxes', 'cloud', j] }));
  for (const [server, list] of Object.entries(config.mailboxes.onprem)) {
    list.forEach((address, j) => out.push({ address, home: `on-prem ${server}`, path: ['mailboxes', 'onprem', server, j] }));
  }
  return out;
}

export const mailboxHomeConflict = defineRule(
  {
    id: 'mailbox-home-conflict',
    title: 'No address is homed in two places',
    source: 'seed 000 (mailboxes in Exchange Online or on-prem); routing needs one home',
    severities: ['error'],
  },
  ({ config }, emit) => {
    const first = new Map<string, Listed>();
    for (const m of listed(config)) {
      const prev = first.get(m.address);
      if (!prev) first.set(m.address, m);
      else if (prev.home !== m.home) emit('error', m.path, `${m.address} is listed both as ${prev.home} and as ${m.home}; the hub would deliver it to ${prev.home} only; keep one home (a migrated mailbox belongs in cloud)`);
    }
  },
);

export const mailboxDomainAccepted = defineRule(
  {
    id: 'mailbox-domain-accepted',
    title: 'Every mailbox is in an accepted domain',
    source: 'seeds 000/003 step 1 (add your domains); inventory section 1.7',
    severities: ['error'],
  },
  ({ config }, emit) => {
    for (const m of listed(config)) {
      const d = domainOf(m.address);
      if (!acceptedDomainFor(config, d)) emit('error', m.path, `${m.address} (${m.home}) is in ${d}, which is not an accepted domain: the hub treats its mail as external and never delivers it to this mailbox; add ${d} to domains or fix the address`);
    }
    config.mailboxes.rules.forEach((r, i) => {
      const d = domainOf(r.match);
      if (d.includes('*')) return;
      if (!acceptedDomainFor(config, d)) emit('error', ['mailboxes', 'rules', i, 'match'], `rule ${r.match} is for ${d}, which is not an accepted domain, so it never applies; add ${d} to domains or fix the pattern`);
    });
  },
);
