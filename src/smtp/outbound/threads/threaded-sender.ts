// An SmtpSender whose SMTP client work (nodemailer, sockets, TLS, the pool) runs on a worker thread:
// outbound delivery was about a fifth of a relay's main thread (bench/README.md), and the listener's
// sessions and the queue need that thread. Same contract as createSmtpSender: remote trouble comes
// back as outcomes; a caller bug (bad request) rejects. A thread that dies defers what it held (the
// queue retries) and is started again on the next send.
import { Worker } from 'node:worker_threads';
import { acquireShared, type SharedRegistry } from '../../../util/shared.js';
import { deferAll } from '../classify.js';
import { reply } from '../../replies.js';
import type { SenderLogger } from '../client.js';
import type { SendRequest, SendResult, SmtpSender } from '../types.js';
import type { In, Out, Reply1 } from './thread-main.js';

const ENTRY = new URL('./thread-main.js', import.meta.url);

interface Waiter {
  req?: SendRequest;
  resolve(r: SendResult | undefined): void;
  reject(err: Error): void;
}

export function createThreadedSender(opts: { logger?: SenderLogger; maxPerHost?: number } = {}): SmtpSender {
  let worker: Worker | null = null;
  const waiting = new Map<number, Waiter>();
  let inFlight = 0;
  let nextId = 1;
  let closed = false;

  const settle = (w: Worker, m: Reply1) => {
    const waiter = waiting.get(m.id);
    if (!waiter) return;
    waiting.delete(m.id);
    if (--inFlight === 0) w.unref();
    if (m.ok) waiter.resolve(m.result);
    else waiter.reject(new Error(m.error));
  };

  const start = (): Worker => {
    const w = new Worker(ENTRY, { workerData: { maxPerHost: opts.maxPerHost } });
    w.unref();
    w.on('message', (m: Out) => {
      if ('log' in m) return void opts.logger?.warn(m.obj, m.msg);
      if ('batch' in m) {
        for (const one of m.batch) settle(w, one);
        return;
      }
      settle(w, m);
    });
    const gone = (why: string) => {
      if (worker === w) worker = null;
      inFlight = 0;
      for (const [id, waiter] of waiting) {
        waiting.delete(id);
        // Whether the next hop got it is unknown: deferred, so the queue tries again (at least once).
        if (waiter.req) waiter.resolve({ remote: `${waiter.req.target.host}:${waiter.req.target.port}`, tls: false, outcomes: deferAll(waiter.req.recipients, reply('LOCAL_ERROR', `SMTP client thread ${why}`)) });
        else waiter.resolve(undefined);
      }
    };
    w.on('error', (err) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited (code ${code})`));
    return (worker = w);
  };

  // Requests made in one turn of the event loop leave in one postMessage (a group commit hands its
  // messages to delivery together): each post costs a serialisation and a wake-up of the thread, and
  // those were ~3 % of the role's event loop at 20 sessions, one per message.
  let outbox: In[] = [];
  let outboxFor: Worker | null = null;
  const flush = () => {
    const w = outboxFor;
    const batch = outbox;
    outbox = [];
    outboxFor = null;
    if (!w || batch.length === 0) return;
    w.postMessage(batch.length === 1 ? batch[0] : { batch });
  };

  const call = (msg: { req: SendRequest } | { close: true }, req?: SendRequest): Promise<SendResult | undefined> => {
    const w = worker ?? start();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { req, resolve, reject });
      if (inFlight++ === 0) w.ref();
      // requests still waiting for a thread that has since died go to it first (a no-op: gone() has
      // already answered them), so a batch never mixes two threads
      if (outboxFor !== w) flush();
      if (outbox.length === 0) setImmediate(flush);
      outboxFor = w;
      outbox.push({ id, ...msg } as In);
    });
  };

  return {
    async send(req) {
      if (closed) return { remote: `${req.target.host}:${req.target.port}`, tls: false, outcomes: deferAll(req.recipients, reply('SHUTTING_DOWN')) };
      return (await call({ req }, req))!;
    },
    async close() {
      closed = true;
      const w = worker;
      if (!w) return;
      await call({ close: true }); // quit pooled connections politely
      worker = null;
      await w.terminate();
    },
  };
}

/**
 * The SMTP client thread of this process, shared by the roles `start` runs together (its pool keys
 * connections by local address and TLS identity, so roles never share a connection). Refcounted. The
 * roles of a process share one config, so the first caller's options are everyone's.
 */
const shared: SharedRegistry<SmtpSender> = new Map();

export function sharedThreadedSender(opts: { logger?: SenderLogger; maxPerHost?: number } = {}): SmtpSender {
  const h = acquireShared(shared, 'process', () => createThreadedSender(opts));
  return {
    send: (req) => h.value.send(req),
    close: () => h.release(),
  };
}
