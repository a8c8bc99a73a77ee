// The process's session thread: every role's SMTP listener, its policy and its filters run here;
// the queues and the trace stay on the roles' event loop, which commits what this thread posts and
// answers with the queue ids (listener.ts); a session hears 250 only then. What one turn of this
// thread's loop produces goes out in one post, so at 20 sessions several messages travel together.
import { parentPort } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import type { NewMessage, QueuedMessage } from '../../queue/types.js';
import { createInboundServer } from '../../smtp/inbound/server.js';
import type { InboundServer } from '../../smtp/inbound/types.js';
import type { TraceEvent } from '../../trace/types.js';
import { createFilterStage, type FilterStage } from '../filtering.js';
import { createRolePolicy } from '../policy.js';
import { roleFilterThreads, roleResolver } from '../role-resolver.js';
import type { Enqueue, ListenerData, ToRole, ToThread } from './protocol.js';

const port = parentPort!;

let out: { enqueues: Enqueue[]; traces: { lid: number; event: TraceEvent }[]; transfer: ArrayBuffer[] } | null = null;
let soon: NodeJS.Immediate | null = null;
const outbox = () => {
  out ??= { enqueues: [], traces: [], transfer: [] };
  soon ??= setImmediate(flush);
  return out;
};
function flush() {
  if (soon) clearImmediate(soon);
  soon = null;
  const o = out;
  out = null;
  if (o) port.postMessage({ op: 'batch', enqueues: o.enqueues, traces: o.traces } satisfies ToRole, o.transfer);
}
const post = (m: ToRole) => {
  flush(); // what the listener produced goes first
  port.postMessage(m);
};

let nextId = 1;
const waiting = new Map<number, { resolve(q: QueuedMessage): void; reject(e: Error): void }>();
const commitVia = (lid: number) => (input: NewMessage, receipts: TraceEvent[]) =>
  new Promise<QueuedMessage>((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    // Moved, not cloned, as a copy of its own: a Buffer's memory may be shared (Node's pool, slices).
    const body = new Uint8Array(input.body);
    const o = outbox();
    o.enqueues.push({ id, lid, input: { ...input, body: body as Buffer }, receipts });
    o.transfer.push(body.buffer);
  });

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

const listeners = new Map<number, { server: InboundServer; filter: FilterStage }>();

function open(lid: number, d: ListenerData) {
  const { config, role, hostname } = d;
  const filter = createFilterStage({ config, baseDir: d.baseDir, role, hostname, dataDir: d.dataDir, resolver: roleResolver(config), threads: roleFilterThreads(config, role) });
  const connections = new Int32Array(d.connections);
  const server = createInboundServer({
    hostname,
    host: d.host,
    port: d.port,
    tls: d.tls,
    requestClientCert: true,
    limits: config.limits,
    greetingDelay: d.greetingDelay,
    role,
    logger: d.logLevel ? loggerAt(d.logLevel) : undefined,
    policy: createRolePolicy({ config, role, hostname, commit: commitVia(lid), trace: { record: (event) => void outbox().traces.push({ lid, event }) }, clock: Date.now, filter }),
    onConnectionCount: (n) => Atomics.store(connections, 0, n),
  });
  server.listen().then(
    (a) => {
      listeners.set(lid, { server, filter });
      post({ op: 'listening', lid, host: a.host, port: a.port });
    },
    (err: Error) => {
      filter.close();
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
  }
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
