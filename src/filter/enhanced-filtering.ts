// Enhanced Filtering for Connectors (EXO "skip listing"): behind a third-party gateway the hub's
// connecting IP is the gateway's, so SPF/DMARC and IP reputation would judge the gateway. EF walks the
// Received chain back past the trusted hops to the last untrusted one, the real sender.
// Pure: Received fields in, the recovered sender out. Rules as Microsoft documents them:
//  - skip-last: skip only the connecting host (EFSkipLastIP), the next hop down is the sender;
//  - skip-ips: skip every hop whose address is listed (EFSkipIPs), single IPs or CIDR ranges;
//  - RFC 1918 entries in the list are not accepted (ignored) and private hops are skipped anyway;
//  - users (EFUsers): applies only when EVERY recipient is listed; empty = everyone.
// Loopback addresses are NOT treated as private: tests and the demo use 127.0.0.x as public hosts.
import { getClientAddress, parseReceived } from 'mailauth/lib/parse-received.js';
import { isIP } from 'node:net';
import { ipInAny, isRfc1918, normalizeIp } from '../routing/ip.js';

export interface EnhancedFilteringSettings {
  mode: 'off' | 'skip-last' | 'skip-ips';
  skipIps: string[];
  users: string[];
}

export interface ReceivedHop {
  /** Client address recorded in the from clause's TCP-info, null when none could be read. */
  ip: string | null;
  helo: string;
  by: string;
}

export interface EnhancedFilteringInput {
  /** Received field values, top (newest) first, as in the message. */
  received: string[];
  /** The host connected to us now, and its HELO. */
  connectingIp: string;
  connectingHelo: string;
  settings: EnhancedFilteringSettings;
  recipients: string[];
  /**
   * Our host name(s): leading Received fields written by us for this very connection are not hops
   * to walk (our listener prepends its own Received before the policy sees the message).
   */
  ownHostnames?: string[];
}

export interface EnhancedFilteringResult {
  applied: boolean;
  /** The sender to authenticate: the recovered one when applied, else the connecting host. */
  originalIp: string;
  originalHelo: string;
  /** Hops skipped, nearest first (`ip (why)`). */
  skipped: string[];
  /** Skip-list entries not used because they are RFC 1918 ranges. */
  ignoredEntries: string[];
  reason: string;
}

/** Parses one Received value into the hop it records (the client that handed the message over). */
export function parseHop(value: string): ReceivedHop {
  const r = parseReceived(`Received: ${value}`) || {};
  const from = r.from as { value?: string; comment?: string } | undefined;
  const ip = from ? getClientAddress(from) : false;
  return { ip: ip && isIP(ip) ? normalizeIp(ip) : null, helo: String(from?.value ?? ''), by: String((r.by as { value?: string } | undefined)?.value ?? '').toLowerCase() };
}

export function recoverOriginalSender(input: EnhancedFilteringInput): EnhancedFilteringResult {
  const { settings } = input;
  const connectingIp = normalizeIp(input.connectingIp);
  const none = (reason: string, extra: Partial<EnhancedFilteringResult> = {}): EnhancedFilteringResult => ({
    applied: false,
    originalIp: connectingIp,
    originalHelo: input.connectingHelo,
    skipped: [],
    ignoredEntries: [],
    reason,
    ...extra,
  });
  if (settings.mode === 'off') return none(`Enhanced Filtering is off: the sender is the connecting host ${connectingIp}`);
  const users = settings.users.map((u) => u.toLowerCase());
  if (users.length) {
    const outside = input.recipients.filter((r) => !users.includes(r.toLowerCase()));
    if (outside.length) return none(`Enhanced Filtering applies only when every recipient is in its users list; ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not`);
  }

  const own = (input.ownHostnames ?? []).map((h) => h.toLowerCase().replace(/\.$/, ''));
  const hops = input.received.map(parseHop);
  // Drop the Received field(s) our listener wrote for this connection: by us, from the connecting IP.
  let i = 0;
  while (i < hops.length && own.includes(hops[i]!.by.replace(/\.$/, '')) && hops[i]!.ip === connectingIp) i++;
  const earlier = hops.slice(i);

  const ignoredEntries = settings.skipIps.filter((e) => isRfc1918(e));
  const listed = settings.skipIps.filter((e) => !isRfc1918(e));
  const skipped: string[] = [];

  // The chain from the connecting host back: [connecting, earlier[0].ip, earlier[1].ip, ...], each
  // address recorded by the hop that received from it.
  const chain: { ip: string | null; helo: string }[] = [{ ip: connectingIp, helo: input.connectingHelo }, ...earlier.map((h) => ({ ip: h.ip, helo: h.helo }))];
  for (let k = 0; k < chain.length; k++) {
    const hop = chain[k]!;
    if (!hop.ip) return none(`the Received chain has no readable client address after ${skipped.join(', ') || connectingIp}`, { skipped, ignoredEntries });
    let why: string | null = null;
    if (isRfc1918(hop.ip)) why = 'private address';
    else if (settings.mode === 'skip-last' && k === 0) why = 'last hop';
    else if (settings.mode === 'skip-ips' && ipInAny(hop.ip, listed)) why = 'skip-listed';
    if (why) {
      skipped.push(`${hop.ip} (${why})`);
      continue;
    }
    if (k === 0) {
      return none(`the connecting host ${connectingIp} is not in the Enhanced Filtering skip list, so it is the sender`, { ignoredEntries });
    }
    return {
      applied: true,
      originalIp: hop.ip,
      originalHelo: hop.helo,
      skipped,
      ignoredEntries,
      reason: `Enhanced Filtering skipped ${skipped.join(', ')}; the sender is ${hop.ip}${hop.helo ? ` (${hop.helo})` : ''}`,
    };
  }
  return none(`every hop in the Received chain is skipped (${skipped.join(', ')}); no external sender left`, { skipped, ignoredEntries });
}

/** A trace/header line that makes EF visible, like EXO's X-MS-Exchange-ExternalOriginalInternetSender. */
export function enhancedFilteringHeader(r: EnhancedFilteringResult): string {
  return r.applied
    ? `X-Mailflow-Original-Sender: ip=${r.originalIp}; skipped=${r.skipped.map((s) => s.split(' ')[0]).join(',')}\r\n`
    : '';
}
