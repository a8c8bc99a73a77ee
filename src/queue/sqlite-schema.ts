// Tables of the SQLite queue and the mapping from rows to the contract types.
// One `messages` row per message, one `recipients` row per delivery, small bodies in `bodies`.
import type Database from 'better-sqlite3';
import type { QueuedMessage, RecipientRow, RecipientStatus } from './types.js';
import type { Reply } from '../smtp/replies.js';

export const SCHEMA_VERSION = 1;

export const FINAL_STATUSES: readonly RecipientStatus[] = ['delivered', 'bounced', 'expired'];
export const FINAL_SQL = `('delivered','bounced','expired')`;

/** Where a message body lives. `gone` once every recipient is final; `missing` if recovery found it lost. */
export type BodyWhere = 'file' | 'inline' | 'gone' | 'missing';

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  queue_id   TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  sender     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  queued_at  INTEGER NOT NULL,
  meta       TEXT NOT NULL,
  body_where TEXT NOT NULL
);
-- No indexes on sender, recipient or message id: every index is written for every message, and
-- only \`mailflow queue list --sender/--recipient\` reads them (a scan, as mailq does).
DROP INDEX IF EXISTS messages_sender;
DROP INDEX IF EXISTS messages_message_id;
DROP INDEX IF EXISTS recipients_recipient;
CREATE TABLE IF NOT EXISTS bodies (queue_id TEXT PRIMARY KEY, data BLOB NOT NULL);
-- AUTOINCREMENT: a row id is never reused, so a worker holding an old id can never touch a new row.
CREATE TABLE IF NOT EXISTS recipients (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id        TEXT NOT NULL,
  recipient       TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_reply      TEXT,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  lease_epoch     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS recipients_queue ON recipients(queue_id);
-- Only rows under a lease (in flight): lets nextDueAt find the earliest lease without a table scan.
CREATE INDEX IF NOT EXISTS recipients_leased ON recipients(lease_until) WHERE lease_until > 0 AND status IN ('queued','deferred');
`;

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw new Error(`queue database schema ${version} is newer than this mailflow (${SCHEMA_VERSION})`);
  db.exec(DDL);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** Each open starts a new epoch; leases taken under an older epoch belong to a dead process. */
export function nextEpoch(db: Database.Database): number {
  const epoch = currentEpoch(db) + 1;
  db.prepare(`INSERT INTO meta(key, value) VALUES ('epoch', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(epoch));
  return epoch;
}

export function currentEpoch(db: Database.Database): number {
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'epoch'`).get() as { value: string } | undefined;
  return row ? Number(row.value) : 0;
}

export interface JoinedRow {
  id: number;
  queue_id: string;
  recipient: string;
  status: RecipientStatus;
  attempts: number;
  next_attempt_at: number;
  last_reply: string | null;
  lease_until: number;
  lease_epoch: number;
  message_id: string;
  sender: string;
  size: number;
  queued_at: number;
  meta: string;
}

export const JOINED_COLUMNS = `r.id, r.queue_id, r.recipient, r.status, r.attempts, r.next_attempt_at, r.last_reply,
  r.lease_until, r.lease_epoch, m.message_id, m.sender, m.size, m.queued_at, m.meta`;

export function toRecipientRow(r: JoinedRow, epoch: number): RecipientRow {
  return {
    id: r.id,
    queueId: r.queue_id,
    recipient: r.recipient,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastReply: r.last_reply ? (JSON.parse(r.last_reply) as Reply) : null,
    // A lease from an earlier open is void: its holder died with that process.
    leaseUntil: r.lease_epoch === epoch ? r.lease_until : 0,
  };
}

export function toQueuedMessage(r: JoinedRow): QueuedMessage {
  return {
    queueId: r.queue_id,
    messageId: r.message_id,
    sender: r.sender,
    size: r.size,
    queuedAt: r.queued_at,
    meta: JSON.parse(r.meta) as Record<string, unknown>,
  };
}

export function replyJson(reply: Reply): string {
  return JSON.stringify({ code: reply.code, enhanced: reply.enhanced, text: reply.text });
}
