// A trace store whose inserts run on a writer thread. Under load the trace's SQLite transactions were
// about 3-4 % of the event loop that serves SMTP (bench/profile.mjs); the thread does them instead,
// and the event loop only posts each batch (batched as in sqlite-trace.ts: batcher.ts).
// One writer thread per process serves every role's store. Reads stay synchronous and see their own
// writes: query() and close() post what is pending and wait (Atomics.wait, bounded) until the writer
// has committed up to it, then read on this thread's own connection. Should the thread die, the
// store inserts on this thread from then on, starting with the batches the thread had not confirmed
// (one it committed just before dying may then be recorded twice: trace is diagnostics, and a
// duplicate line is better than a missing one).
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { eventInserter, openTraceDb, queryEvents } from './sqlite-trace.js';
import { EventBatcher } from './batcher.js';
import type { TraceEvent, TraceQuery, TraceStore } from './types.js';
import type { WriterNote, WriterRequest } from './writer-thread.js';

const ENTRY = new URL('./writer-thread.js', import.meta.url);
/** How long a read waits for the writer before it reads what is committed (never in normal operation). */
const SETTLE_MS = 5000;

interface Writer {
  worker: Worker | null;
  users: number;
  stores: Map<number, ThreadedTrace>;
}
let writer: Writer | null = null;
let nextId = 1;

function acquireWriter(): Writer {
  if (writer?.worker) {
    writer.users++;
    return writer;
  }
  const worker = new Worker(ENTRY);
  worker.unref(); // the roles' own handles keep the process alive, never the trace
  const w: Writer = { worker, users: 1, stores: new Map() };
  worker.on('message', (n: WriterNote) => {
    if (n.op === 'error') process.emitWarning(`trace writer: ${n.message}`, { code: 'MAILFLOW_TRACE' });
  });
  const gone = (why: string) => {
    if (!w.worker) return;
    w.worker = null;
    if (writer === w) writer = null;
    for (const s of w.stores.values()) s.writerGone(why);
  };
  worker.on('error', (err) => gone(err.message));
  worker.on('exit', (code) => gone(`exited with code ${code}`));
  writer = w;
  return w;
}

/** The process's writer thread, if one runs (tests, diagnostics). */
export function traceWriterThread(): Worker | null {
  return writer?.worker ?? null;
}

export function openThreadedTraceStore(file: string): TraceStore {
  return new ThreadedTrace(file);
}

class ThreadedTrace implements TraceStore {
  private readonly id = nextId++;
  /** This thread's connection: queries, and inserts if the writer is gone. Opening it creates the schema. */
  private readonly db: Database.Database;
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private posted = 0;
  /** Posted batches until the writer confirms them (replayed here if it dies first). */
  private unconfirmed: { seq: number; events: TraceEvent[] }[] = [];
  private writer: Writer | null;
  private insertHere: ((events: TraceEvent[]) => void) | null = null;
  private readonly batcher = new EventBatcher((events) => this.send(events));

  constructor(file: string) {
    this.db = openTraceDb(file);
    const w = acquireWriter();
    this.writer = w;
    w.stores.set(this.id, this);
    this.post({ op: 'open', id: this.id, file, done: this.done.buffer as SharedArrayBuffer });
  }

  record(event: TraceEvent): void {
    this.batcher.add(event);
  }

  flush(): void {
    this.batcher.flush();
  }

  private send(events: TraceEvent[]): void {
    if (!this.writer) return this.insertLocally(events);
    this.forgetConfirmed();
    const seq = ++this.posted;
    this.unconfirmed.push({ seq, events });
    this.post({ op: 'insert', id: this.id, seq, events });
  }

  query(q: TraceQuery): TraceEvent[] {
    this.flush();
    this.settle();
    this.forgetConfirmed();
    return queryEvents(this.db, q);
  }

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.settle();
    this.unconfirmed = [];
    const w = this.writer;
    this.writer = null;
    if (w) {
      w.stores.delete(this.id);
      this.post({ op: 'close', id: this.id }, w);
      if (--w.users === 0) {
        this.post({ op: 'exit' }, w);
        if (writer === w) writer = null;
      }
    }
    this.db.close();
  }

  /** Called when the writer thread is gone: what it had not confirmed is inserted here, as is what follows. */
  writerGone(why: string): void {
    this.writer = null;
    this.forgetConfirmed();
    const replay = this.unconfirmed;
    this.unconfirmed = [];
    process.emitWarning(`trace writer thread gone (${why}); trace inserts continue on the main thread`, { code: 'MAILFLOW_TRACE' });
    for (const b of replay) this.insertLocally(b.events);
  }

  private forgetConfirmed(): void {
    const done = Atomics.load(this.done, 0);
    let i = 0;
    while (i < this.unconfirmed.length && this.unconfirmed[i]!.seq <= done) i++;
    if (i > 0) this.unconfirmed = this.unconfirmed.slice(i);
  }

  private insertLocally(events: TraceEvent[]): void {
    if (!this.db.open) return;
    this.insertHere ??= eventInserter(this.db);
    this.insertHere(events);
  }

  /** Waits until the writer has committed every batch posted so far (bounded by SETTLE_MS). */
  private settle(): void {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const seen = Atomics.load(this.done, 0);
      if (seen >= this.posted || !this.writer) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(this.done, 0, seen, left);
    }
  }

  private post(m: WriterRequest, w: Writer | null = this.writer): void {
    w?.worker?.postMessage(m);
  }
}
