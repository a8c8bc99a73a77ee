// `mailflow route`: follow decideAt from role to role until the message lands, leaves, or is refused.
import type { Config } from '../config/schema.js';
import { formatReply, reply } from '../smtp/replies.js';
import { decideAt, originRole, type RouteDecision } from './decide.js';

export interface Hop {
  from: string;
  to: string;
  connector: string | null;
  reason: string;
  rule: string;
}

export interface RouteExplanation {
  from: string;
  to: string;
  origin: string;
  outcome: 'delivered' | 'internet' | 'rejected' | 'loop';
  hops: Hop[];
}

const MAX_HOPS = 10;

export function explainRoute(config: Config, input: { from: string; to: string; fromRole?: string }): RouteExplanation {
  const origin = input.fromRole ?? originRole(config, input.from);
  const hops: Hop[] = [];
  let role = origin;
  let arrivedFrom: string | undefined;
  for (let i = 0; i < MAX_HOPS; i++) {
    const d: RouteDecision = decideAt(config, role, { sender: input.from, recipient: input.to, arrivedFrom });
    const a = d.action;
    const base = { from: role, reason: d.reason, rule: d.rule };
    switch (a.kind) {
      case 'mailbox':
        hops.push({ ...base, to: `mailbox ${a.address} (${a.role === 'hub' ? 'cloud' : `on-prem ${a.role}`})`, connector: null });
        return { from: input.from, to: input.to, origin, outcome: 'delivered', hops };
      case 'internet':
        hops.push({ ...base, to: `internet (MX of ${a.domain})`, connector: null });
        return { from: input.from, to: input.to, origin, outcome: 'internet', hops };
      case 'reject':
        hops.push({ ...base, to: `rejected: ${formatReply(reply(a.reply))}`, connector: null });
        return { from: input.from, to: input.to, origin, outcome: 'rejected', hops };
      case 'relay':
        hops.push({ ...base, to: a.toRole, connector: a.connector ? `${a.connector.direction}: ${a.connector.name}` : null });
        arrivedFrom = role;
        role = a.toRole;
        if (role !== 'gateway' && role !== 'hub' && !config.onprem.some((o) => o.name === role)) {
          // A smart host outside our roles (a partner): the message has left the organisation.
          return { from: input.from, to: input.to, origin, outcome: 'internet', hops };
        }
        break;
    }
  }
  return { from: input.from, to: input.to, origin, outcome: 'loop', hops };
}

export function formatExplanation(e: RouteExplanation): string {
  const lines = [`${e.from} → ${e.to}  (starts at ${e.origin}; ${e.outcome})`];
  e.hops.forEach((h, i) => {
    lines.push(`  ${i + 1}. ${h.from} → ${h.to}${h.connector ? `  [${h.connector}]` : ''}`);
    lines.push(`     ${h.reason}  (rule: ${h.rule})`);
  });
  return lines.join('\n');
}
