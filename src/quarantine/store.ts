// A role's quarantine: held messages under <dataDir>/quarantine, one fsynced .eml file each plus a
// SQLite index (WAL). A message is written (file, then index row) before the role answers 250 or
// 550, so a crash never loses a held message; a file without a row is removed on open.
// Status: held → releasing (a release is being delivered) → released; or held → deleted.
// The row stays after release/delete (file removed on delete) so the history can be shown.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type QuarantineStatus = 'held' | 'releasing' | 'released' | 'deleted';

export interface QuarantineEntry {
  id: string;
  at: number;
  messageId: string;
  sender: string;
  recipients: string[];
  reason: string;
  /** The verdict as recorded (action, score, reasons ...). */
  verdict: unknown;
  size: number;
  status: QuarantineStatus;
  /** When and how the last status change happened (release reply, who deleted). */
  changedAt: number | null;
  note: string | null;
}

export interface QuarantineAdd {
  messageId: string;
  sender: string;
  recipients: string[];
  reason: string;
  verdict: unknown;
  body: Buffer;
}

export type ReleaseStart = { kind: 'ok'; entry: QuarantineEntry; body: Buffer } | { kind: 'not-found' } | { kind: 'not-held'; status: QuarantineStatus };

export interface QuarantineStore {
  readonly dir: string;
  add(item: QuarantineAdd): QuarantineEntry;
  list(opts?: { status?: QuarantineStatus | 'all'; limit?: number }): QuarantineEntry[];
  get(id: string): { entry: QuarantineEntry; body: Buffer | null } | undefined;
  /** Marks the message `releasing` and returns it for re-injection. */
  beginRelease(id: string): ReleaseStart;
  /** After the receiving role answered 250: `released`. */
  markReleased(id: string, note: string): void;
  /** Re-injection failed: back to `held`, with why. */
  abortRelease(id: string, note: string): void;
  /**
   * Held → released in one step, returning the message (for callers that re-inject themselves and
   * cannot fail, e.g. straight into a queue). The CLI uses beginRelease/markReleased instead.
   */
  release(id: string, note?: string): ReleaseStart;
  /** True while a release of `id` is under way: what lets the role skip filtering a released message. */
  isReleasing(id: string): boolean;
  delete(id: string, note?: string): boolean;
  close(): void;
}

interface Row {
  id: string;
  at: number;
  message_id: string;
  sender: string;
  recipients: string;
  reason: string;
  verdict: string;
  size: number;
  status: QuarantineStatus;
  changed_at: number | null;
  note: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS quarantine (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipients TEXT NOT NULL,
  reason TEXT NOT NULL,
  verdict TEXT NOT NULL,
  size INTEGER NOT NULL,
  status TEXT NOT NULL,
  changed_at INTEGER,
  note TEXT
);
CREATE INDEX IF NOT EXISTS quarantine_status ON quarantine(status, at);
`;

const ID = /^[a-z0-9]{12,32}$/;

export function openQuarantine(opts: { dir: string; clock?: () => number }): QuarantineStore {
  const dir = opts.dir;
  const clock = opts.clock ?? Date.now;
  const msgDir = join(dir, 'messages');
  mkdirSync(msgDir, { recursive: true });
  const db = new Database(join(dir, 'index.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const fileOf = (id: string) => join(msgDir, `${id}.eml`);

  // Files without a row (crash between file and row) and stray temporaries are not held mail.
  const known = new Set((db.prepare('SELECT id FROM quarantine').all() as { id: string }[]).map((r) => r.id));
  for (const name of readdirSync(msgDir)) {
    const id = name.replace(/\.eml$/, '');
    if (name.startsWith('.tmp-') || (name.endsWith('.eml') && !known.has(id))) unlinkSync(join(msgDir, name));
  }

  const toEntry = (r: Row): QuarantineEntry => ({
    id: r.id,
    at: r.at,
    messageId: r.message_id,
    sender: r.sender,
    recipients: JSON.parse(r.recipients) as string[],
    reason: r.reason,
    verdict: JSON.parse(r.verdict) as unknown,
    size: r.size,
    status: r.status,
    changedAt: r.changed_at,
    note: r.note,
  });
  const getRow = db.prepare('SELECT * FROM quarantine WHERE id = ?');
  const setStatus = db.prepare('UPDATE quarantine SET status = ?, changed_at = ?, note = ? WHERE id = ?');
  const row = (id: string) => (ID.test(id) ? (getRow.get(id) as Row | undefined) : undefined);

  function writeDurably(id: string, body: Buffer): void {
    const tmp = join(msgDir, `.tmp-${id}`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < body.length) off += writeSync(fd, body, off, body.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, fileOf(id));
    const dfd = openSync(msgDir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  const beginRelease = (id: string): ReleaseStart => {
    const r = row(id);
    if (!r) return { kind: 'not-found' };
    if (r.status !== 'held') return { kind: 'not-held', status: r.status };
    const body = readFileSync(fileOf(id));
    setStatus.run('releasing', clock(), 'release started', id);
    return { kind: 'ok', entry: toEntry({ ...r, status: 'releasing' }), body };
  };

  return {
    dir,
    add(item) {
      const id = `q${clock().toString(36)}${randomBytes(5).toString('hex')}`;
      writeDurably(id, item.body);
      const at = clock();
      db.prepare('INSERT INTO quarantine (id, at, message_id, sender, recipients, reason, verdict, size, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        id,
        at,
        item.messageId,
        item.sender,
        JSON.stringify(item.recipients),
        item.reason,
        JSON.stringify(item.verdict ?? null),
        item.body.length,
        'held',
      );
      return toEntry(getRow.get(id) as Row);
    },
    list(o = {}) {
      const limit = Math.max(1, Math.min(o.limit ?? 1000, 100_000));
      const status = o.status ?? 'held';
      const rows = (status === 'all' ? db.prepare('SELECT * FROM quarantine ORDER BY at, id LIMIT ?').all(limit) : db.prepare('SELECT * FROM quarantine WHERE status = ? ORDER BY at, id LIMIT ?').all(status, limit)) as Row[];
      return rows.map(toEntry);
    },
    get(id) {
      const r = row(id);
      if (!r) return undefined;
      let body: Buffer | null = null;
      try {
        body = readFileSync(fileOf(id));
      } catch {
        body = null; // deleted
      }
      return { entry: toEntry(r), body };
    },
    beginRelease,
    markReleased(id, note) {
      setStatus.run('released', clock(), note, id);
    },
    abortRelease(id, note) {
      const r = row(id);
      if (r?.status === 'releasing') setStatus.run('held', clock(), note, id);
    },
    release(id, note = 'released') {
      const r = beginRelease(id);
      if (r.kind === 'ok') {
        setStatus.run('released', clock(), note, id);
        r.entry.status = 'released';
      }
      return r;
    },
    isReleasing(id) {
      return row(id)?.status === 'releasing';
    },
    delete(id, note = 'deleted') {
      const r = row(id);
      if (!r || r.status === 'deleted') return false;
      setStatus.run('deleted', clock(), note, id);
      try {
        unlinkSync(fileOf(id));
      } catch {
        /* already gone */
      }
      return true;
    },
    close() {
      db.close();
    },
  };
}
