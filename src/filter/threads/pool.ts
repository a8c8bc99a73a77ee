// Filter threads: the role's event loop hands each message's filtering (authentication, scanners,
// verdict, stamping) to a worker thread and awaits the answer, so SMTP sessions and the queue keep
// the main thread. Measured (bench/README.md): the filters were about a third of a gateway's CPU per
// message on its only thread. Threads start on first use; a thread that dies fails its requests
// (the client gets 451 and retries) and is replaced on the next request.
import { Worker } from 'node:worker_threads';
import { acquireShared, type SharedRegistry } from '../../util/shared.js';
import type { AuthResults } from '../authenticate.js';
import type { InboundFilterOutcome } from '../pipeline.js';
import { asBuffer, type AuthRequest, type FilterRequest, type Request, type Response, type ThreadDns } from './protocol.js';

const ENTRY = new URL('./thread-main.js', import.meta.url);

interface Slot {
  worker: Worker;
  inFlight: number;
}

interface Waiter {
  slot: Slot;
  resolve(r: Response): void;
  reject(err: Error): void;
}

export interface FilterThreads {
  filter(input: FilterRequest): Promise<InboundFilterOutcome>;
  authenticate(input: AuthRequest): Promise<AuthResults>;
  close(): Promise<void>;
}

export function createFilterThreads(opts: { threads: number; dns: ThreadDns }): FilterThreads {
  const slots: (Slot | null)[] = Array.from({ length: Math.max(1, opts.threads) }, () => null);
  const waiting = new Map<number, Waiter>();
  let nextId = 1;
  let closed = false;

  const failAll = (slot: Slot, err: Error) => {
    for (const [id, w] of waiting) {
      if (w.slot !== slot) continue;
      waiting.delete(id);
      w.reject(err);
    }
  };

  const start = (i: number): Slot => {
    const worker = new Worker(ENTRY, { workerData: opts.dns });
    const slot: Slot = { worker, inFlight: 0 };
    worker.unref(); // an idle thread never holds the process open
    worker.on('message', (res: Response) => {
      const w = waiting.get(res.id);
      if (!w) return;
      waiting.delete(res.id);
      if (--slot.inFlight === 0) worker.unref();
      w.resolve(res);
    });
    const gone = (err: Error) => {
      if (slots[i] === slot) slots[i] = null;
      failAll(slot, err);
    };
    worker.on('error', (err) => gone(new Error(`filter thread failed: ${err.message}`)));
    worker.on('exit', (code) => gone(new Error(`filter thread exited (code ${code})`)));
    slots[i] = slot;
    return slot;
  };

  /** The least busy thread, started if it is not running. */
  const pick = (): Slot => {
    let best = -1;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (!s) return start(i);
      if (best < 0 || s.inFlight < slots[best]!.inFlight) best = i;
    }
    return slots[best]!;
  };

  const call = (req: Omit<Request, 'id'>): Promise<Response> => {
    if (closed) return Promise.reject(new Error('filter threads are closed'));
    const slot = pick();
    const id = nextId++;
    return new Promise<Response>((resolve, reject) => {
      waiting.set(id, { slot, resolve, reject });
      if (slot.inFlight++ === 0) slot.worker.ref(); // work in flight keeps the process alive
      slot.worker.postMessage({ ...req, id } as Request);
    });
  };

  const unwrap = (res: Response): Response & { ok: true } => {
    if (!res.ok) throw new Error(`filter thread: ${res.error}`);
    return res;
  };

  return {
    async filter(input) {
      const res = unwrap(await call({ op: 'filter', input }));
      const out = res.result as InboundFilterOutcome;
      return { ...out, message: asBuffer(out.message) };
    },
    async authenticate(input) {
      return unwrap(await call({ op: 'auth', input })).result as AuthResults;
    },
    async close() {
      closed = true;
      const running = slots.filter((s): s is Slot => s !== null);
      slots.fill(null);
      await Promise.all(running.map((s) => s.worker.terminate()));
      for (const s of running) failAll(s, new Error('filter threads are closed'));
    },
  };
}

/**
 * One set of filter threads per process and DNS setting, shared by the roles `start` runs together
 * (each thread is a V8 isolate with its own copy of the filter modules: ~30 MB). Released by refcount.
 */
const shared: SharedRegistry<FilterThreads> = new Map();

export function sharedFilterThreads(opts: { threads: number; dns: ThreadDns }): FilterThreads {
  const h = acquireShared(shared, JSON.stringify(opts), () => createFilterThreads(opts));
  return {
    filter: (input) => h.value.filter(input),
    authenticate: (input) => h.value.authenticate(input),
    close: () => h.release(),
  };
}
