// The inbound policy every role runs: connector/relay rules from routing, then the durable queue.
// The listener owns the protocol; this owns the decisions and answers with values.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { NewMessage, QueuedMessage, QueueStore } from '../queue/types.js';
import { acceptRecipient, acceptSender, standingAt, type ClientStanding } from '../routing/acceptance.js';
import type { ClientFacts } from '../routing/connectors.js';
import { formatReply, reply } from '../smtp/replies.js';
import type { Decision, InboundPolicy, SessionInfo } from '../smtp/inbound/types.js';
import type { TraceEvent, TraceStore } from '../trace/types.js';
import { ensureMessageId } from './message-id.js';
import type { FilterStage } from './filtering.js';

export interface PolicyDeps {
  config: Config;
  role: string;
  hostname: string;
  /** Where accepted mail goes, unless `commit` says otherwise. */
  queue?: Pick<QueueStore, 'enqueue'>;
  trace: Pick<TraceStore, 'record'>;
  clock: () => number;
  /** Called after a message is durable, so delivery starts without waiting for the next poll. */
  onQueued?: () => void;
  /** Authentication, spam and malware filtering (absent: none). */
  filter?: FilterStage;
  /**
   * Makes an accepted message durable: the default enqueues it, records its RECEIVE events with the
   * queue id and calls onQueued. A session thread hands the same work to its role's event loop.
   */
  commit?: Commit;
}

/** Enqueue, then record the receipts (queue id filled in), then start delivery: in that order, so a trace never shows a hop's delivery before its receipt. */
export type Commit = (msg: NewMessage, receipts: TraceEvent[]) => Promise<QueuedMessage>;

export function commitHere(queue: Pick<QueueStore, 'enqueue'>, trace: Pick<TraceStore, 'record'>, onQueued?: () => void): Commit {
  return async (msg, receipts) => {
    const q = await queue.enqueue(msg);
    for (const e of receipts) trace.record({ ...e, queueId: q.queueId });
    onQueued?.();
    return q;
  };
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
  if (!deps.commit && !deps.queue) throw new Error('a role policy needs a queue or a commit');
  const commit = deps.commit ?? commitHere(deps.queue!, trace, deps.onQueued);
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
      let folder: string | undefined;
      let filterNote = '';
      if (deps.filter) {
        const f = await deps.filter.inspect(s, st, env, message);
        if (f.kind === 'reject') {
          const mid = ensureMessageId(message, () => '').messageId;
          for (const r of env.recipients) trace.record({ at: clock(), role, type: 'REJECT', messageId: mid, sender: env.sender, recipient: r, host: `${s.helo} [${s.remoteAddress}]`, connector: connectorName(s), reply: formatReply(f.reply), reason: f.note });
          return { kind: 'reject', reply: f.reply };
        }
        if (f.kind === 'quarantined') {
          const mid = ensureMessageId(message, () => '').messageId;
          for (const r of env.recipients) trace.record({ at: clock(), role, type: 'QUARANTINE', messageId: mid, sender: env.sender, recipient: r, host: `${s.helo} [${s.remoteAddress}]`, connector: connectorName(s), reason: `held as ${f.id}: ${f.note}` });
          return { kind: 'accept', reply: reply('QUEUED', `Held in quarantine as ${f.id}`) };
        }
        message = f.message;
        folder = f.folder;
        filterNote = f.note;
      }
      if (st.arrivedFrom === 'self' && !filterNote.startsWith('released')) {
        return { kind: 'reject', reply: reply('RELAY_DENIED', 'Only quarantine releases may be re-injected') };
      }
      const { messageId, body } = ensureMessageId(message, () => `${randomUUID()}@${deps.hostname}`);
      // Arrival time, taken before the enqueue: a worker may claim the row as soon as it commits, and
      // its SEND must not sort before this RECEIVE.
      const arrivedAt = clock();
      try {
        const receipts = env.recipients.map((r): TraceEvent => ({ at: arrivedAt, role, type: 'RECEIVE', messageId, sender: env.sender, recipient: r, connector: connectorName(s), host: `${s.helo} [${s.remoteAddress}]`, reason: `from ${st.arrivedFrom}: ${st.reason}${filterNote ? `; ${filterNote}` : ''}`, data: { size: body.length, tls: s.secure, ...(folder ? { folder } : {}) } }));
        const q = await commit(
          {
            messageId,
            sender: env.sender,
            recipients: env.recipients,
            body,
            // A released message is routed as the internet mail it was when it was held.
            meta: { arrivedFrom: st.arrivedFrom === 'self' ? 'internet' : st.arrivedFrom, connector: connectorName(s), clientIp: s.remoteAddress, helo: s.helo, tls: s.secure, standing: st.reason, ...(folder ? { folder } : {}) },
          },
          receipts,
        );
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
