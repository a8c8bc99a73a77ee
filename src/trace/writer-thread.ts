// The trace writer thread (threaded-trace.ts): inserts the batches every trace store of the process
// posts, each into its own database, in the order posted, and publishes how far it has committed
// in the store's shared counter so a query can wait for its own writes.
import { parentPort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { eventInserter, openTraceDb } from './sqlite-trace.js';
import type { TraceEvent } from './types.js';

export type WriterRequest =
  | { op: 'open'; id: number; file: string; done: SharedArrayBuffer }
  | { op: 'insert'; id: number; seq: number; events: TraceEvent[] }
  | { op: 'close'; id: number }
  | { op: 'exit' };
export type WriterNote = { op: 'error'; id: number; message: string };

interface Store {
  db: Database.Database | null;
  insert: ((events: TraceEvent[]) => void) | null;
  done: Int32Array;
}

const stores = new Map<number, Store>();
const port = parentPort!;

function note(id: number, err: unknown): void {
  port.postMessage({ op: 'error', id, message: err instanceof Error ? err.message : String(err) } satisfies WriterNote);
}

port.on('message', (m: WriterRequest) => {
  switch (m.op) {
    case 'open': {
      const store: Store = { db: null, insert: null, done: new Int32Array(m.done) };
      stores.set(m.id, store);
      try {
        store.db = openTraceDb(m.file);
        store.insert = eventInserter(store.db);
      } catch (err) {
        note(m.id, err);
      }
      return;
    }
    case 'insert': {
      const store = stores.get(m.id);
      if (!store) return;
      try {
        store.insert?.(m.events);
      } catch (err) {
        // trace is diagnostics: the batch is lost, the store goes on (and says so)
        note(m.id, err);
      }
      // a waiting query is released even when the insert failed: it must never hang on the trace
      Atomics.store(store.done, 0, m.seq);
      Atomics.notify(store.done, 0);
      return;
    }
    case 'close': {
      const store = stores.get(m.id);
      stores.delete(m.id);
      try {
        store?.db?.close();
      } catch (err) {
        note(m.id, err);
      }
      return;
    }
    case 'exit':
      for (const s of stores.values()) s.db?.close();
      stores.clear();
      port.close();
  }
});
