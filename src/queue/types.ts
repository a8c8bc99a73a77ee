// The queue contract. A store keeps each message body once and one row per recipient; `enqueue`
// resolves only when body and rows are durable (fsync / committed), so the caller may answer 250.
import type { Reply } from '../smtp/replies.js';

export type RecipientStatus = 'queued' | 'delivered' | 'deferred' | 'bounced' | 'expired' | 'held';

export interface NewMessage {
  /** The Message-ID header value without <>, or a generated one; the key message trace uses across roles. */
  messageId: string;
  /** Envelope sender; '' is the null reverse-path (a DSN). */
  sender: string;
  recipients: string[];
  /** The complete message as it will be relayed (CRLF line ends, our Received header already on top). */
  body: Buffer;
  /** Facts about the arrival that delivery and trace need (client IP, connector, auth verdicts ...). */
  meta: Record<string, unknown>;
}

export interface QueuedMessage {
  queueId: string;
  messageId: string;
  sender: string;
  size: number;
  queuedAt: number;
  meta: Record<string, unknown>;
}

export interface RecipientRow {
  /** Unique id of this delivery (message × recipient). */
  id: number;
  queueId: string;
  recipient: string;
  status: RecipientStatus;
  attempts: number;
  /** Epoch ms of the next attempt (queued/deferred), or of the final outcome. */
  nextAttemptAt: number;
  lastReply: Reply | null;
  /** Epoch ms until which a worker holds this row (0 = free). */
  leaseUntil: number;
}

export interface Job {
  row: RecipientRow;
  message: QueuedMessage;
}

export interface QueueFilter {
  status?: RecipientStatus[];
  recipient?: string;
  sender?: string;
  queueId?: string;
  limit?: number;
}

export interface QueueStore {
  /** Durable before it resolves. Group-commits concurrent calls (one fsync/commit for a batch). */
  enqueue(msg: NewMessage): Promise<QueuedMessage>;
  /** Leases up to `limit` due rows (queued/deferred with nextAttemptAt <= now and no live lease). */
  claimDue(now: number, limit: number, leaseMs: number): Job[];
  markDelivered(rowId: number, reply: Reply, now: number): void;
  markDeferred(rowId: number, reply: Reply, nextAttemptAt: number, now: number): void;
  /** Final failure: `bounced` (permanent reply) or `expired` (lifetime over). */
  markFailed(rowId: number, status: 'bounced' | 'expired', reply: Reply, now: number): void;
  readBody(queueId: string): Buffer;
  list(filter?: QueueFilter): (RecipientRow & { message: QueuedMessage })[];
  /** Make deferred rows due now; returns how many. */
  retryNow(filter: QueueFilter, now: number): number;
  /** Remove rows (and the body once no row needs it); returns how many rows. */
  delete(filter: QueueFilter): number;
  /** Earliest nextAttemptAt among pending rows, for the scheduler's sleep. */
  nextDueAt(): number | null;
  close(): void;
}
