// Fresh mail committed by the thread that received it. The session thread (roles/session-thread/)
// used to post every accepted message to the roles' event loop, which committed it and posted the
// queue id back: two thread crossings and two of the other loop's turns before each 250. Here the
// session thread opens its own connection to the role's queue database and commits the message
// itself (same rows, same group commit, same WAL fdatasync before any 250), leasing the recipient
// rows to the owner's epoch; the owner then adopts the message for delivery (SqliteQueueStore.adopt).
//
// Two writers share the database, so this one never waits for the lock on its loop: busy_timeout is
// 0 and a busy BEGIN IMMEDIATE is tried again on a later turn (the owner's writes are short outcome
// and lease commits). Checkpoints stay with the owner's connection, whose commits are frequent.
// Should this thread die between a commit and its post to the owner, the rows stay leased to the
// owner's epoch and its SQL path delivers them when the lease runs out (a delay, never a loss).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createGroupCommitter, type GroupCommitter } from './group-commit.js';
import { createQueueIdSource, type IdSource } from './ids.js';
import { checkNewMessage, prepareInserts, queuedRecord, type MessageInserts } from './insert.js';
import type { NewMessage, QueuedMessage } from './types.js';
import { WalSync } from './wal-sync.js';

/** What the owner hands a writer (plain data: it crosses into the thread). */
export interface QueueWriterInfo {
  dir: string;
  /** The owner's lease epoch: rows leased under it are the owner's to deliver. */
  epoch: number;
  leaseMs: number;
  /** Larger bodies go to spool files, which the owner writes: the writer leaves those to it. */
  inlineBodyMaxBytes: number;
}

/** A committed message, as the owner adopts it. */
export interface WrittenMessage {
  queued: QueuedMessage;
  rows: { id: number; recipient: string }[];
  leaseUntil: number;
}

export interface QueueWriterOptions {
  info: QueueWriterInfo;
  /** Asked per batch: fdatasync on this thread rather than on libuv's pool (wal-sync.ts). */
  syncInline?: () => boolean;
  clock?: () => number;
  ids?: IdSource;
  /** How long a batch may wait for the owner's write lock before its messages are refused (451). */
  lockWaitMs?: number;
}

export interface QueueWriter {
  /** Whether this writer commits a message of this size (else the owner does). */
  fits(size: number): boolean;
  /** Durable before it resolves, as QueueStore.enqueue. */
  write(msg: NewMessage): Promise<WrittenMessage>;
  /** After the last write settled. */
  close(): Promise<void>;
}

interface Pending {
  msg: NewMessage;
  queued: QueuedMessage;
  metaJson: string;
}

const DEFAULT_LOCK_WAIT_MS = 5000;

export function openQueueWriter(opts: QueueWriterOptions): QueueWriter {
  return new ThreadQueueWriter(opts);
}

class ThreadQueueWriter implements QueueWriter {
  private readonly db: Database.Database;
  private readonly wal: WalSync;
  private readonly inserts: MessageInserts;
  private readonly committer: GroupCommitter<Pending, WrittenMessage>;
  private readonly clock: () => number;
  private readonly ids: IdSource;
  private closing = false;

  constructor(private readonly opts: QueueWriterOptions) {
    this.clock = opts.clock ?? Date.now;
    this.ids = opts.ids ?? createQueueIdSource(this.clock);
    // The owner created and migrated the database; a writer never does.
    this.db = new Database(join(opts.info.dir, 'queue.db'), { fileMustExist: true });
    try {
      this.db.pragma('busy_timeout = 0');
      if (this.db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error('queue database is not in WAL mode');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('wal_autocheckpoint = 0');
      // Its page cache is dropped whenever the owner writes (SQLite sees the WAL changed): keep it small.
      this.db.pragma('cache_size = -512');
      this.inserts = prepareInserts(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.wal = new WalSync(join(opts.info.dir, 'queue.db-wal'));
    this.committer = createGroupCommitter((batch) => this.commitBatch(batch));
  }

  fits(size: number): boolean {
    return size <= this.opts.info.inlineBodyMaxBytes;
  }

  write(msg: NewMessage): Promise<WrittenMessage> {
    if (this.closing) return Promise.reject(new Error('queue writer is closed'));
    if (!this.fits(msg.body.length)) return Promise.reject(new RangeError('body too large for the thread writer'));
    let metaJson: string;
    let queued: QueuedMessage;
    try {
      metaJson = checkNewMessage(msg);
      queued = queuedRecord(msg, this.ids(), this.clock());
    } catch (err) {
      return Promise.reject(err);
    }
    return this.committer.submit({ msg, queued, metaJson });
  }

  private async commitBatch(batch: Pending[]): Promise<WrittenMessage[]> {
    const written = await this.insertWhenFree(batch);
    // Durable before anyone is answered (as the owner's commits: a failed sync is a 451, the rows stay).
    await this.wal.sync(this.opts.syncInline?.() ?? false);
    return written;
  }

  /** One IMMEDIATE transaction for the batch, retried on later turns while the owner holds the lock. */
  private async insertWhenFree(batch: Pending[]): Promise<WrittenMessage[]> {
    const { epoch, leaseMs } = this.opts.info;
    const insert = this.db.transaction(() =>
      batch.map(({ msg, queued: q, metaJson }): WrittenMessage => {
        this.inserts.message(q, metaJson, true, msg.body);
        const until = q.queuedAt + leaseMs;
        const rows = msg.recipients.map((recipient) => ({ id: this.inserts.leased(q.queueId, recipient, q.queuedAt, until, epoch), recipient }));
        return { queued: q, rows, leaseUntil: until };
      }),
    );
    const deadline = Date.now() + (this.opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    for (let tries = 0; ; tries++) {
      try {
        return insert.immediate();
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      }
      // The owner's commits take a fraction of a millisecond: the next turn first, then 1 ms steps.
      await new Promise<void>((resolve) => (tries === 0 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Batches still waiting for the lock finish first (or fail by their deadline).
    await this.committer.idle();
    this.wal.close();
    this.db.close();
  }
}
