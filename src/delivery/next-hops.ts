// Turning a routing action into the addresses to try, in order: smart hosts of a connector (or a
// peer role) by A lookup, or the recipient domain's MX hosts.
import type { RouteAction } from '../routing/decide.js';
import { reply, type Reply } from '../smtp/replies.js';
import { mxFailureReply, resolveHost, resolveNextHops } from '../smtp/outbound/mx.js';
import type { DeliveryDeps } from './deliver.js';
import { isIP } from 'node:net';

export interface NextHop {
  /** IP address to connect to. */
  address: string;
  port: number;
  /** The host name it came from (MX exchange or smart host), for TLS names and trace. */
  name: string;
}

export type NextHops = { kind: 'ok'; hops: NextHop[] } | { kind: 'failed'; permanent: boolean; reply: Reply };

export async function nextHopsFor(deps: Pick<DeliveryDeps, 'resolver' | 'config'>, a: Extract<RouteAction, { kind: 'relay' | 'internet' }>): Promise<NextHops> {
  if (a.kind === 'internet') {
    const r = await resolveNextHops(deps.resolver, a.domain, deps.config.smtpPort);
    // A domain that does not exist or publishes a null MX is a permanent answer; a DNS failure, or an MX
    // host without addresses (often a transient mistake), defers.
    if (!Array.isArray(r)) return { kind: 'failed', permanent: r.kind === 'nxdomain' || r.kind === 'null-mx', reply: mxFailureReply(r) };
    return { kind: 'ok', hops: r.map((h) => ({ address: h.host, port: h.port, name: h.name })) };
  }
  const hops: NextHop[] = [];
  let lastFailure: Reply | undefined;
  for (const t of a.targets) {
    if (isIP(t.host)) {
      hops.push({ address: t.host, port: t.port, name: t.host });
      continue;
    }
    const r = await resolveHost(deps.resolver, t.host);
    if (Array.isArray(r)) for (const address of r) hops.push({ address, port: t.port, name: t.host });
    else lastFailure = reply('DNS_FAILED', `${t.host}: ${r.message}`);
  }
  if (hops.length) return { kind: 'ok', hops };
  // A smart host we cannot resolve is our configuration or DNS trouble: defer, never bounce at once.
  return { kind: 'failed', permanent: false, reply: lastFailure ?? reply('NO_ROUTE', 'The connector has no smart hosts') };
}
