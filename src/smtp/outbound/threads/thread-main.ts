// The body of an SMTP client thread: nodemailer sessions and the connection pool, SendRequests from
// the role's event loop (one or a batch per post; see threaded-sender.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { createSmtpSender } from '../client.js';
import type { SendRequest, SendResult } from '../types.js';
import { asBuffer } from '../../../util/as-buffer.js';

export type In = { id: number; req: SendRequest } | { id: number; close: true };
/** The answer to one request. */
export type Reply1 = { id: number; ok: true; result?: SendResult } | { id: number; ok: false; error: string };
export type Out = Reply1 | { batch: Reply1[] } | { log: 'warn'; obj: object; msg?: string };

const port = parentPort!;
const sender = createSmtpSender({
  maxPerHost: (workerData as { maxPerHost?: number } | null)?.maxPerHost,
  logger: {
    debug() {},
    warn: (obj, msg) => port.postMessage({ log: 'warn', obj: JSON.parse(JSON.stringify(obj)), msg } satisfies Out),
  },
});

// Answers settled in one turn leave in one postMessage, as the requests come (threaded-sender.ts).
let outbox: Reply1[] = [];
const flush = () => {
  const batch = outbox;
  outbox = [];
  if (batch.length) port.postMessage((batch.length === 1 ? batch[0] : { batch }) satisfies Out);
};
const answer = (r: Reply1) => {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(r);
};

const handle = (m: In) => {
  if ('close' in m) {
    void sender.close().then(() => answer({ id: m.id, ok: true }));
    return;
  }
  sender.send({ ...m.req, body: asBuffer(m.req.body) }).then(
    (result) => answer({ id: m.id, ok: true, result }),
    (err: Error) => answer({ id: m.id, ok: false, error: err?.message ?? String(err) }),
  );
};

port.on('message', (m: In | { batch: In[] }) => {
  if ('batch' in m) for (const one of m.batch) handle(one);
  else handle(m);
});
