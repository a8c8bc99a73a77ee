// A role's inbound listener served by the process's session thread (thread-main.ts), shared by the
// roles `start` runs together (each thread is a V8 isolate with its own copy of the SMTP and filter
// modules: one, not one per role). The thread binds each role's address and runs its sessions,
// policy and filters, and commits fresh mail to the role's queue itself when the queue lets it
// (queue/thread-writer.ts); this side, on the roles' event loop, adopts what the thread committed
// for delivery, records its trace events, and commits the rest (large bodies) to the queue, answering
// with the queue ids. A session hears 250 only once its message is durable. Should the thread die,
// its sessions drop (none was answered 250 for a message not yet committed) and a new thread binds
// the same addresses a second later.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SqliteQueueStore } from '../../queue/sqlite-store.js';
import type { QueueStore } from '../../queue/types.js';
import type { InboundServer } from '../../smtp/inbound/types.js';
import type { TraceStore } from '../../trace/types.js';
import { asBuffer } from '../../util/as-buffer.js';
import { commitHere, type Commit } from '../policy.js';
import type { EnqueueResult, ListenerData, ToRole, ToThread } from './protocol.js';

const ENTRY = new URL('./thread-main.js', import.meta.url);
const RESTART_MS = 1000;
/**
 * The thread's young generation, below V8's default: three roles in one process peaked at ~300 MB
 * with the default and ~284 MB with 16 (bench, 3 hops at 20 sessions, 4500 messages).
 */
const YOUNG_GENERATION_MB = 16;
/** Beyond the sessions' grace: how long a closing listener may take to report before we stop waiting. */
const CLOSE_SLACK_MS = 5000;

export interface SessionListenerOptions {
  listener: Omit<ListenerData, 'connections' | 'queue'>;
  /** With `writerInfo` and `adopt`, the thread commits fresh mail itself and this side adopts it. */
  queue: Pick<QueueStore, 'enqueue'> & Partial<Pick<SqliteQueueStore, 'writerInfo' | 'adopt'>>;
  trace: Pick<TraceStore, 'record'>;
  /** Called after each message is committed (starts its delivery). */
  onQueued?: () => void;
  logger?: Logger;
}

interface Listener {
  lid: number;
  opts: SessionListenerOptions;
  commit: Commit;
  data: ListenerData;
  /** The thread's count of this listener's open sessions (shared memory). */
  count: Int32Array;
  log: Logger | undefined;
  /** Set once bound: a restarted thread binds the same address (port 0 resolved). */
  bound: { host: string; port: number } | null;
  listening: { resolve(a: { host: string; port: number }): void; reject(e: Error): void } | null;
  closed: (() => void) | null;
}

class SessionThread {
  private worker: Worker;
  private readonly listeners = new Map<number, Listener>();
  private results: EnqueueResult[] = [];
  private restartTimer: NodeJS.Timeout | null = null;

  constructor() {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = new Worker(ENTRY, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    worker.on('message', (m: ToRole) => this.onMessage(worker, m));
    worker.on('error', (err) => this.anyLog()?.error({ err: err.message, stack: err.stack }, 'session thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
    return worker;
  }

  private anyLog(): Logger | undefined {
    for (const l of this.listeners.values()) if (l.log) return l.log;
    return undefined;
  }

  open(l: Listener): Promise<{ host: string; port: number }> {
    this.listeners.set(l.lid, l);
    return new Promise((resolve, reject) => {
      l.listening = { resolve, reject };
      this.post({ op: 'open', lid: l.lid, data: l.bound ? { ...l.data, ...l.bound } : l.data });
    });
  }

  close(l: Listener, graceMs: number): Promise<void> {
    if (!this.listeners.has(l.lid)) return Promise.resolve();
    if (this.restartTimer) {
      // the thread is dead and its sessions with it: nothing to wait for
      this.listeners.delete(l.lid);
      if (this.listeners.size === 0) this.end();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        l.closed = null;
        this.listeners.delete(l.lid);
        resolve();
        if (this.listeners.size === 0) this.end();
      };
      l.closed = done;
      timer = setTimeout(done, graceMs + CLOSE_SLACK_MS);
      this.post({ op: 'close', lid: l.lid, graceMs });
    });
  }

  private post(m: ToThread) {
    this.worker.postMessage(m);
  }

  /** Answers go back once per turn of this loop: a group commit resolves many enqueues at once. */
  private answer(from: Worker, r: EnqueueResult) {
    // A thread that died meanwhile took its sessions along; its successor numbers its own requests.
    if (from !== this.worker) return;
    if (this.results.push(r) > 1) return;
    setImmediate(() => {
      const results = this.results;
      this.results = [];
      this.post({ op: 'results', results });
    });
  }

  private onMessage(from: Worker, m: ToRole) {
    switch (m.op) {
      case 'listening': {
        const l = this.listeners.get(m.lid);
        if (!l) return;
        l.bound = { host: m.host, port: m.port };
        l.listening?.resolve(l.bound);
        l.listening = null;
        return;
      }
      case 'failed': {
        const l = this.listeners.get(m.lid);
        if (!l) return;
        this.listeners.delete(m.lid);
        l.listening?.reject(new Error(m.message));
        l.listening = null;
        if (this.listeners.size === 0) this.end();
        return;
      }
      case 'closed':
        return this.listeners.get(m.lid)?.closed?.();
      case 'batch':
        for (const t of m.traces) this.listeners.get(t.lid)?.opts.trace.record(t.event);
        // Durable already (and answered 250), from this thread or one that died since: receipts first,
        // then delivery (see Commit in policy.ts). A listener gone meanwhile leaves its rows leased to
        // the queue's epoch: the SQL path delivers them when the lease ends, or the next start does.
        for (const { lid, message, body, receipts } of m.written) {
          const l = this.listeners.get(lid);
          if (!l?.opts.queue.adopt) continue;
          for (const e of receipts) l.opts.trace.record(e);
          l.opts.queue.adopt(message, asBuffer(body));
          l.opts.onQueued?.();
        }
        for (const { id, lid, input, receipts } of m.enqueues) {
          const l = this.listeners.get(lid);
          if (!l) {
            this.answer(from, { id, error: 'listener closed' });
            continue;
          }
          l.commit({ ...input, body: asBuffer(input.body) }, receipts).then(
            (queued) => this.answer(from, { id, queued }),
            (err: Error) => this.answer(from, { id, error: err.message }),
          );
        }
    }
  }

  private onExit(worker: Worker, code: number) {
    if (worker !== this.worker) return;
    for (const l of this.listeners.values()) {
      Atomics.store(l.count, 0, 0);
      l.closed?.();
      if (l.listening) {
        this.listeners.delete(l.lid);
        l.listening.reject(new Error(`session thread exited (code ${code}) before listening`));
        l.listening = null;
      }
    }
    if (this.listeners.size === 0) {
      if (thread === this) thread = null;
      return;
    }
    this.anyLog()?.error({ code }, `session thread exited; listening again in ${RESTART_MS} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.listeners.size === 0) return;
      this.worker = this.spawn();
      for (const l of this.listeners.values()) {
        this.open(l).catch((err: Error) => l.log?.error({ err: err.message }, 'could not listen again'));
      }
    }, RESTART_MS);
  }

  private end() {
    if (thread === this) thread = null;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    void this.worker.terminate();
  }

  /** Sessions open on every listener of this thread. */
  sessions(): number {
    let n = 0;
    for (const l of this.listeners.values()) n += Atomics.load(l.count, 0);
    return n;
  }

  /** For tests: the running thread. */
  get current(): Worker {
    return this.worker;
  }
}

/** The queue's terms for the thread to commit to it (none: the thread posts every message here). */
function threadWriterInfo(queue: SessionListenerOptions['queue']): ListenerData['queue'] {
  if (!queue.adopt) return undefined;
  return queue.writerInfo?.() ?? undefined;
}

let thread: SessionThread | null = null;
let nextLid = 1;

/** SMTP sessions open on the process's session thread, all its roles together. */
export function openSessions(): number {
  return thread?.sessions() ?? 0;
}

/** The process's session thread, if one runs (tests, diagnostics). */
export function sessionThreadWorker(): Worker | null {
  return thread?.current ?? null;
}

export function createThreadedListener(opts: SessionListenerOptions): InboundServer {
  const connections = new Int32Array(new SharedArrayBuffer(4));
  const l: Listener = {
    lid: nextLid++,
    opts,
    commit: commitHere(opts.queue, opts.trace, opts.onQueued),
    data: {
      ...opts.listener,
      connections: connections.buffer as SharedArrayBuffer,
      queue: opts.listener.config.inbound.threadCommit ? threadWriterInfo(opts.queue) : undefined,
    },
    count: connections,
    log: opts.logger?.child({ role: opts.listener.role, component: 'session-thread' }),
    bound: null,
    listening: null,
    closed: null,
  };
  let owner: SessionThread | null = null;
  return {
    async listen() {
      owner = thread ??= new SessionThread();
      return owner.open(l);
    },
    async close(graceMs = 10_000) {
      await owner?.close(l, graceMs);
      owner = null;
    },
    connections: () => Atomics.load(connections, 0),
  };
}
