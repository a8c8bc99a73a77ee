// Writing a fresh message's rows: shared by the queue's owner (sqlite-store.ts) and by the session
// thread's writer (thread-writer.ts), so both lay a message down exactly alike.
import type Database from 'better-sqlite3';
import { QUEUE_ID_RE } from './ids.js';
import type { NewMessage, QueuedMessage } from './types.js';

export interface MessageInserts {
  /** The `messages` row; `inline`: the body goes in `bodies`, else it is a spool file already durable. */
  message(q: QueuedMessage, metaJson: string, inline: boolean, body: Buffer): void;
  /** A recipient row due at once and free for any worker. */
  free(queueId: string, recipient: string, at: number): void;
  /** A recipient row due at once and leased to this process (handed off): its row id. */
  leased(queueId: string, recipient: string, at: number, until: number, epoch: number): number;
}

export function prepareInserts(db: Database.Database): MessageInserts {
  const insMsg = db.prepare(`INSERT INTO messages(queue_id, message_id, sender, size, queued_at, meta, body_where) VALUES (?,?,?,?,?,?,?)`);
  const insBody = db.prepare(`INSERT INTO bodies(queue_id, data) VALUES (?, ?)`);
  const insFree = db.prepare(`INSERT INTO recipients(queue_id, recipient, status, attempts, next_attempt_at) VALUES (?, ?, 'queued', 0, ?)`);
  const insLeased = db.prepare(
    `INSERT INTO recipients(queue_id, recipient, status, attempts, next_attempt_at, lease_until, lease_epoch) VALUES (?, ?, 'queued', 0, ?, ?, ?)`,
  );
  return {
    message(q, metaJson, inline, body) {
      insMsg.run(q.queueId, q.messageId, q.sender, q.size, q.queuedAt, metaJson, inline ? 'inline' : 'file');
      if (inline) insBody.run(q.queueId, body);
    },
    free(queueId, recipient, at) {
      insFree.run(queueId, recipient, at);
    },
    leased(queueId, recipient, at, until, epoch) {
      return Number(insLeased.run(queueId, recipient, at, until, epoch).lastInsertRowid);
    },
  };
}

/** What every enqueue checks before a message is batched: throws on a bad one; returns its meta serialised. */
export function checkNewMessage(msg: NewMessage): string {
  if (msg.recipients.length === 0) throw new RangeError('a message needs at least one recipient');
  if (!Buffer.isBuffer(msg.body)) throw new TypeError('body must be a Buffer');
  if (!msg.recipients.every((r) => typeof r === 'string')) throw new TypeError('recipients must be strings');
  // Serialised before batching, so one unserialisable message cannot fail its batch-mates.
  return JSON.stringify(msg.meta ?? {});
}

/** A fresh message's queue record under `queueId` (checked: it also names spool files), queued `at`. */
export function queuedRecord(msg: NewMessage, queueId: string, at: number): QueuedMessage {
  if (!QUEUE_ID_RE.test(queueId)) throw new Error(`id source produced an unsafe queue id ${JSON.stringify(queueId)}`);
  return { queueId, messageId: msg.messageId, sender: msg.sender, size: msg.body.length, queuedAt: at, meta: msg.meta };
}
