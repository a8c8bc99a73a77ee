// The stand-in for the rest of the internet: an SMTP server that accepts mail for the demo's external
// domains into a sink Maildir, and records what it received in a trace store of its own.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openMaildirStore } from '../mailbox/maildir.js';
import type { MailboxStore } from '../mailbox/types.js';
import { domainOf } from '../routing/domains.js';
import { headerBlock, headerValue } from '../roles/message-id.js';
import { createInboundServer } from '../smtp/inbound/server.js';
import type { InboundServer } from '../smtp/inbound/types.js';
import { formatReply, reply } from '../smtp/replies.js';
import { openTraceStore } from '../trace/sqlite-trace.js';
import type { TraceStore } from '../trace/types.js';
import type { Resolver } from '../dns/types.js';
import { authenticateMessage } from '../filter/authenticate.js';

export interface InternetStandIn {
  server: InboundServer;
  sink: MailboxStore;
  trace: TraceStore;
  dataDir: string;
  stop(): Promise<void>;
}

/** With a resolver, the stand-in checks SPF/DKIM/DMARC like a receiving provider and records the result. */
export async function startInternet(opts: { host: string; port: number; hostname: string; domains: string[]; dataDir: string; tls?: { key: string; cert: string; ca?: string }; resolver?: Resolver }): Promise<InternetStandIn> {
  mkdirSync(opts.dataDir, { recursive: true });
  const sink = openMaildirStore(join(opts.dataDir, 'mailboxes'));
  const trace = openTraceStore({ file: join(opts.dataDir, 'trace.db') });
  const domains = new Set(opts.domains.map((d) => d.toLowerCase()));
  const server = createInboundServer({
    hostname: opts.hostname,
    host: opts.host,
    port: opts.port,
    tls: opts.tls,
    limits: { maxMessageSize: 50 * 1024 * 1024, maxRecipients: 1000, maxLineLength: 1000, maxHeaderSize: 1024 * 1024, maxHops: 50, maxConnectionsPerIp: 100, commandTimeout: 60_000 },
    greetingDelay: 0,
    role: 'internet',
    policy: {
      onRcptTo: (_s, _env, rcpt) => (domains.has(domainOf(rcpt)) ? { kind: 'accept' } : { kind: 'reject', reply: reply('RELAY_DENIED') }),
      async onMessage(s, env, message) {
        const headers = headerBlock(message);
        const messageId = (headerValue(headers, 'Message-ID') ?? '').replace(/^<|>$/g, '');
        const auth = opts.resolver ? await authenticateMessage({ message, ip: s.remoteAddress, helo: s.helo, sender: env.sender, resolver: opts.resolver, authservId: opts.hostname }) : undefined;
        for (const r of env.recipients) {
          const id = await sink.deliver(r, message);
          trace.record({ at: Date.now(), role: 'internet', type: 'DELIVER', messageId, sender: env.sender, recipient: r, host: `${s.helo} [${s.remoteAddress}]`, reply: formatReply(reply('DELIVERED')), reason: `accepted by the recipient's MX (internet stand-in) and stored as ${id}${auth ? `; ${auth.summary}` : ''}`, ...(auth ? { data: { spf: auth.spf.result, dkim: auth.dkim.result, dmarc: auth.dmarc.result } } : {}) });
        }
        return { kind: 'accept' };
      },
    },
  });
  await server.listen();
  return {
    server,
    sink,
    trace,
    dataDir: opts.dataDir,
    async stop() {
      await server.close(2000);
      trace.close();
    },
  };
}
