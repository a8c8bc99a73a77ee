// The trace store: one SQLite file per role, WAL, synchronous=NORMAL. Trace is diagnostics; the queue
// is what must survive power loss, so trace commits are not fsynced (they do survive a process crash).
// Events are inserted in batches (batcher.ts): one transaction per FLUSH_MS at most.
// Measured with test/trace/bench/record-bench.ts (2 cores, busy machine), events per second:
//   events per turn    1 transaction each    1 per turn
//   1                  ~1,700-2,600          ~2,500-3,200
//   5                  ~3,400-3,800          ~7,000-9,300
//   50                 ~3,200-3,800          ~11,000-13,900
// A relay records several events per message per turn, so batching is worth it. Queries and close()
// insert what is pending first, so a caller always reads its own writes.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TraceEvent, TraceEventType, TraceQuery, TraceStore } from './types.js';
import { EventBatcher } from './batcher.js';

export interface TraceStoreOptions {
  file: string;
  /** false: one transaction per record() (the measured baseline). */
  batch?: boolean;
}

const DDL = `
CREATE TABLE IF NOT EXISTS events (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  role       TEXT NOT NULL,
  type       TEXT NOT NULL,
  message_id TEXT NOT NULL,
  queue_id   TEXT,
  sender     TEXT,
  recipient  TEXT,
  connector  TEXT,
  host       TEXT,
  reply      TEXT,
  reason     TEXT,
  data       TEXT
);
CREATE INDEX IF NOT EXISTS events_message_id ON events(message_id);
CREATE INDEX IF NOT EXISTS events_sender ON events(sender COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS events_recipient ON events(recipient COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
`;

interface EventRow {
  at: number;
  role: string;
  type: TraceEventType;
  message_id: string;
  queue_id: string | null;
  sender: string | null;
  recipient: string | null;
  connector: string | null;
  host: string | null;
  reply: string | null;
  reason: string | null;
  data: string | null;
}

export function openTraceStore(opts: TraceStoreOptions): TraceStore {
  return new SqliteTrace(opts);
}

/** The trace database, created if needed, on a connection of this thread. */
export function openTraceDb(file: string): Database.Database {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Rare checkpoints: each is a synchronous copy and fsync on the event loop (as in the queue).
    db.pragma('wal_autocheckpoint = 10000');
    db.exec(DDL);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Inserts events in one transaction (the statement is prepared once per connection). */
export function eventInserter(db: Database.Database): (events: TraceEvent[]) => void {
  const insert = db.prepare(
    `INSERT INTO events(at, role, type, message_id, queue_id, sender, recipient, connector, host, reply, reason, data)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
  );
  const one = (e: TraceEvent) =>
    insert.run(
      e.at,
      e.role,
      e.type,
      e.messageId,
      e.queueId ?? null,
      e.sender ?? null,
      e.recipient ?? null,
      e.connector ?? null,
      e.host ?? null,
      e.reply ?? null,
      e.reason ?? null,
      e.data === undefined ? null : JSON.stringify(e.data),
    );
  const many = db.transaction((events: TraceEvent[]) => {
    for (const e of events) one(e);
  });
  return (events) => (events.length === 1 ? one(events[0]!) : many(events));
}

class SqliteTrace implements TraceStore {
  private readonly db: Database.Database;
  private readonly insertMany: (events: TraceEvent[]) => void;
  private readonly batch: boolean;
  private readonly batcher: EventBatcher;

  constructor(opts: TraceStoreOptions) {
    this.db = openTraceDb(opts.file);
    this.batch = opts.batch ?? true;
    this.insertMany = eventInserter(this.db);
    this.batcher = new EventBatcher((events) => this.insertMany(events));
  }

  record(event: TraceEvent): void {
    if (this.batch) this.batcher.add(event);
    else this.insertMany([event]);
  }

  flush(): void {
    this.batcher.flush();
  }

  query(q: TraceQuery): TraceEvent[] {
    this.flush();
    return queryEvents(this.db, q);
  }

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }
}

/** Events matching `q`, oldest first. */
export function queryEvents(db: Database.Database, q: TraceQuery): TraceEvent[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.messageId !== undefined) {
      where.push('message_id = ?');
      params.push(q.messageId);
    }
    if (q.sender !== undefined) {
      where.push('sender = ? COLLATE NOCASE');
      params.push(q.sender);
    }
    if (q.recipient !== undefined) {
      where.push('recipient = ? COLLATE NOCASE');
      params.push(q.recipient);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      params.push(q.since);
    }
    const limit = q.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const rows = db
      .prepare(`SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY at, id LIMIT ${limit}`)
      .all(...params) as EventRow[];
    return rows.map(toEvent);
}

function toEvent(r: EventRow): TraceEvent {
  const e: TraceEvent = { at: r.at, role: r.role, type: r.type, messageId: r.message_id };
  if (r.queue_id !== null) e.queueId = r.queue_id;
  if (r.sender !== null) e.sender = r.sender;
  if (r.recipient !== null) e.recipient = r.recipient;
  if (r.connector !== null) e.connector = r.connector;
  if (r.host !== null) e.host = r.host;
  if (r.reply !== null) e.reply = r.reply;
  if (r.reason !== null) e.reason = r.reason;
  if (r.data !== null) e.data = JSON.parse(r.data) as Record<string, unknown>;
  return e;
}
