// The inbound policy every role runs: connector/relay rules from routing, then the durable queue.
// The listener owns the protocol; this owns the decisions and answers with values.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { QueueStore } from '../queue/types.js';
import { acceptRecipient, acceptSender, standingAt, type ClientStanding } from '../routing/acceptance.js';
import type { ClientFacts } from '../routing/connectors.js';
import { formatReply, reply } from '../smtp/replies.js';
import type { Decision, InboundPolicy, SessionInfo } from '../smtp/inbound/types.js';
import type { TraceStore } from '../trace/types.js';
import { ensureMessageId } from './message-id.js';

export interface PolicyDeps {
  config: Config;
  role: string;
  hostname: string;
  queue: QueueStore;
  trace: TraceStore;
  clock: () => number;
  /** Called after a message is durable, so delivery starts without waiting for the next poll. */
  onQueued?: () => void;
}

function factsOf(s: SessionInfo): ClientFacts {
  const cert = s.peerCertificate;
  return { ip: s.remoteAddress, certNames: cert && cert.authorized ? cert.names : [], tls: s.secure };
}

function standing(deps: PolicyDeps, s: SessionInfo): ClientStanding {
  // Recomputed per transaction: STARTTLS may have brought a certificate since the last one.
  const st = standingAt(deps.config, deps.role, factsOf(s));
  s.notes.standing = st;
  return st;
}

export function createRolePolicy(deps: PolicyDeps): InboundPolicy {
  const { config, role, trace, clock } = deps;
  const refuse = (s: SessionInfo, type: 'REJECT', sender: string, recipient: string | undefined, name: Parameters<typeof reply>[0], reason: string): Decision => {
    const r = reply(name);
    trace.record({ at: clock(), role, type, messageId: '', sender, recipient, host: s.remoteAddress, connector: connectorName(s), reply: formatReply(r), reason });
    return { kind: 'reject', reply: r };
  };
  return {
    onMailFrom(s, sender) {
      const st = standing(deps, s);
      const a = acceptSender(config, role, st, factsOf(s), sender);
      return a.ok ? { kind: 'accept' } : refuse(s, 'REJECT', sender, undefined, a.reply, a.reason);
    },
    onRcptTo(s, env, recipient) {
      const st = (s.notes.standing as ClientStanding | undefined) ?? standing(deps, s);
      const a = acceptRecipient(config, role, st, factsOf(s), env.sender, recipient);
      return a.ok ? { kind: 'accept' } : refuse(s, 'REJECT', env.sender, recipient, a.reply, a.reason);
    },
    async onMessage(s, env, message) {
      const st = (s.notes.standing as ClientStanding | undefined) ?? standing(deps, s);
      const { messageId, body } = ensureMessageId(message, () => `${randomUUID()}@${deps.hostname}`);
      try {
        const q = await deps.queue.enqueue({
          messageId,
          sender: env.sender,
          recipients: env.recipients,
          body,
          meta: { arrivedFrom: st.arrivedFrom, connector: connectorName(s), clientIp: s.remoteAddress, helo: s.helo, tls: s.secure, standing: st.reason },
        });
        const at = clock();
        for (const r of env.recipients) {
          trace.record({ at, role, type: 'RECEIVE', messageId, queueId: q.queueId, sender: env.sender, recipient: r, connector: connectorName(s), host: `${s.helo} [${s.remoteAddress}]`, reason: `from ${st.arrivedFrom}: ${st.reason}`, data: { size: body.length, tls: s.secure } });
        }
        deps.onQueued?.();
        return { kind: 'accept', reply: reply('QUEUED', `Queued mail for delivery as ${q.queueId}`) };
      } catch (err) {
        // Our own trouble is never the sender's fault and never permanent: 451, the client retries.
        trace.record({ at: clock(), role, type: 'DEFER', messageId, sender: env.sender, reason: `queue write failed: ${(err as Error).message}` });
        return { kind: 'defer', reply: reply('LOCAL_ERROR') };
      }
    },
  };
}

function connectorName(s: SessionInfo): string | undefined {
  const st = s.notes.standing as ClientStanding | undefined;
  return st?.class?.kind === 'connector' ? st.class.connector.name : undefined;
}
