// The body of an SMTP client thread: nodemailer sessions and the connection pool, one SendRequest at
// a time per message from the role's event loop (see threaded-sender.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { createSmtpSender } from '../client.js';
import type { SendRequest, SendResult } from '../types.js';
import { asBuffer } from '../../../util/as-buffer.js';

type In = { id: number; req: SendRequest } | { id: number; close: true };
export type Out = { id: number; ok: true; result?: SendResult } | { id: number; ok: false; error: string } | { log: 'warn'; obj: object; msg?: string };

const port = parentPort!;
const sender = createSmtpSender({
  maxPerHost: (workerData as { maxPerHost?: number } | null)?.maxPerHost,
  logger: {
    debug() {},
    warn: (obj, msg) => port.postMessage({ log: 'warn', obj: JSON.parse(JSON.stringify(obj)), msg } satisfies Out),
  },
});

port.on('message', (m: In) => {
  if ('close' in m) {
    void sender.close().then(() => port.postMessage({ id: m.id, ok: true } satisfies Out));
    return;
  }
  sender.send({ ...m.req, body: asBuffer(m.req.body) }).then(
    (result) => port.postMessage({ id: m.id, ok: true, result } satisfies Out),
    (err: Error) => port.postMessage({ id: m.id, ok: false, error: err?.message ?? String(err) } satisfies Out),
  );
});
