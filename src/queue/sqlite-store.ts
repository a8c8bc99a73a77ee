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
import { createQueueIdSource, type IdSource } from './ids.js';
import { recover, type RecoveryReport } from './recovery.js';
import { WalSync } from './wal-sync.js';
import { checkNewMessage, prepareInserts, queuedRecord, type MessageInserts } from './insert.js';
import type { QueueWriterInfo, WrittenMessage } from './thread-writer.js';
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
  /**
   * Hand freshly committed messages straight to this process's delivery worker (see HANDOFF). Only
   * the queue's owner hands off; tests of the SQL paths leave it off.
   */
  handoff?: HandoffOptions;
  /**
   * Asked per batch: fdatasync the WAL on the calling thread rather than on libuv's pool (wal-sync.ts).
   * For a loop that serves no SMTP sessions, while few are open. Waiting outcomes then commit on
   * their timer, not in the sync's slot.
   */
  syncInline?: () => boolean;
}

export interface HandoffOptions {
  /** The lease handed-off rows are inserted with; the worker should claim with the same lease. */
  leaseMs: number;
  /** At most this many messages wait in memory; past it new mail goes the SQL way. */
  maxMessages?: number;
  /** At most this many body bytes are kept in memory for handed-off messages. */
  maxBytes?: number;
}

// HANDOFF. Most mail is delivered at its first attempt, moments after it was committed. Finding it
// again with SQL (select, lease update, body read), then marking it in its own transaction, cost a
// quarter of a relay's main thread under load (bench/README.md). So the owner inserts a fresh message's
// recipient rows already leased to itself, keeps the job and its body in memory, and hands them to
// claimDue first; their outcomes are written together (see OUTCOME_FLUSH_MS). What stays true:
// a row is durable before its 250; a crash voids the leases (new epoch) and the SQL path delivers
// whatever had no outcome yet (at least once); an outcome that did not reach the database is a second
// attempt, never a loss; a handed-off job whose lease is near its end is left to the SQL path.
// Outcomes of handed-off rows commit while the next enqueue's WAL sync runs on the thread pool, or
// OUTCOME_FLUSH_MS after the first of them if no enqueue comes or the sync ran inline (syncInline).
// Committed at the end of each turn, as before, they ran between a reply and the client's next
// command at one session (bench/README.md, change 20). A crash loses at most the outcomes of that
// long: those messages are delivered once more (at least once, as before).
const OUTCOME_FLUSH_MS = 20;

interface HandoffEntry {
  body: Buffer;
  /** Rows of the message handed off and without a recorded outcome. */
  open: number;
  /** All its rows, and how many have a final outcome waiting: when equal, the body goes without asking SQL. */
  rows: number;
  finals: number;
}

interface PendingOutcome {
  rowId: number;
  queueId: string;
  status: 'delivered' | 'bounced' | 'expired' | 'deferred';
  reply: Reply;
  at: number;
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
  /**
   * What a writer on another thread of this process needs to commit fresh mail here itself
   * (thread-writer.ts); null unless this store owns the queue and hands fresh mail off.
   */
  writerInfo(): QueueWriterInfo | null;
  /** A message such a writer committed (durable, its rows leased to this epoch): deliver it from memory. */
  adopt(c: WrittenMessage, body: Buffer): void;
}

interface Prepared {
  msg: NewMessage;
  queued: QueuedMessage;
  /** Serialised before batching, so one unserialisable message cannot fail its batch-mates. */
  metaJson: string;
  inline: boolean;
  /** Jobs to hand to the worker once the batch is durable (handoff mode). */
  handoff?: Job[];
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
  private inserts: MessageInserts | null = null;
  private readonly wal: WalSync;
  private readonly syncInline: (() => boolean) | null;
  /** The connection's current synchronous mode, so switching costs a pragma only when it changes. */
  private syncMode: 'FULL' | 'NORMAL' = 'FULL';
  private readonly handoff: Required<HandoffOptions> | null;
  /** Committed jobs waiting for the worker, oldest first (`freshHead` is the next to hand out). */
  private fresh: Job[] = [];
  private freshHead = 0;
  /** Bodies of handed-off messages, by queue id, until each of their rows has an outcome. */
  private readonly hot = new Map<string, HandoffEntry>();
  private hotBytes = 0;
  /** Handed-off rows claimed and not yet marked: row id → queue id. */
  private readonly handedOut = new Map<number, string>();
  private pendingOutcomes: PendingOutcome[] = [];
  private readonly pendingQueues = new Set<string>();
  private outcomeFlush: NodeJS.Timeout | null = null;
  /** Cached earliest due time of rows only SQL can find: [value, computed at]; null = recompute. */
  private sqlDue: [number | null, number] | null = null;

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
    this.handoff =
      opts.handoff && this.owner
        ? { leaseMs: opts.handoff.leaseMs, maxMessages: opts.handoff.maxMessages ?? 2000, maxBytes: opts.handoff.maxBytes ?? 32 * 1024 * 1024 }
        : null;
    this.wal = new WalSync(join(opts.dir, 'queue.db-wal'));
    this.syncInline = opts.syncInline ?? null;
    this.committer = createGroupCommitter((batch) => this.commitBatch(batch), opts.maxBatch ?? 1000);
  }

  enqueue(msg: NewMessage): Promise<QueuedMessage> {
    if (this.closed) return Promise.reject(new Error('queue is closed'));
    let metaJson: string;
    let queued: QueuedMessage;
    try {
      metaJson = checkNewMessage(msg);
      queued = queuedRecord(msg, this.ids(), this.clock());
    } catch (err) {
      return Promise.reject(err);
    }
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
      const inline = this.syncInline?.() ?? false;
      const synced = this.wal.sync(inline);
      // The sync runs on the thread pool and this loop waits for it: the slot for the outcomes waiting
      // to commit (see OUTCOME_FLUSH_MS). In a microtask, so that an error there is not this batch's.
      if (this.pendingOutcomes.length > 0 && !inline) queueMicrotask(() => this.flushOutcomes());
      await synced;
    } catch (err) {
      this.counters.failedBatches++;
      if (files.length > 0) this.spool.removeBatch(files);
      // Handed-off rows of a failed batch stay leased until the lease ends; then the SQL path has them.
      for (const p of batch) if (p.handoff) this.dropHot(p.queued.queueId);
      throw err;
    }
    // Only now may the worker see them: nothing is delivered before it is durable.
    for (const p of batch) if (p.handoff) for (const j of p.handoff) this.fresh.push(j);
    this.counters.commits++;
    this.counters.enqueued += batch.length;
    return batch.map((p) => p.queued);
  }

  private insertBatch(batch: Prepared[]): void {
    const ins = (this.inserts ??= prepareInserts(this.db));
    // Written, not yet synced: commitBatch fdatasyncs the WAL off the event loop before answering.
    this.setSync('NORMAL');
    let visible = false;
    this.db.transaction(() => {
      for (const p of batch) {
        const { msg, queued: q, metaJson, inline } = p;
        ins.message(q, metaJson, inline, msg.body);
        if (inline && this.hasRoom(msg.body.length)) {
          const until = q.queuedAt + this.handoff!.leaseMs;
          const meta = JSON.parse(metaJson) as Record<string, unknown>;
          const rows = msg.recipients.map((rcpt) => ({ id: ins.leased(q.queueId, rcpt, q.queuedAt, until, this.epoch), recipient: rcpt }));
          p.handoff = this.keepHot({ ...q, meta }, rows, until, msg.body);
        } else {
          visible = true;
          for (const rcpt of msg.recipients) ins.free(q.queueId, rcpt, q.queuedAt);
        }
      }
    }).immediate();
    if (visible) this.sqlDue = null;
  }

  /** A fresh message's leased rows and its body, kept for the worker (see HANDOFF): the jobs to hand out. */
  private keepHot(message: QueuedMessage, rows: { id: number; recipient: string }[], until: number, body: Buffer): Job[] {
    const jobs = rows.map(({ id, recipient }): Job => ({
      row: { id, queueId: message.queueId, recipient, status: 'queued', attempts: 0, nextAttemptAt: message.queuedAt, lastReply: null, leaseUntil: until },
      message,
    }));
    this.hot.set(message.queueId, { body, open: jobs.length, rows: jobs.length, finals: 0 });
    this.hotBytes += body.length;
    return jobs;
  }

  writerInfo(): QueueWriterInfo | null {
    if (!this.handoff || this.closed) return null;
    return { dir: this.dir, epoch: this.epoch, leaseMs: this.handoff.leaseMs, inlineBodyMaxBytes: this.inlineMax };
  }

  adopt(c: WrittenMessage, body: Buffer): void {
    if (this.closed) return; // the rows stay leased to this epoch: the next open's SQL path has them
    this.counters.enqueued++;
    if (this.hasRoom(body.length)) {
      for (const j of this.keepHot(c.queued, c.rows, c.leaseUntil, body)) this.fresh.push(j);
      return;
    }
    // No room to keep it in memory: free its rows for the SQL path now, not when the lease runs out.
    this.setSync('NORMAL');
    this.sql(`UPDATE recipients SET lease_until = 0 WHERE queue_id = ? AND lease_epoch = ? AND status = 'queued'`).run(c.queued.queueId, this.epoch);
    this.sqlDue = null;
  }

  private hasRoom(bytes: number): boolean {
    const h = this.handoff;
    return h !== null && this.hot.size < h.maxMessages && this.hotBytes + bytes <= h.maxBytes;
  }

  private dropHot(queueId: string): void {
    const e = this.hot.get(queueId);
    if (!e) return;
    this.hot.delete(queueId);
    this.hotBytes -= e.body.length;
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
    const out = this.claimFresh(now, limit);
    if (out.length >= limit) return out;
    if (this.handoff) {
      // The SQL path only when something it can see may be due (cached; see sqlDueAt).
      const due = this.sqlDueAt(now);
      if (due === null || due > now) return out;
      this.flushOutcomes();
      this.sqlDue = null;
    }
    return out.concat(this.claimSql(now, limit - out.length, leaseMs));
  }

  /** Handed-off jobs, oldest first; one whose lease is past half its life is left to the SQL path. */
  private claimFresh(now: number, limit: number): Job[] {
    const out: Job[] = [];
    if (!this.handoff) return out;
    const margin = this.handoff.leaseMs / 2;
    while (out.length < limit && this.freshHead < this.fresh.length) {
      const job = this.fresh[this.freshHead++]!;
      if (job.row.leaseUntil - now < margin) {
        this.forgetHandoff(job.row.queueId);
        this.sqlDue = null;
        continue;
      }
      this.handedOut.set(job.row.id, job.row.queueId);
      out.push(job);
    }
    if (this.freshHead >= this.fresh.length) {
      this.fresh = [];
      this.freshHead = 0;
    } else if (this.freshHead > 1024) {
      this.fresh = this.fresh.slice(this.freshHead);
      this.freshHead = 0;
    }
    return out;
  }

  /** A handed-off row that will not be delivered from memory: its message's body is read from SQL. */
  private forgetHandoff(queueId: string): void {
    const e = this.hot.get(queueId);
    if (e && --e.open <= 0) this.dropHot(queueId);
  }

  private claimSql(now: number, limit: number, leaseMs: number): Job[] {
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
    if (this.defer(rowId, 'delivered', reply, now)) return;
    this.flushOutcomes();
    this.finish(rowId, 'delivered', reply, now);
  }

  markFailed(rowId: number, status: 'bounced' | 'expired', reply: Reply, now: number): void {
    if (this.defer(rowId, status, reply, now)) return;
    this.flushOutcomes();
    this.finish(rowId, status, reply, now);
  }

  markDeferred(rowId: number, reply: Reply, nextAttemptAt: number, now: number): void {
    if (this.defer(rowId, 'deferred', reply, nextAttemptAt)) return;
    this.flushOutcomes();
    this.sqlDue = null;
    this.writeDeferred(rowId, reply, nextAttemptAt, now);
  }

  /**
   * Outcomes of handed-off rows (inline bodies: no file to unlink, so never a durable commit) wait and
   * commit together (OUTCOME_FLUSH_MS). Returns false for any other row.
   */
  private defer(rowId: number, status: PendingOutcome['status'], reply: Reply, at: number): boolean {
    const queueId = this.handedOut.get(rowId);
    if (queueId === undefined) return false;
    this.handedOut.delete(rowId);
    this.pendingOutcomes.push({ rowId, queueId, status, reply, at });
    this.pendingQueues.add(queueId);
    if (status === 'deferred') this.sqlDue = null;
    else {
      const e = this.hot.get(queueId);
      if (e) e.finals++;
    }
    this.outcomeFlush ??= setTimeout(() => this.flushOutcomes(), OUTCOME_FLUSH_MS);
    return true;
  }

  /** Commits the waiting outcomes in one transaction (synchronous=NORMAL: survives a crash of the process). */
  private flushOutcomes(): void {
    if (this.outcomeFlush) clearTimeout(this.outcomeFlush);
    this.outcomeFlush = null;
    if (this.pendingOutcomes.length === 0 || this.closed) return;
    const batch = this.pendingOutcomes;
    this.pendingOutcomes = [];
    this.pendingQueues.clear();
    const done = this.sql(`UPDATE recipients SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_reply = ?, lease_until = 0
      WHERE id = ? AND status NOT IN ${FINAL_SQL}`);
    let deferred = false;
    this.setSync('NORMAL');
    this.db.transaction(() => {
      const touched = new Set<string>();
      for (const o of batch) {
        if (o.status === 'deferred') {
          deferred = true;
          this.writeDeferredRow(o.rowId, o.reply, o.at);
        } else {
          done.run(o.status, o.at, replyJson(o.reply), o.rowId);
        }
        touched.add(o.queueId);
      }
      const dropBody = this.sql(`DELETE FROM bodies WHERE queue_id = ?`);
      const gone = this.sql(`UPDATE messages SET body_where = 'gone' WHERE queue_id = ?`);
      for (const queueId of touched) {
        const e = this.hot.get(queueId);
        if (e && e.finals === e.rows) {
          // Every row of this inline message is final: no count, no lookup of where the body is.
          dropBody.run(queueId);
          gone.run(queueId);
        } else this.releaseIfDone(queueId);
      }
    }).immediate();
    for (const o of batch) this.forgetHandoff(o.queueId);
    // Nothing of ours in flight any more: the cached answer (maybe one of those leases) is stale.
    if (deferred || (this.handedOut.size === 0 && this.freshHead >= this.fresh.length)) this.sqlDue = null;
  }

  private writeDeferred(rowId: number, reply: Reply, nextAttemptAt: number, _now: number): void {
    this.outcome(false, () => this.writeDeferredRow(rowId, reply, nextAttemptAt));
  }

  private writeDeferredRow(rowId: number, reply: Reply, nextAttemptAt: number): void {
    const sql = `UPDATE recipients SET status = 'deferred', attempts = attempts + 1, next_attempt_at = ?, last_reply = ?,
      lease_until = 0 WHERE id = ? AND status NOT IN ${FINAL_SQL}`;
    this.sql(sql).run(nextAttemptAt, replyJson(reply), rowId);
  }

  private finish(rowId: number, status: 'delivered' | 'bounced' | 'expired', reply: Reply, now: number): void {
    this.sqlDue = null;
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
    // IMMEDIATE everywhere this connection writes: the session thread's writer shares the database, and
    // a read that upgrades to a write after its commit would fail (SQLITE_BUSY_SNAPSHOT), not wait.
    this.db.transaction(fn).immediate();
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
    const hot = this.hot.get(queueId);
    if (hot) return hot.body;
    if (this.pendingQueues.has(queueId)) this.flushOutcomes();
    const where = this.sql(`SELECT body_where FROM messages WHERE queue_id = ?`).pluck().get(queueId) as string | undefined;
    if (where === 'inline') return this.sql(`SELECT data FROM bodies WHERE queue_id = ?`).pluck().get(queueId) as Buffer;
    if (where === 'file') return this.spool.read(queueId);
    throw new Error(where === undefined ? `no queued message ${queueId}` : `body of ${queueId} is ${where}`);
  }

  list(filter?: QueueFilter): (RecipientRow & { message: QueuedMessage })[] {
    this.flushOutcomes();
    const { where, params } = filterSql(filter);
    const rows = this.sql(`SELECT ${JOINED_COLUMNS} FROM recipients r JOIN messages m ON m.queue_id = r.queue_id ${where} ORDER BY r.id LIMIT ?`)
      .all(...params, limitValue(filter, 1000)) as JoinedRow[];
    return rows.map((r) => ({ ...toRecipientRow(r, this.epoch), message: toQueuedMessage(r) }));
  }

  retryNow(filter: QueueFilter, now: number): number {
    this.flushOutcomes();
    this.sqlDue = null;
    const { where, params } = filterSql({ ...filter, status: undefined }, [`r.status = 'deferred'`]);
    const sql = `UPDATE recipients SET next_attempt_at = ? WHERE id IN (
      SELECT r.id FROM recipients r JOIN messages m ON m.queue_id = r.queue_id ${where} LIMIT ?)`;
    this.setSync('FULL');
    return this.sql(sql).run(now, ...params, limitValue(filter, null)).changes;
  }

  delete(filter: QueueFilter): number {
    // (Handed-off jobs already in memory are still delivered; their outcomes then find no row.)
    this.flushOutcomes();
    this.sqlDue = null;
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
    }).immediate();
    for (const queueId of unlink) this.spool.remove(queueId);
    return count;
  }

  nextDueAt(): number | null {
    if (this.freshHead < this.fresh.length) return this.fresh[this.freshHead]!.row.nextAttemptAt;
    return this.sqlDueAt(this.clock());
  }

  /**
   * nextDueAt of the rows SQL can see. In handoff mode the answer is cached until a write could make
   * it earlier, and for at most a second (another process, such as \`mailflow queue retry\`, may change
   * rows); a cached answer is never later than the truth, so at worst the worker looks once for nothing.
   */
  private sqlDueAt(now: number): number | null {
    if (!this.handoff) return this.nextDueAtSql();
    if (this.sqlDue && now - this.sqlDue[1] < 1000 && now >= this.sqlDue[1]) return this.sqlDue[0];
    this.flushOutcomes();
    const at = this.nextDueAtSql();
    this.sqlDue = [at, now];
    return at;
  }

  private nextDueAtSql(): number | null {
    // A live lease postpones a row until the lease runs out (its worker may still report): the earliest
    // of (a) next_attempt_at of rows without a live lease, walking recipients_due in order past the
    // leased rows at its head, and (b) lease_until of leased rows, from the small partial index of
    // leases. Called after every enqueue and delivery: it must not cost O(backlog).
    const free = this.sql(`SELECT next_attempt_at FROM recipients WHERE status = ? AND NOT (lease_epoch = ? AND lease_until > next_attempt_at)
      ORDER BY next_attempt_at LIMIT 1`).pluck();
    // lease_until > 0 is implied by a live lease (times are non-negative) and selects the partial index.
    const leased = this.sql(`SELECT MIN(lease_until) FROM recipients INDEXED BY recipients_leased WHERE lease_until > 0 AND status IN ('queued','deferred')
      AND lease_epoch = ? AND lease_until > next_attempt_at`).pluck();
    // One read transaction for the three: each statement on its own took and released SQLite's read lock.
    const times = this.db
      .transaction(() => [free.get('queued', this.epoch), free.get('deferred', this.epoch), leased.get(this.epoch)])()
      .filter((t): t is number => typeof t === 'number');
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
    this.flushOutcomes();
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
