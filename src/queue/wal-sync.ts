// Making a committed SQLite transaction durable off the event loop. better-sqlite3 is synchronous:
// with synchronous=FULL the WAL fsync runs inside COMMIT on the main thread, and under load that
// stall was 40 % of the relay's CPU profile (bench/README.md), with no connection served meanwhile.
// Instead the batch commits with synchronous=NORMAL (the frames are written, not synced) and we
// fdatasync the WAL file on libuv's thread pool before any caller hears "done". fsync works per
// inode, so our own descriptor flushes the frames SQLite wrote. What else can touch the WAL in
// between is covered by SQLite itself under NORMAL: a checkpoint syncs the WAL before copying and the
// database before the WAL may restart, and a restarted WAL header is synced before frames follow it.
// `sync(true)` calls fdatasync on this thread instead: for an event loop that serves no SMTP session
// (the session thread serves them) while few sessions are open, when the pool's two wake-ups cost more
// than the wait (bench/README.md, change 30).
import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync, constants } from 'node:fs';
import { dirname } from 'node:path';

const CHECK_MS = 1000;

/**
 * While at most this many SMTP sessions are open on the session thread, a queue commit fdatasyncs on
 * the thread that commits it: for a lone session the thread pool's two wake-ups were most of the sync.
 * With more, syncs go to the pool: under load one took 3-6 ms, and there syncs overlap while the
 * committing loop goes on (bench/README.md, change 30).
 */
export const INLINE_SYNC_MAX_SESSIONS = 2;

export class WalSync {
  private fd: number | null = null;
  private ino = -1;
  /** Syncs on the thread pool: the descriptor is closed only after them (a reused number would sync another file). */
  private inFlight = 0;
  private closing = false;
  private checkedAt = 0;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything written to the WAL so far is on stable storage. */
  sync(inline = false): Promise<void> {
    let fd: number;
    try {
      fd = this.current();
    } catch (err) {
      return Promise.reject(err);
    }
    if (inline) {
      try {
        fdatasyncSync(fd);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    this.inFlight++;
    return new Promise((resolve, reject) =>
      fdatasync(fd, (err) => {
        if (--this.inFlight === 0 && this.closing) this.release();
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.release();
  }

  private release(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Our descriptor, reopened if the WAL file was replaced (a descriptor of a deleted file syncs nothing). */
  private current(): number {
    // SQLite keeps the WAL file while a connection (ours) is open; the inode check is a guard, made
    // at most every CHECK_MS rather than on every commit (a stat per commit showed in the profile).
    const now = Date.now();
    if (this.fd !== null && !this.closing && now - this.checkedAt < CHECK_MS) return this.fd;
    this.checkedAt = now;
    const ino = statSync(this.walPath).ino;
    if (this.closing) throw new Error('queue is closed');
    if (this.fd !== null && ino === this.ino) return this.fd;
    if (this.inFlight === 0) this.release();
    // (else the old descriptor leaks until close: only when SQLite replaced the WAL, which it does not while open)
    this.fd = openSync(this.walPath, constants.O_RDONLY);
    this.ino = fstatSync(this.fd).ino;
    // A new WAL file's directory entry must be durable too.
    const dir = openSync(dirname(this.walPath), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.fd;
  }
}
