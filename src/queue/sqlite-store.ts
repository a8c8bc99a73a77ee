// The SQLite queue: one row per message, one per recipient, bodies once per message (see BODY STORAGE).
// `enqueue` goes through a group committer: one SQLite transaction and one round of fsyncs per batch
// (the WAL's fdatasync runs off the event loop, see wal-sync.ts), and no caller hears "done" before
// its batch is durable. A queue directory is
// owned by one process at a time; each open starts a new lease epoch, which voids the leases of the
// process before it.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Job, NewMessage, QueueFilter, QueuedMessage, QueueStore, RecipientRow } from './types.js';
import type { Reply } from '../smtp/replies.js';
import { Spool } from './spool.js';
import { createGroupCommitter, type GroupCommitter } from './group-commit.js';
import { createQueueIdSource, QUEUE_ID_RE, type IdSource } from './ids.js';
import { recover, type RecoveryReport } from './recovery.js';
import { WalSync } from './wal-sync.js';
import { acquireOwnerLock, type OwnerLock } from './owner-lock.js';
import { filterSql, limitValue } from './queue-filter.js';
import { currentEpoch, FINAL_SQL, JOINED_COLUMNS, migrate, nextEpoch, replyJson, toQueuedMessage, toRecipientRow, type JoinedRow } from './sqlite-schema.js';

// BODY STORAGE, decided by measuring (test/queue/bench/enqueue-bench.ts, 2 cores, virtual disk, 20
// concurrent enqueues, group commit with 20 messages a batch in every run):
//   body size      files (fsync each + dir)   BLOB in the transaction
//   5 KB           ~1,715 msg/s, p50 10 ms    ~10,400 msg/s, p50 1.5 ms
//   64 KB          ~1,240                     ~1,970
//   128 KB         ~950                       ~990      (crossover)
//   256 KB         ~920                       ~670
//   1 MB           ~405                       ~115
// Small bodies ride in the commit's single WAL fsync; a file costs its own fsync plus a directory
// fsync per batch. Large bodies are written twice by SQLite (WAL, then checkpoint) and the synchronous
// insert stalls the event loop, so above the threshold bodies go to spool files. 64 KB (below the
// crossover) keeps the stall small and covers most mail.
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;
export const DEFAULT_KEEP_FINAL_MS = 7 * 24 * 3600 * 1000;

export interface SqliteQueueOptions {
  dir: string;
  clock?: () => number;
  ids?: IdSource;
  /** Bodies of at most this many bytes are stored in SQLite; larger ones as files (0 = always files). */
  inlineBodyMaxBytes?: number;
  /** Final rows (delivered/bounced/expired) are kept this long for `list` history, pruned on open. */
  keepFinalMs?: number;
  /** Upper bound on messages in one group commit. */
  maxBatch?: number;
}

export interface QueueStats {
  enqueued: number;
  /** Group commits that reached the database (each: one transaction, one WAL fsync). */
  commits: number;
  /** Rounds of fsyncs: one per successful commit (file fsyncs of a batch run in parallel inside it). */
  fsyncBatches: number;
  fileFsyncs: number;
  dirFsyncs: number;
  largestBatch: number;
  failedBatches: number;
}

export interface SqliteQueueStore extends QueueStore {
  readonly dir: string;
  /** False when another live process owns the directory (see owner-lock.ts): recovery was skipped. */
  readonly owner: boolean;
  /** What opening found and repaired; null in shared mode. */
  readonly recovery: RecoveryReport | null;
  stats(): QueueStats;
  /** Resolves once every enqueue submitted so far has settled. */
  flush(): Promise<void>;
}

interface Prepared {
  msg: NewMessage;
  queued: QueuedMessage;
  /** Serialised before batching, so one unserialisable message cannot fail its batch-mates. */
  metaJson: string;
  inline: boolean;
}

export function openSqliteQueue(opts: SqliteQueueOptions): SqliteQueueStore {
  return new SqliteQueue(opts);
}

class SqliteQueue implements SqliteQueueStore {
  readonly dir: string;
  readonly owner: boolean;
  readonly recovery: RecoveryReport | null;
  private readonly lock: OwnerLock;
  private readonly db: Database.Database;
  private readonly spool: Spool;
  private readonly clock: () => number;
  private readonly ids: IdSource;
  private readonly inlineMax: number;
  private readonly epoch: number;
  private readonly committer: GroupCommitter<Prepared, QueuedMessage>;
  private readonly counters = { enqueued: 0, commits: 0, fileFsyncs: 0, dirFsyncs: 0, failedBatches: 0 };
  private closed = false;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly wal: WalSync;
  /** The connection's current synchronous mode, so switching costs a pragma only when it changes. */
  private syncMode: 'FULL' | 'NORMAL' = 'FULL';

  constructor(opts: SqliteQueueOptions) {
    this.dir = opts.dir;
    this.clock = opts.clock ?? Date.now;
    this.ids = opts.ids ?? createQueueIdSource(this.clock);
    this.inlineMax = opts.inlineBodyMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    mkdirSync(opts.dir, { recursive: true });
    this.spool = new Spool(join(opts.dir, 'spool'));
    this.lock = acquireOwnerLock(opts.dir);
    this.owner = this.lock.owner;
    try {
      this.db = new Database(join(opts.dir, 'queue.db'));
    } catch (err) {
      this.lock.release();
      throw err;
    }
    try {
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: a relay rewrites the same pages (index
      // leaves, freed body pages) over and over, so a rarer checkpoint copies far fewer pages in total,
      // and each one is a synchronous stall (two fsyncs) on the event loop.
      this.db.pragma('wal_autocheckpoint = 10000');
      migrate(this.db);
      if (this.owner) {
        this.epoch = nextEpoch(this.db);
        this.recovery = recover(this.db, this.spool, this.epoch, this.clock(), opts.keepFinalMs ?? DEFAULT_KEEP_FINAL_MS);
      } else {
        // Shared: the owner's epoch, so its live leases stay live for us too.
        this.epoch = currentEpoch(this.db);
        this.recovery = null;
      }
    } catch (err) {
      this.db.close();
      this.lock.release();
      throw err;
    }
    this.wal = new WalSync(join(opts.dir, 'queue.db-wal'));
    this.committer = createGroupCommitter((batch) => this.commitBatch(batch), opts.maxBatch ?? 1000);
  }

  enqueue(msg: NewMessage): Promise<QueuedMessage> {
    if (this.closed) return Promise.reject(new Error('queue is closed'));
    if (msg.recipients.length === 0) return Promise.reject(new RangeError('a message needs at least one recipient'));
    if (!Buffer.isBuffer(msg.body)) return Promise.reject(new TypeError('body must be a Buffer'));
    if (!msg.recipients.every((r) => typeof r === 'string')) return Promise.reject(new TypeError('recipients must be strings'));
    let metaJson: string;
    try {
      metaJson = JSON.stringify(msg.meta ?? {});
    } catch (err) {
      return Promise.reject(err);
    }
    const queueId = this.ids();
    if (!QUEUE_ID_RE.test(queueId)) return Promise.reject(new Error(`id source produced an unsafe queue id ${JSON.stringify(queueId)}`));
    const queued: QueuedMessage = {
      queueId,
      messageId: msg.messageId,
      sender: msg.sender,
      size: msg.body.length,
      queuedAt: this.clock(),
      meta: msg.meta,
    };
    return this.committer.submit({ msg, queued, metaJson, inline: msg.body.length <= this.inlineMax });
  }

  /** One batch: body files durable first, then one transaction for every row; files are removed if it fails. */
  private async commitBatch(batch: Prepared[]): Promise<QueuedMessage[]> {
    const files = batch.filter((p) => !p.inline).map((p) => ({ queueId: p.queued.queueId, body: p.msg.body }));
    try {
      if (this.closed) throw new Error('queue closed before the batch was committed');
      if (files.length > 0) {
        await this.spool.writeBatch(files);
        this.counters.fileFsyncs += files.length;
        this.counters.dirFsyncs++;
      }
      if (this.closed) throw new Error('queue closed before the batch was committed');
      this.insertBatch(batch);
      // Durable before anyone is answered. (Should the sync fail, the rows stay: the clients get a 451
      // and resend, so the worst case is a duplicate, never a loss.)
      await this.wal.sync();
    } catch (err) {
      this.counters.failedBatches++;
      if (files.length > 0) this.spool.removeBatch(files);
      throw err;
    }
    this.counters.commits++;
    this.counters.enqueued += batch.length;
    return batch.map((p) => p.queued);
  }

  private insertBatch(batch: Prepared[]): void {
    const insMsg = this.sql(
      `INSERT INTO messages(queue_id, message_id, sender, size, queued_at, meta, body_where) VALUES (?,?,?,?,?,?,?)`,
    );
    const insBody = this.sql(`INSERT INTO bodies(queue_id, data) VALUES (?, ?)`);
    const insRcpt = this.sql(
      `INSERT INTO recipients(queue_id, recipient, status, attempts, next_attempt_at) VALUES (?, ?, 'queued', 0, ?)`,
    );
    // Written, not yet synced: commitBatch fdatasyncs the WAL off the event loop before answering.
    this.setSync('NORMAL');
    this.db.transaction(() => {
      for (const { msg, queued: q, metaJson, inline } of batch) {
        insMsg.run(q.queueId, q.messageId, q.sender, q.size, q.queuedAt, metaJson, inline ? 'inline' : 'file');
        if (inline) insBody.run(q.queueId, msg.body);
        for (const rcpt of msg.recipients) insRcpt.run(q.queueId, rcpt, q.queuedAt);
      }
    })();
  }

  /** Prepared once per SQL text (each text is always used in the same pluck mode). */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  claimDue(now: number, limit: number, leaseMs: number): Job[] {
    if (limit <= 0) return [];
    const pick = this.sql(
      `SELECT ${JOINED_COLUMNS} FROM recipients r JOIN messages m ON m.queue_id = r.queue_id
       WHERE r.status = ? AND r.next_attempt_at <= ? AND (r.lease_epoch <> ? OR r.lease_until <= ?)
       ORDER BY r.next_attempt_at, r.id LIMIT ?`,
    );
    const lease = this.sql(`UPDATE recipients SET lease_until = ?, lease_epoch = ? WHERE id = ?`);
    // Leases need no fsync: the next open starts a new epoch, which voids every lease of this one.
    this.setSync('NORMAL');
    return this.db.transaction(() => {
      // Fresh and deferred rows are taken in turn, so a backlog of retries never starves new mail.
      const fresh = pick.all('queued', now, this.epoch, now, limit) as JoinedRow[];
      const retries = pick.all('deferred', now, this.epoch, now, limit) as JoinedRow[];
      const chosen = interleave(fresh, retries, limit);
      const until = now + leaseMs;
      return chosen.map((r) => {
        lease.run(until, this.epoch, r.id);
        const row = toRecipientRow({ ...r, lease_until: until, lease_epoch: this.epoch }, this.epoch);
        return { row, message: toQueuedMessage(r) };
      });
    }).immediate(); // take the write lock first: another process may be claiming too
  }

  markDelivered(rowId: number, reply: Reply, now: number): void {
    this.finish(rowId, 'delivered', reply, now);
  }

  markFailed(rowId: number, status: 'bounced' | 'expired', reply: Reply, now: number): void {
    this.finish(rowId, status, reply, now);
  }

  markDeferred(rowId: number, reply: Reply, nextAttemptAt: number, _now: number): void {
    const sql = `UPDATE recipients SET status = 'deferred', attempts = attempts + 1, next_attempt_at = ?, last_reply = ?,
      lease_until = 0 WHERE id = ? AND status NOT IN ${FINAL_SQL}`;
    this.outcome(false, () => this.sql(sql).run(nextAttemptAt, replyJson(reply), rowId));
  }

  private finish(rowId: number, status: 'delivered' | 'bounced' | 'expired', reply: Reply, now: number): void {
    let release: string | null = null;
    // The last outcome of a message with a body file commits durably before the file is unlinked:
    // otherwise a power loss could keep the unlink and lose the outcome, leaving a row without its body.
    const durable = this.releasesFile(rowId);
    this.outcome(durable, () => {
      const row = this.sql(`SELECT queue_id FROM recipients WHERE id = ? AND status NOT IN ${FINAL_SQL}`).get(rowId) as
        | { queue_id: string }
        | undefined;
      if (!row) return; // unknown or already final: an outcome is recorded once
      this.sql(`UPDATE recipients SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_reply = ?, lease_until = 0 WHERE id = ?`)
        .run(status, now, replyJson(reply), rowId);
      release = this.releaseIfDone(row.queue_id);
    });
    // (If another process changed the message meanwhile and the commit was not durable, recovery
    // removes the file on the next open instead.)
    if (release && durable) this.spool.remove(release);
  }

  private releasesFile(rowId: number): boolean {
    const sql = `SELECT 1 FROM recipients r JOIN messages m ON m.queue_id = r.queue_id
      WHERE r.id = ? AND m.body_where = 'file' AND NOT EXISTS (SELECT 1 FROM recipients o
        WHERE o.queue_id = r.queue_id AND o.id <> r.id AND o.status NOT IN ${FINAL_SQL})`;
    return this.sql(sql).pluck().get(rowId) !== undefined;
  }

  /**
   * Outcomes normally commit with synchronous=NORMAL: they survive kill -9 (the WAL is written before
   * COMMIT returns) and are fsynced by the next enqueue or checkpoint. An outcome lost to power failure
   * only means a recipient is tried again: at-least-once, never a lost message.
   */
  private outcome(durable: boolean, fn: () => void): void {
    this.setSync(durable ? 'FULL' : 'NORMAL');
    this.db.transaction(fn)();
  }

  /** Every write says how durable its COMMIT must be (FULL: fsynced before COMMIT returns). */
  private setSync(mode: 'FULL' | 'NORMAL'): void {
    if (this.syncMode === mode) return;
    this.db.pragma(`synchronous = ${mode}`);
    this.syncMode = mode;
  }

  /** Inside a transaction: drops the body once no recipient still needs it; returns a file to unlink after commit. */
  private releaseIfDone(queueId: string): string | null {
    const open = this.sql(`SELECT COUNT(*) FROM recipients WHERE queue_id = ? AND status NOT IN ${FINAL_SQL}`).pluck().get(queueId) as number;
    if (open > 0) return null;
    const where = this.sql(`SELECT body_where FROM messages WHERE queue_id = ?`).pluck().get(queueId) as string | undefined;
    if (where !== 'file' && where !== 'inline') return null;
    this.sql(`DELETE FROM bodies WHERE queue_id = ?`).run(queueId);
    this.sql(`UPDATE messages SET body_where = 'gone' WHERE queue_id = ?`).run(queueId);
    return where === 'file' ? queueId : null;
  }

  readBody(queueId: string): Buffer {
    const where = this.sql(`SELECT body_where FROM messages WHERE queue_id = ?`).pluck().get(queueId) as string | undefined;
    if (where === 'inline') return this.sql(`SELECT data FROM bodies WHERE queue_id = ?`).pluck().get(queueId) as Buffer;
    if (where === 'file') return this.spool.read(queueId);
    throw new Error(where === undefined ? `no queued message ${queueId}` : `body of ${queueId} is ${where}`);
  }

  list(filter?: QueueFilter): (RecipientRow & { message: QueuedMessage })[] {
    const { where, params } = filterSql(filter);
    const rows = this.sql(`SELECT ${JOINED_COLUMNS} FROM recipients r JOIN messages m ON m.queue_id = r.queue_id ${where} ORDER BY r.id LIMIT ?`)
      .all(...params, limitValue(filter, 1000)) as JoinedRow[];
    return rows.map((r) => ({ ...toRecipientRow(r, this.epoch), message: toQueuedMessage(r) }));
  }

  retryNow(filter: QueueFilter, now: number): number {
    const { where, params } = filterSql({ ...filter, status: undefined }, [`r.status = 'deferred'`]);
    const sql = `UPDATE recipients SET next_attempt_at = ? WHERE id IN (
      SELECT r.id FROM recipients r JOIN messages m ON m.queue_id = r.queue_id ${where} LIMIT ?)`;
    this.setSync('FULL');
    return this.sql(sql).run(now, ...params, limitValue(filter, null)).changes;
  }

  delete(filter: QueueFilter): number {
    const { where, params } = filterSql(filter);
    const unlink: string[] = [];
    // Durable before the body files go: a delete undone by power loss must not find its file gone.
    this.setSync('FULL');
    const count = this.db.transaction(() => {
      const rows = this.sql(`SELECT r.id, r.queue_id FROM recipients r JOIN messages m ON m.queue_id = r.queue_id ${where} ORDER BY r.id LIMIT ?`)
        .all(...params, limitValue(filter, null)) as { id: number; queue_id: string }[];
      const del = this.sql(`DELETE FROM recipients WHERE id = ?`);
      for (const r of rows) del.run(r.id);
      for (const queueId of new Set(rows.map((r) => r.queue_id))) {
        const left = this.sql(`SELECT COUNT(*) FROM recipients WHERE queue_id = ?`).pluck().get(queueId) as number;
        const where = this.sql(`SELECT body_where FROM messages WHERE queue_id = ?`).pluck().get(queueId) as string;
        if (left === 0) {
          this.sql(`DELETE FROM bodies WHERE queue_id = ?`).run(queueId);
          this.sql(`DELETE FROM messages WHERE queue_id = ?`).run(queueId);
          if (where === 'file') unlink.push(queueId);
        } else {
          const file = this.releaseIfDone(queueId);
          if (file) unlink.push(file);
        }
      }
      return rows.length;
    })();
    for (const queueId of unlink) this.spool.remove(queueId);
    return count;
  }

  nextDueAt(): number | null {
    // A live lease postpones a row until the lease runs out (its worker may still report): the earliest
    // of (a) next_attempt_at of rows without a live lease, walking recipients_due in order past the
    // leased rows at its head, and (b) lease_until of leased rows, from the small partial index of
    // leases. Called after every enqueue and delivery: it must not cost O(backlog).
    const free = this.sql(`SELECT next_attempt_at FROM recipients WHERE status = ? AND NOT (lease_epoch = ? AND lease_until > next_attempt_at)
      ORDER BY next_attempt_at LIMIT 1`).pluck();
    // lease_until > 0 is implied by a live lease (times are non-negative) and selects the partial index.
    const leased = this.sql(`SELECT MIN(lease_until) FROM recipients INDEXED BY recipients_leased WHERE lease_until > 0 AND status IN ('queued','deferred')
      AND lease_epoch = ? AND lease_until > next_attempt_at`).pluck();
    const times = [free.get('queued', this.epoch), free.get('deferred', this.epoch), leased.get(this.epoch)].filter((t): t is number => typeof t === 'number');
    return times.length ? Math.min(...times) : null;
  }

  stats(): QueueStats {
    return {
      ...this.counters,
      fsyncBatches: this.counters.commits,
      largestBatch: this.committer.stats.largest,
    };
  }

  flush(): Promise<void> {
    return this.committer.idle();
  }

  close(): void {
    if (this.closed) return;
    // Enqueues still waiting reject (never resolve without durability); their files are removed.
    this.closed = true;
    this.wal.close();
    this.db.close();
    this.lock.release();
  }
}

function interleave<T>(a: T[], b: T[], limit: number): T[] {
  const out: T[] = [];
  for (let i = 0; out.length < limit && (i < a.length || i < b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length && out.length < limit) out.push(b[i]!);
  }
  return out;
}
