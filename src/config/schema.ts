// The topology file: one organisation's mail flow as the seeds describe it.
// Every default lives here, next to the field it belongs to, with the reason for it.
import { z } from 'zod';
import { isIP } from 'node:net';
import { parseEndpoint } from './endpoint.js';

export { parseEndpoint };

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/, 'a DNS host name such as mail.contoso.com');

const domainName = hostname.transform((d) => d.toLowerCase().replace(/\.$/, ''));

/** A domain pattern for connectors: `*`, `*.contoso.com` or `contoso.com`. */
const domainPattern = z
  .string()
  .regex(/^(\*|(\*\.)?[a-zA-Z0-9_.-]+)$/, 'a domain, `*` or a wildcard such as *.contoso.com')
  .transform((d) => d.toLowerCase());

const ipv4 = z.string().refine((s) => isIP(s) === 4, 'an IPv4 address such as 10.10.10.1');
const ipAny = z.string().refine((s) => isIP(s) !== 0, 'an IPv4 or IPv6 address');

/** An address or CIDR range (`10.10.10.0/24`), IPv4 or IPv6. */
const ipOrCidr = z.string().refine((s) => {
  const [addr, mask, ...rest] = s.split('/');
  if (rest.length) return false;
  const v = isIP(addr ?? '');
  if (!v) return false;
  if (mask === undefined) return true;
  const n = Number(mask);
  return /^\d+$/.test(mask) && n >= 0 && n <= (v === 4 ? 32 : 128);
}, 'an IP address or CIDR range such as 10.10.10.0/24');

/** `host:port`, `[v6]:port` or a bare host (port 25). */
export const endpoint = z.string().refine((s) => parseEndpoint(s) !== null, 'host:port, such as 127.0.0.2:2525');

const emailAddress = z
  .string()
  .regex(/^[^\s@]+@[^\s@]+$/, 'an e-mail address such as alice@contoso.com')
  .transform((a) => a.toLowerCase());

/** A duration: `90s`, `5m`, `1h`, `1d`, or a number of seconds. */
export const duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as 30s, 5m, 1h or 1d')])
  .transform((v) => (typeof v === 'number' ? v * 1000 : parseDuration(v)));

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`not a duration: ${s}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

/** Byte sizes: `35MB`, `512KB`, or a number of bytes. */
const byteSize = z
  .union([z.number().int().positive(), z.string().regex(/^\d+\s*(B|KB|MB|GB)$/i, 'a size such as 512KB or 35MB')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const m = /^(\d+)\s*(B|KB|MB|GB)$/i.exec(v)!;
    return Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2]!.toUpperCase() as 'B'];
  });

/**
 * Retry schedule in Haraka's compact form: `1m, 5m*2, 15m, 1h*22` (each item a delay, `*N` repeats it).
 * Parsed once into milliseconds; each bad element is named in the error.
 */
export const retrySchedule = z.string().transform((s, ctx) => {
  const out: number[] = [];
  for (const raw of s.split(',')) {
    const item = raw.trim();
    const m = /^(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))(?:\s*\*\s*(\d+))?$/.exec(item);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `retry element "${item}" is not a duration like 5m or 5m*3` });
      return z.NEVER;
    }
    const ms = parseDuration(m[1]!);
    const n = m[2] ? Number(m[2]) : 1;
    if (n < 1 || n > 1000) {
      ctx.addIssue({ code: 'custom', message: `retry element "${item}" repeats ${n} times (1-1000 allowed)` });
      return z.NEVER;
    }
    for (let i = 0; i < n; i++) out.push(ms);
  }
  return out;
});

const tls = z
  .object({
    /** PEM certificate chain and key, relative to the config file. */
    cert: z.string().optional(),
    key: z.string().optional(),
    /** CA bundle used to verify peers (connector certificates, outbound TLS). */
    ca: z.string().optional(),
    /** The subject (CN or SAN) this role's certificate carries; connectors match on it. */
    subject: hostname.optional(),
  })
  .strict();

const listenDefaults = { listen: '0.0.0.0:25' };

/**
 * Filtering at a role (authentication, spam and malware verdicts). Absent: the defaults below, and
 * `enabled` decided by the topology (see src/filter/settings.ts).
 */
const filterSettings = z
  .object({
    /** Run the filters at this role. Unset: the gateway when `gateway.filtering`; the hub in scenario 2; on-prem never. */
    enabled: z.boolean().optional(),
    /** Evaluate SPF/DKIM/DMARC/ARC on mail from outside the organisation and stamp Authentication-Results. */
    authenticate: z.boolean().default(true),
    /** Apply the sender domain's DMARC policy on failure: p=reject → 550 at DATA, p=quarantine → quarantine. */
    enforceDmarc: z.boolean().default(true),
    /** ARC sealers (d= of ARC-Seal) whose results this role trusts (EXO: Set-ArcConfig -ArcTrustedSealers). */
    trustedArcSealers: z.array(domainName).default([]),
    /** Seal an ARC set on mail this role changes and passes on (the gateway, so the hub can trust it). */
    arcSeal: z
      .object({
        domain: domainName,
        selector: z.string().regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'a selector such as arc1'),
        /** PEM private key file, relative to the config file (publish its key at <selector>._domainkey.<domain>). */
        privateKey: z.string(),
      })
      .strict()
      .optional(),
    /** Score thresholds (the highest one reached wins). Defaults follow rspamd's reject at 15. */
    thresholds: z
      .object({
        /** Deliver to the Junk folder with a spam-level header. */
        junk: z.number().default(5),
        quarantine: z.number().default(10),
        /** 550 at DATA: the sender's server writes the bounce, we never backscatter. */
        reject: z.number().default(15),
      })
      .strict()
      .prefault({}),
    /** Malware is never delivered: reject at DATA, or hold it in quarantine. */
    malware: z.enum(['reject', 'quarantine']).default('reject'),
    /** DNS block lists queried with the client IP (the one Enhanced Filtering recovered, at the hub). */
    dnsbl: z
      .array(
        z
          .object({
            zone: domainName,
            /** Score added when the IP is listed. */
            score: z.number().default(5),
          })
          .strict(),
      )
      .default([]),
    /** rspamd's normal worker (HTTP /checkv2), e.g. 127.0.0.1:11333. Unset: not used. */
    rspamd: z.object({ endpoint: endpoint, timeout: duration.prefault('15s') }).strict().optional(),
    /** clamd's TCP socket (INSTREAM), e.g. 127.0.0.1:3310. Unset: not used. */
    clamd: z.object({ endpoint: endpoint, timeout: duration.prefault('30s') }).strict().optional(),
    /** Larger messages skip the external scanners (built-in rules still run); clamd's StreamMaxLength is 100M. */
    maxScanSize: byteSize.default(25 * 1024 * 1024),
    /**
     * Hub, scenario 1: accept the gateway's verdict header instead of filtering again, but only on mail that
     * arrived over the partner connector (elsewhere the header is removed as forged).
     */
    trustUpstreamVerdict: z.boolean().default(true),
    /**
     * Worker threads that run the filters off the role's event loop (0: on the event loop). One is
     * enough on two cores: the SMTP sessions and the queue keep the main thread.
     */
    threads: z.number().int().min(0).max(32).default(1),
    /**
     * Messages up to this size are filtered on the event loop even with threads: an unsigned 5 KB
     * message takes ~0.06 ms there, less than handing it to a thread and back (bench/README.md).
     * Larger ones go to the threads, so hashing and scanning a big body never stalls the sessions.
     * 0: every message goes to the threads.
     */
    inlineMaxSize: byteSize.default(128 * 1024),
  })
  .strict();

/** What every role has: where it listens, which addresses it sends from, its certificate. */
const roleBase = {
  /** The host name the role announces in EHLO and the one DNS points at. */
  hostname: hostname,
  /** Public egress addresses (what SPF and connectors must know). */
  addresses: z.array(ipAny).default([]),
  /** Alternative to listing addresses in SPF: the role's own SPF include domain. */
  spfInclude: domainName.optional(),
  listen: endpoint.default(listenDefaults.listen),
  tls: tls.prefault({}),
  /** Where this role keeps its queue, trace and mailboxes, relative to the config file. */
  dataDir: z.string().optional(),
  /** Client networks whose users submit mail through this role (like Postfix mynetworks); senders must be ours. */
  submitFrom: z.array(ipOrCidr).default([]),
  /** Delay before the greeting on this listener (anti-spam early-talker check); 0 disables. */
  greetingDelay: duration.default(0),
  /** Authentication, spam and malware filtering at this role (see filterSettings). */
  filter: filterSettings.optional(),
};

const enhancedFiltering = z
  .object({
    /** `skip-last`: skip the last hop automatically (EFSkipLastIP); `skip-ips`: skip the listed IPs; `off`. */
    mode: z.enum(['off', 'skip-last', 'skip-ips']).default('off'),
    skipIps: z.array(ipOrCidr).default([]),
    /** Apply only when every recipient is listed here (EFUsers); empty = everyone. */
    users: z.array(emailAddress).default([]),
  })
  .strict();

const inboundConnector = z
  .object({
    name: z.string().min(1).max(64),
    /** partner: the third-party gateway or a partner org; onpremises: our own servers (relay rights). */
    type: z.enum(['partner', 'onpremises']),
    enabled: z.boolean().default(true),
    /** Sender domains the connector accepts (`*` = all). */
    senderDomains: z.array(domainPattern).default(['*']),
    senderIpAddresses: z.array(ipOrCidr).default([]),
    /** Certificate subject (CN/SAN) the sending server must present; wildcards `*.contoso.com`. */
    tlsSenderCertificateName: domainPattern.optional(),
    /** Reject mail from senderDomains unless it comes from senderIpAddresses (partner only). */
    restrictDomainsToIPAddresses: z.boolean().default(false),
    /** Reject mail unless the TLS certificate matches tlsSenderCertificateName (partner only). */
    restrictDomainsToCertificate: z.boolean().default(false),
    requireTls: z.boolean().default(false),
    enhancedFiltering: enhancedFiltering.prefault({}),
  })
  .strict();

const outboundConnector = z
  .object({
    name: z.string().min(1).max(64),
    type: z.enum(['partner', 'onpremises']),
    enabled: z.boolean().default(true),
    /** Recipient domains this connector serves (`*` = every external domain). */
    recipientDomains: z.array(domainPattern).default([]),
    /** OnPremises only: serve every accepted domain (hybrid). */
    allAcceptedDomains: z.boolean().default(false),
    /** Smart hosts (`host[:port]`); empty means MX routing. A role name (`onprem`, `gateway`) is allowed. */
    smartHosts: z.array(z.string().min(1)).default([]),
    tls: z.enum(['opportunistic', 'required', 'certificate-validation', 'domain-validation']).default('opportunistic'),
    /** The name the smart host's certificate must carry under domain-validation. */
    tlsDomain: hostname.optional(),
  })
  .strict();

const gateway = z
  .object({
    ...roleBase,
    /** Scenario 1: the gateway filters spam and malware. Scenario 2 (archiving): false. */
    filtering: z.boolean().default(true),
    /** Scenario 2: the hub's outbound mail to the internet goes through the gateway. */
    relaysOutbound: z.boolean().default(false),
    /**
     * Reject recipients that are in no mailbox list or rule at RCPT time, as a filter with directory sync
     * does (no accept-then-bounce). Turn off when the on-prem directory is not listed in full.
     */
    validateRecipients: z.boolean().default(true),
    /** Where the gateway delivers inbound mail: the hub's MX host name (default: hub.hostname). */
    deliverTo: z.string().optional(),
    /** List the gateway in SPF. The seeds do (it sends NDRs and, in scenario 2, all outbound mail). */
    inSpf: z.boolean().default(true),
  })
  .strict();

const hub = z
  .object({
    ...roleBase,
    inboundConnectors: z.array(inboundConnector).default([]),
    outboundConnectors: z.array(outboundConnector).default([]),
    /** Reject anonymous mail with an accepted-domain MAIL FROM that matches no connector (5.7.68). */
    rejectDirectSend: z.boolean().default(false),
    /** Reject internet mail that does not arrive over a restricting partner connector (lock to the gateway). */
    lockToGateway: z.boolean().default(true),
  })
  .strict();

const onprem = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a short lowercase name such as onprem')
      .default('onprem'),
    ...roleBase,
    /** Where on-prem sends everything that is not its own: the hub (scenario 1 best practice). */
    smartHost: z.string().default('hub'),
    /** List this server in SPF. Seed 000 does, although it sends through the hub (documented, contested). */
    inSpf: z.boolean().default(true),
  })
  .strict();

const mailboxRule = z
  .object({
    /** An address pattern: `*@onprem.contoso.com`, `eng-*@contoso.com`. */
    match: z.string().min(3),
    home: z.string().min(1),
  })
  .strict();

const acceptedDomain = z
  .object({
    name: domainName,
    /** authoritative: every recipient is known to the hub; internal-relay: unknown recipients go on-prem. */
    type: z.enum(['authoritative', 'internal-relay']).default('authoritative'),
    matchSubDomains: z.boolean().default(false),
  })
  .strict();

const dkimKey = z
  .object({
    domain: domainName,
    selector: z.string().regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'a DKIM selector such as selector1'),
    /** The role that signs with this key. */
    role: z.string().default('hub'),
    /** PEM private key file, relative to the config file. */
    privateKey: z.string().optional(),
    /** Public key (base64 SubjectPublicKeyInfo) for the DNS plan, if the private key is not at hand. */
    publicKey: z.string().optional(),
    /** CNAME target when the selector is hosted by the provider (EXO: selector1-contoso-com._domainkey.tenant.onmicrosoft.com). */
    cname: hostname.optional(),
  })
  .strict();

const dmarc = z
  .object({
    policy: z.enum(['none', 'quarantine', 'reject']).default('none'),
    subdomainPolicy: z.enum(['none', 'quarantine', 'reject']).optional(),
    rua: z.array(z.string()).default([]),
    pct: z.number().int().min(0).max(100).default(100),
    adkim: z.enum(['r', 's']).default('r'),
    aspf: z.enum(['r', 's']).default('r'),
  })
  .strict();

const limits = z
  .object({
    /** EXO default receive size is 36 MB; Postfix 10 MB. */
    maxMessageSize: byteSize.default(36 * 1024 * 1024),
    /** EXO organisational limit. */
    maxRecipients: z.number().int().positive().default(1000),
    /** RFC 5321 text line limit is 1000 octets including CRLF. */
    maxLineLength: z.number().int().positive().default(1000),
    /** Postfix header_size_limit. */
    maxHeaderSize: byteSize.default(100 * 1024),
    /** Received headers before a message is declared looping (Postfix hopcount_limit 50). */
    maxHops: z.number().int().positive().default(50),
    maxConnectionsPerIp: z.number().int().positive().default(20),
    /** Command/idle timeout (Postfix smtpd_timeout 300s). */
    commandTimeout: duration.prefault('300s'),
  })
  .strict();

const queue = z
  .object({
    /** EXO retries for 24 h then sends an NDR; the first retries come quickly. */
    retry: retrySchedule.prefault('1m,5m,10m,15m,30m,1h*23'),
    /** Hard lifetime: after this the recipient expires with a DSN (EXO MessageExpiration 1.00:00:00). */
    expire: duration.prefault('24h'),
    /** Null-sender mail (DSNs) lives shorter (Postfix bounce_queue_lifetime). */
    expireBounces: duration.prefault('24h'),
    /** Send a delay DSN after this long (0 = off). */
    delayWarning: duration.default(0),
    /** Concurrent outbound deliveries per role. */
    concurrency: z.number().int().positive().max(1000).default(20),
    /**
     * Connections open at once to one next hop (Postfix: smtp_destination_concurrency_limit, 20). Each
     * carries one transaction at a time, so between roles this is what caps a hop: at 4, the 3-hop bench
     * delivered ~160 msg/s behind an ingest of ~235; at 10, ingest and delivery met at ~186.
     */
    connectionsPerHost: z.number().int().positive().max(200).default(10),
    /** Run the SMTP client (sessions, TLS, connection pool) on a worker thread, off the listener's event loop. */
    clientThread: z.boolean().default(true),
  })
  .strict();

const inbound = z
  .object({
    /**
     * Serve the roles' SMTP sessions (the protocol, each role's policy and its filters) on a worker
     * thread, so the event loop that commits the queues and runs delivery does not also answer every
     * command. One thread per process serves the listeners of all its roles, binding their addresses.
     */
    sessionThread: z.boolean().default(true),
    /**
     * With the session thread: while few sessions are open, the thread commits a fresh message to
     * the role's queue itself (its own connection to the queue database) instead of posting it to the
     * event loop, which then adopts it for delivery. Saves a lone session's dot two thread crossings.
     */
    threadCommit: z.boolean().default(true),
  })
  .strict();

const dnsSettings = z
  .object({
    /** Resolvers for MX/SPF/verify lookups (`host:port`); empty = system resolvers. */
    servers: z.array(endpoint).default([]),
    timeout: duration.prefault('2s'),
  })
  .strict();

const demo = z
  .object({
    /** The stand-in for the rest of the internet: accepts mail for external domains into a sink mailbox. */
    internet: z.object({ listen: endpoint, hostname: hostname.default('internet.demo.test') }).strict(),
    /** The loopback DNS server for the demo zones. */
    dns: endpoint,
    /** External domains served by the internet stand-in. */
    externalDomains: z.array(domainName).default(['fabrikam.test']),
    /** SPF record of the hub's include domain (served by the demo DNS). */
    hubSpf: z.string().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1).default(1),
    organization: z.string().min(1),
    /** filtering: seed scenario 1 (gateway filters spam); archiving: seed scenario 2 (both directions via the gateway, no filtering). */
    scenario: z.enum(['filtering', 'archiving']).default('filtering'),
    domains: z.array(acceptedDomain).min(1),
    gateway: gateway,
    hub: hub,
    onprem: z.array(onprem).default([]),
    mailboxes: z
      .object({
        cloud: z.array(emailAddress).default([]),
        /** Mailboxes homed on-prem, by on-prem server name. */
        onprem: z.record(z.string(), z.array(emailAddress)).default({}),
        rules: z.array(mailboxRule).default([]),
      })
      .strict()
      .prefault({}),
    dkim: z.array(dkimKey).default([]),
    dmarc: dmarc.optional(),
    /** Publish autodiscover CNAMEs (EXO: autodiscover.outlook.com). */
    autodiscover: z.object({ target: hostname }).strict().optional(),
    limits: limits.prefault({}),
    queue: queue.prefault({}),
    inbound: inbound.prefault({}),
    dns: dnsSettings.prefault({}),
    /** Port used to reach SMTP hosts found by MX or given without a port (25 in production). */
    smtpPort: z.number().int().positive().max(65535).default(25),
    /** Where roles keep their data unless a role says otherwise, relative to the config file. */
    dataDir: z.string().default('./data'),
    demo: demo.optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type InboundConnector = Config['hub']['inboundConnectors'][number];
export type OutboundConnector = Config['hub']['outboundConnectors'][number];
export type AcceptedDomain = Config['domains'][number];
export type OnPremServer = Config['onprem'][number];
export type GatewayRole = Config['gateway'];
export type HubRole = Config['hub'];
export type DkimKey = Config['dkim'][number];
export type FilterSettings = z.output<typeof filterSettings>;
export const filterSettingsSchema = filterSettings;
export type RoleName = 'gateway' | 'hub' | string;
