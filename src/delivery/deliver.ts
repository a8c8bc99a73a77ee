// One delivery: a group of recipients of one message that share a next hop. Routing decides the hop;
// this module does the I/O and records each recipient's outcome (delivered, deferred, bounced, expired).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Resolver } from '../dns/types.js';
import type { MailboxStore } from '../mailbox/types.js';
import { buildDsn, shouldSendDsn } from '../queue/dsn.js';
import { lifetimeFor, nextStep } from '../queue/retry.js';
import type { Job, QueueStore } from '../queue/types.js';
import type { RouteAction, RouteDecision } from '../routing/decide.js';
import type { TlsMaterial } from '../roles/tls-material.js';
import { headerBlock } from '../roles/message-id.js';
import { formatReply, reply, type Reply } from '../smtp/replies.js';
import type { RecipientOutcome, SmtpSender, TlsPolicy } from '../smtp/outbound/types.js';
import type { TraceStore } from '../trace/types.js';
import { nextHopsFor, type NextHop } from './next-hops.js';
import type { DkimSigningKey } from '../roles/dkim-keys.js';
import { headerFromDomain, signMessage } from '../filter/dkim-sign.js';
import { headerValues } from '../filter/headers.js';

export interface DeliveryDeps {
  config: Config;
  role: string;
  hostname: string;
  queue: QueueStore;
  trace: TraceStore;
  mailboxes: MailboxStore;
  sender: SmtpSender;
  resolver: Resolver;
  clock: () => number;
  tls: TlsMaterial;
  /** Send from this address (roles on 127.0.0.x send from their own). */
  localAddress?: string;
  logger?: Logger;
  /** Called after a DSN was queued, so it goes out without waiting for the next scan. */
  onQueued?: () => void;
  /** Keys this role signs internet-bound mail with (by header From domain). */
  dkimKeys?: DkimSigningKey[];
}

/** `decision` is routing's answer for the group (see group.ts), made once when the jobs were grouped. */
export async function deliverGroup(deps: DeliveryDeps, group: Job[], decision: RouteDecision): Promise<void> {
  const msg = group[0]!.message;
  const a = decision.action;
  if (a.kind === 'mailbox') return toMailbox(deps, group, decision, a.role);
  if (a.kind === 'reject') return settle(deps, group, decision, group.map((j) => ({ recipient: j.row.recipient, kind: 'failed', reply: reply(a.reply) })), undefined);

  const hops = await nextHopsFor(deps, a);
  if (hops.kind === 'failed') {
    const outcome = hops.permanent ? 'failed' : 'deferred';
    return settle(deps, group, decision, group.map((j) => ({ recipient: j.row.recipient, kind: outcome, reply: hops.reply })), undefined);
  }
  let body = deps.queue.readBody(msg.queueId);
  if (leavesOrganisation(a)) body = await dkimSign(deps, body, msg.queueId);
  const recipients = group.map((j) => j.row.recipient);
  let outcomes: RecipientOutcome[] = [];
  let remote: string | undefined;
  // SEND/DEFER carry the time the attempt began, so they sort before the next hop's RECEIVE.
  const attemptAt = deps.clock();
  for (const hop of hops.hops) {
    const result = await deps.sender.send({
      target: targetFor(deps, hop, a),
      hostname: deps.hostname,
      sender: msg.sender,
      recipients,
      body,
    });
    outcomes = result.outcomes;
    remote = `${hop.name} [${result.remote}]`;
    // Try the next host only when this one could not be reached at all (every recipient deferred by
    // a connection-level failure); a reply from a real server is the answer.
    if (!outcomes.every((o) => o.kind === 'deferred' && /^4\.(4\.31\d|7\.320)$/.test(o.reply.enhanced))) break;
  }
  return settle(deps, group, decision, outcomes, remote, attemptAt);
}

/** Mail for the internet, directly or through a partner connector (scenario 2's gateway). */
function leavesOrganisation(a: Extract<RouteAction, { kind: 'relay' | 'internet' }>): boolean {
  return a.kind === 'internet' || (a.connector?.direction === 'outbound' && a.connector.type === 'partner');
}

/** Sign with this role's key for the header From domain; a signing problem never holds mail back. */
async function dkimSign(deps: DeliveryDeps, body: Buffer, queueId: string): Promise<Buffer> {
  const keys = deps.dkimKeys ?? [];
  if (!keys.length) return body;
  const from = headerFromDomain(body);
  const key = keys.find((k) => k.domain === from || from.endsWith('.' + k.domain));
  // Signed once, by the first of our roles it leaves through (scenario 2: the hub, not the gateway too).
  if (!key || headerValues(body, 'DKIM-Signature').some((v) => new RegExp(`(^|;)\\s*d=${key.domain.replace(/\./g, '\\.')}\\s*(;|$)`, 'i').test(v))) return body;
  const out = await signMessage(body, { domain: key.domain, selector: key.selector, privateKeyPem: key.privateKeyPem });
  if (out.kind === 'error') deps.logger?.warn({ queueId, reason: out.reason }, 'DKIM signing failed; sending unsigned');
  return out.message;
}

function targetFor(deps: DeliveryDeps, hop: NextHop, a: Extract<RouteAction, { kind: 'relay' | 'internet' }>) {
  const tls: TlsPolicy = a.kind === 'relay' ? a.tls : 'opportunistic';
  const ours = a.kind === 'relay';
  return {
    host: hop.address,
    port: hop.port,
    servername: hop.name,
    tls,
    // Between our own roles: verify against our CA and present our certificate, which the hub's
    // connectors match on. Towards the internet: opportunistic TLS, no client certificate.
    ca: ours ? deps.tls.ca : undefined,
    clientCert: ours ? { key: deps.tls.key, cert: deps.tls.cert } : undefined,
    localAddress: deps.localAddress,
  };
}

async function toMailbox(deps: DeliveryDeps, group: Job[], decision: RouteDecision, role: string): Promise<void> {
  const msg = group[0]!.message;
  const body = deps.queue.readBody(msg.queueId);
  for (const j of group) {
    const stamp = Buffer.from(`Return-Path: <${msg.sender}>\r\nDelivered-To: ${j.row.recipient}\r\n`);
    try {
      const folder = typeof msg.meta.folder === 'string' ? msg.meta.folder : undefined;
      const id = await deps.mailboxes.deliver(j.row.recipient, Buffer.concat([stamp, body]), folder);
      const r = reply('DELIVERED');
      deps.queue.markDelivered(j.row.id, r, deps.clock());
      deps.trace.record({ at: deps.clock(), role: deps.role, type: 'DELIVER', messageId: msg.messageId, queueId: msg.queueId, sender: msg.sender, recipient: j.row.recipient, reply: formatReply(r), reason: `${decision.reason}; stored in ${role} mailbox as ${id}` });
    } catch (err) {
      await settle(deps, [j], decision, [{ recipient: j.row.recipient, kind: 'deferred', reply: reply('LOCAL_ERROR', `Mailbox write failed: ${(err as Error).message}`) }], undefined);
    }
  }
}

/** Record every recipient's outcome; retry or expire the deferred; bounce the failed with one DSN. */
async function settle(deps: DeliveryDeps, group: Job[], decision: RouteDecision, outcomes: RecipientOutcome[], remote: string | undefined, attemptAt?: number): Promise<void> {
  const { queue, trace, clock, role, config } = deps;
  const msg = group[0]!.message;
  const connector = decision.action.kind === 'relay' ? decision.action.connector?.name : undefined;
  const failed: { recipient: string; reply: Reply; action: 'failed' }[] = [];
  // Read the original headers before marking: once every row is final the store drops the body.
  const headers = outcomes.some((o) => o.kind !== 'delivered') || outcomes.length < group.length ? originalHeaders(queue, msg.queueId, msg.messageId) : undefined;
  for (const j of group) {
    const o = outcomes.find((x) => x.recipient === j.row.recipient) ?? { recipient: j.row.recipient, kind: 'deferred' as const, reply: reply('LOCAL_ERROR', 'No outcome reported for this recipient') };
    const now = clock();
    const base = { at: attemptAt ?? now, role, messageId: msg.messageId, queueId: msg.queueId, sender: msg.sender, recipient: j.row.recipient, connector, host: remote, reply: formatReply(o.reply) };
    if (o.kind === 'delivered') {
      queue.markDelivered(j.row.id, o.reply, now);
      trace.record({ ...base, type: 'SEND', reason: decision.reason });
      continue;
    }
    if (o.kind === 'deferred') {
      const step = nextStep({ schedule: config.queue.retry, attempts: j.row.attempts + 1, queuedAt: msg.queuedAt, now, expireMs: lifetimeFor(msg.sender, config.queue.expire, config.queue.expireBounces) });
      if (step.kind === 'retry') {
        queue.markDeferred(j.row.id, o.reply, step.at, now);
        trace.record({ ...base, type: 'DEFER', reason: `attempt ${j.row.attempts + 1} failed; next attempt ${new Date(step.at).toISOString()}` });
        continue;
      }
      // The retry schedule ran out: a temporary 4.x.y failure becomes the permanent 5.x.y of the NDR.
      const final: Reply = { code: 550, enhanced: o.reply.enhanced.replace(/^4\./, '5.'), text: `${o.reply.text} (retried until the queue lifetime ran out)` };
      queue.markFailed(j.row.id, 'expired', final, now);
      trace.record({ ...base, type: 'FAIL', reply: formatReply(final), reason: 'expired: the retry schedule is used up' });
      failed.push({ recipient: j.row.recipient, reply: final, action: 'failed' });
      continue;
    }
    queue.markFailed(j.row.id, 'bounced', o.reply, now);
    trace.record({ ...base, type: 'FAIL', reason: decision.reason });
    failed.push({ recipient: j.row.recipient, reply: o.reply, action: 'failed' });
  }
  if (failed.length) await sendDsn(deps, msg, headers!, failed, remote);
}

function originalHeaders(queue: QueueStore, queueId: string, messageId: string): Buffer {
  try {
    return Buffer.from(headerBlock(queue.readBody(queueId)) + '\r\n', 'latin1');
  } catch {
    return Buffer.from(`Message-ID: <${messageId}>\r\n`);
  }
}

async function sendDsn(deps: DeliveryDeps, msg: Job['message'], headers: Buffer, failed: { recipient: string; reply: Reply; action: 'failed' }[], remote: string | undefined): Promise<void> {
  const { queue, trace, clock, role, config } = deps;
  const queueId = msg.queueId;
  if (!shouldSendDsn(msg.sender, headers)) {
    trace.record({ at: clock(), role, type: 'DSN', messageId: msg.messageId, queueId, sender: msg.sender, reason: 'no DSN: the message was itself a delivery report or had the null sender' });
    return;
  }
  const domain = config.domains[0]!.name;
  const dsnId = `${randomUUID()}@${deps.hostname}`;
  const dsn = buildDsn({
    reportingMta: deps.hostname,
    arrivalDate: msg.queuedAt,
    originalSender: msg.sender,
    originalMessageId: msg.messageId,
    originalHeaders: headers,
    recipients: failed.map((f) => ({ recipient: f.recipient, action: f.action, status: f.reply.enhanced, diagnostic: `smtp; ${formatReply(f.reply)}`, remoteMta: remote, lastAttempt: clock() })),
    postmaster: `postmaster@${domain}`,
    now: clock(),
    messageIdFor: dsnId,
  });
  try {
    await queue.enqueue({ messageId: dsnId, sender: '', recipients: [dsn.recipient], body: dsn.body, meta: { arrivedFrom: 'local', dsnFor: msg.messageId } });
    trace.record({ at: clock(), role, type: 'DSN', messageId: msg.messageId, queueId, sender: msg.sender, recipient: msg.sender, reason: `non-delivery report ${dsnId} queued for ${failed.map((f) => `${f.recipient} (${f.reply.enhanced})`).join(', ')}`, data: { dsnMessageId: dsnId } });
    deps.onQueued?.();
  } catch (err) {
    deps.logger?.error({ err, queueId }, 'could not queue the DSN');
  }
}
