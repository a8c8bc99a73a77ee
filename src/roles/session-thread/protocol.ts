// Messages between the roles' event loop and the process's session thread (listener.ts,
// thread-main.ts). One thread serves every role of the process, each role as one listener (`lid`).
import type { Config } from '../../config/schema.js';
import type { QueueWriterInfo, WrittenMessage } from '../../queue/thread-writer.js';
import type { NewMessage, QueuedMessage } from '../../queue/types.js';
import type { TraceEvent } from '../../trace/types.js';

export interface ListenerData {
  role: string;
  hostname: string;
  config: Config;
  baseDir: string;
  dataDir: string;
  host: string;
  port: number;
  tls: { key: string; cert: string; ca?: string };
  greetingDelay: number;
  /** pino level for this listener's log (to stderr, as `mailflow start` logs); absent: silent. */
  logLevel?: string;
  /** One Int32: the listener's open connections, read by `connections()` on the role's side. */
  connections: SharedArrayBuffer;
  /** Present: the thread commits fresh mail to the role's queue itself (queue/thread-writer.ts). */
  queue?: QueueWriterInfo;
}

/** A message to commit, and its RECEIVE events to record once it has its queue id. */
export type Enqueue = { id: number; lid: number; input: NewMessage; receipts: TraceEvent[] };

/** A message the thread committed itself, for the role to deliver, and its RECEIVE events (queue id filled in). */
export type Written = { lid: number; message: WrittenMessage; body: Uint8Array; receipts: TraceEvent[] };

export type ToRole =
  | { op: 'listening'; lid: number; host: string; port: number }
  | { op: 'failed'; lid: number; message: string }
  /** What one turn of the thread's loop produced: messages to commit, trace events to record. */
  | { op: 'batch'; enqueues: Enqueue[]; written: Written[]; traces: { lid: number; event: TraceEvent }[] }
  | { op: 'closed'; lid: number };

export type EnqueueResult = { id: number; queued: QueuedMessage } | { id: number; error: string };

export type ToThread =
  | { op: 'open'; lid: number; data: ListenerData }
  | { op: 'close'; lid: number; graceMs: number }
  | { op: 'results'; results: EnqueueResult[] };
