// The process's session thread: every role's SMTP listener, its policy and its filters run here.
// Fresh mail is committed here, to the role's queue database through this thread's own connection
// (queue/thread-writer.ts), and posted to the roles' event loop, which owns the queue and delivers it;
// a session hears 250 once its message is durable. Large bodies (spool files), and queues this process
// does not own, go to the event loop to commit, which answers with the queue ids (listener.ts). What
// one turn of this thread's loop produces goes out in one post, so at 20 sessions several messages
// travel together.
import { parentPort } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { openQueueWriter, type QueueWriter } from '../../queue/thread-writer.js';
import type { NewMessage, QueuedMessage } from '../../queue/types.js';
import { INLINE_SYNC_MAX_SESSIONS } from '../../queue/wal-sync.js';
import { createInboundServer } from '../../smtp/inbound/server.js';
import type { InboundServer } from '../../smtp/inbound/types.js';
import type { TraceEvent } from '../../trace/types.js';
import { createFilterStage, type FilterStage } from '../filtering.js';
import { createRolePolicy, type Commit } from '../policy.js';
import { roleFilterThreads, roleResolver } from '../role-resolver.js';
import type { Enqueue, ListenerData, ToRole, ToThread, Written } from './protocol.js';

const port = parentPort!;

let out: { enqueues: Enqueue[]; written: Written[]; traces: { lid: number; event: TraceEvent }[]; transfer: ArrayBuffer[] } | null = null;
let soon: NodeJS.Immediate | null = null;
const outbox = () => {
  out ??= { enqueues: [], written: [], traces: [], transfer: [] };
  soon ??= setImmediate(flush);
  return out;
};
function flush() {
  if (soon) clearImmediate(soon);
  soon = null;
  const o = out;
  out = null;
  if (o) port.postMessage({ op: 'batch', enqueues: o.enqueues, written: o.written, traces: o.traces } satisfies ToRole, o.transfer);
}
const post = (m: ToRole) => {
  flush(); // what the listener produced goes first
  port.postMessage(m);
};

/** A body for this turn's post: moved, not cloned, as a copy of its own (a Buffer's memory may be shared: Node's pool, slices). */
function movedBody(o: NonNullable<typeof out>, body: Buffer): Uint8Array {
  const copy = new Uint8Array(body);
  o.transfer.push(copy.buffer);
  return copy;
}

let nextId = 1;
const waiting = new Map<number, { resolve(q: QueuedMessage): void; reject(e: Error): void }>();
const commitVia = (lid: number) => (input: NewMessage, receipts: TraceEvent[]) =>
  new Promise<QueuedMessage>((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    const o = outbox();
    o.enqueues.push({ id, lid, input: { ...input, body: movedBody(o, input.body) as Buffer }, receipts });
  });

/**
 * Committed here while few sessions are open, when the writer takes the message; the role's loop
 * hears of it after it is durable. A lone session's dot then skips two thread crossings. Under load
 * the role's loop commits, as the session thread is the busier one: with it committing too, three
 * hops at 20 sessions ran 20-35 % slower (bench/README.md, change 31).
 */
const commitFor = (lid: number, writer: QueueWriter | null): Commit => {
  const via = commitVia(lid);
  if (!writer) return via;
  return async (input, receipts) => {
    if (!fewSessionsOpen() || !writer.fits(input.body.length)) return via(input, receipts);
    const message = await writer.write(input);
    const queueId = message.queued.queueId;
    const o = outbox();
    o.written.push({ lid, message, body: movedBody(o, input.body), receipts: receipts.map((e) => ({ ...e, queueId })) });
    return message.queued;
  };
};

/** Sessions open on every listener of this thread (the counters the roles read too). */
const counters = new Map<number, Int32Array>();
function sessionsOpen(): number {
  let n = 0;
  for (const c of counters.values()) n += Atomics.load(c, 0);
  return n;
}
// As on the roles' loop (role.ts): a lone session waits for its own sync anyway, so it runs here;
// with more, on the pool, and this loop serves the others meanwhile.
const fewSessionsOpen = () => sessionsOpen() <= INLINE_SYNC_MAX_SESSIONS;

// Logged like `mailflow start` logs: buffered, written off this loop, at most a second late.
let logDest: ReturnType<typeof pino.destination> | undefined;
const loggers = new Map<string, Logger>();
const loggerAt = (level: string): Logger => {
  if (!logDest) {
    logDest = pino.destination({ dest: 2, minLength: 8192, sync: false });
    setInterval(() => logDest!.flush(), 1000).unref();
  }
  let l = loggers.get(level);
  if (!l) loggers.set(level, (l = pino({ level }, logDest)));
  return l;
};
const flushLog = () => {
  try {
    logDest?.flushSync();
  } catch {
    /* nothing buffered, or still opening */
  }
};

const listeners = new Map<number, { server: InboundServer; filter: FilterStage; writer: QueueWriter | null }>();

function openWriter(d: ListenerData, log: Logger | undefined): QueueWriter | null {
  if (!d.queue) return null;
  try {
    return openQueueWriter({ info: d.queue, syncInline: fewSessionsOpen });
  } catch (err) {
    // Not fatal: the role's loop commits instead, as it does for large messages.
    log?.warn({ role: d.role, err: (err as Error).message }, 'session thread cannot write the queue; the role commits instead');
    return null;
  }
}

function open(lid: number, d: ListenerData) {
  const { config, role, hostname } = d;
  const log = d.logLevel ? loggerAt(d.logLevel) : undefined;
  const filter = createFilterStage({ config, baseDir: d.baseDir, role, hostname, dataDir: d.dataDir, resolver: roleResolver(config), threads: roleFilterThreads(config, role) });
  const writer = openWriter(d, log);
  const connections = new Int32Array(d.connections);
  counters.set(lid, connections);
  const server = createInboundServer({
    hostname,
    host: d.host,
    port: d.port,
    tls: d.tls,
    requestClientCert: true,
    limits: config.limits,
    greetingDelay: d.greetingDelay,
    role,
    logger: log,
    policy: createRolePolicy({ config, role, hostname, commit: commitFor(lid, writer), trace: { record: (event) => void outbox().traces.push({ lid, event }) }, clock: Date.now, filter }),
    onConnectionCount: (n) => Atomics.store(connections, 0, n),
  });
  server.listen().then(
    (a) => {
      listeners.set(lid, { server, filter, writer });
      post({ op: 'listening', lid, host: a.host, port: a.port });
    },
    async (err: Error) => {
      filter.close();
      counters.delete(lid);
      await writer?.close();
      post({ op: 'failed', lid, message: err.message });
    },
  );
}

async function close(lid: number, graceMs: number) {
  const l = listeners.get(lid);
  if (l) {
    listeners.delete(lid);
    // Sessions in flight finish first: their messages still reach the queue.
    await l.server.close(graceMs);
    l.filter.close();
    await l.writer?.close();
  }
  counters.delete(lid);
  flushLog();
  post({ op: 'closed', lid });
}

port.on('message', (m: ToThread) => {
  switch (m.op) {
    case 'results':
      for (const r of m.results) {
        const w = waiting.get(r.id);
        if (!w) continue;
        waiting.delete(r.id);
        if ('error' in r) w.reject(new Error(r.error));
        else w.resolve(r.queued);
      }
      return;
    case 'open':
      return open(m.lid, m.data);
    case 'close':
      return void close(m.lid, m.graceMs);
  }
});
