// The latency client: what smtp-source does (a new connection per message, EHLO, MAIL, RCPT, DATA,
// a 5 KB message, QUIT; `sessions` of them in parallel), timing each final dot to its 250.
// smtp-source cannot report that, so throughput comes from smtp-source and latency from this.
import net from 'node:net';
import { run } from './proc.mjs';
import { PORT, SENDER } from './topology.mjs';

/**
 * Postfix's load generator: `count` messages of `size` bytes from the bench sender to `recipient`
 * over `sessions` parallel sessions, a new connection per message. Throws when it fails.
 */
export async function smtpSource({ host, recipient, count, sessions, size = 5120, timeoutMs = 300_000 }) {
  const r = await run('smtp-source', ['-4', '-l', String(size), '-m', String(count), '-s', String(sessions), '-f', SENDER, '-t', recipient, `${host}:${PORT}`], { timeoutMs });
  if (r.code !== 0) throw new Error(`smtp-source: ${(r.err || r.out || `exit ${r.code} ${r.signal ?? ''}`).trim().slice(0, 200)}`);
}

export function makeMessage(sender, recipient, size) {
  const head = `From: <${sender}>\r\nTo: <${recipient}>\r\nSubject: bench\r\nMessage-Id: <MSGID>\r\n\r\n`;
  const line = 'La La La La La La La La La La La La La La La La La La La La La La La La La La\r\n';
  let body = '';
  while (body.length + line.length <= size) body += line;
  body += 'x'.repeat(Math.max(0, size - body.length - 2)) + '\r\n';
  return { head, body };
}

/** One SMTP session over a socket, one reply at a time. */
function session(host, port, localAddress) {
  const sock = net.connect({ host, port, localAddress });
  sock.setNoDelay(true);
  let buf = '';
  let waiter = null;
  let failure = null;
  const tryReply = () => {
    if (!waiter) return;
    // a complete reply: lines until one with "NNN " (not "NNN-")
    let idx = 0;
    for (;;) {
      const nl = buf.indexOf('\n', idx);
      if (nl < 0) return;
      const line = buf.slice(idx, nl);
      idx = nl + 1;
      if (/^\d{3} /.test(line) || /^\d{3}$/.test(line.trim())) {
        const text = buf.slice(0, idx);
        buf = buf.slice(idx);
        const w = waiter;
        waiter = null;
        w.resolve({ code: Number(line.slice(0, 3)), text: text.trim() });
        return;
      }
    }
  };
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    tryReply();
  });
  const fail = (err) => {
    failure = err;
    if (waiter) {
      const w = waiter;
      waiter = null;
      w.reject(err);
    }
  };
  sock.on('error', fail);
  sock.on('close', () => fail(new Error('connection closed')));
  const reply = () =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiter = { resolve, reject };
      tryReply();
    });
  return {
    reply,
    write: (s) => sock.write(s),
    end: () => sock.end(),
    destroy: () => sock.destroy(),
  };
}

async function expect(s, code, what) {
  const r = await s.reply();
  if (r.code !== code) throw new Error(`${what}: expected ${code}, got ${r.text}`);
  return r;
}

/**
 * Sends `count` messages over `sessions` parallel workers. Returns the dot→250 latencies (ms) of the
 * accepted ones, how many were accepted and refused, and the wall time.
 */
export async function sendMessages({ host, port, sender, recipient, size = 5120, count, sessions, timeoutMs = 300_000 }) {
  const { head, body } = makeMessage(sender, recipient, size);
  const latencies = [];
  const dotAt = []; // when each latency sample's dot was sent (performance.now()), to line up slow ones with other events
  // Per-phase times (ms) of every accepted session: where a session's time goes, phase by phase.
  const phases = { connect: [], ehlo: [], mail: [], rcpt: [], data: [], dot: [], quit: [], session: [] };
  const errors = [];
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  const deadline = started + timeoutMs;
  async function one(i) {
    const tStart = performance.now();
    const s = session(host, port);
    const times = {};
    let last = tStart;
    const mark = (k) => {
      const now = performance.now();
      times[k] = now - last;
      last = now;
    };
    try {
      await expect(s, 220, 'greeting');
      mark('connect');
      s.write('EHLO loadgen.bench.test\r\n');
      await expect(s, 250, 'EHLO');
      mark('ehlo');
      s.write(`MAIL FROM:<${sender}>\r\n`);
      await expect(s, 250, 'MAIL');
      mark('mail');
      s.write(`RCPT TO:<${recipient}>\r\n`);
      await expect(s, 250, 'RCPT');
      mark('rcpt');
      s.write('DATA\r\n');
      await expect(s, 354, 'DATA');
      mark('data');
      s.write(head.replace('MSGID', `lat-${i}-${process.pid}@loadgen.bench.test`) + body);
      const t0 = performance.now();
      s.write('.\r\n');
      await expect(s, 250, 'final dot');
      latencies.push(performance.now() - t0);
      dotAt.push(t0);
      mark('dot');
      accepted++;
      s.write('QUIT\r\n');
      await s.reply().catch(() => {});
      mark('quit');
      times.session = performance.now() - tStart;
      for (const k of Object.keys(phases)) phases[k].push(times[k]);
    } finally {
      s.destroy();
    }
  }
  async function worker() {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      try {
        await one(i);
      } catch (err) {
        errors.push(String(err.message ?? err));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(sessions, count) }, worker));
  return { latencies, dotAt, phases, accepted, refused: count - accepted, errors: errors.slice(0, 5), seconds: (performance.now() - started) / 1000 };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
