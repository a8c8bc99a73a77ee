// The counting sink: Postfix's smtp-sink (C, discards mail) with -c, whose running counters
// ("sess=S quit=Q mesg=M", updated at every final dot and session end) we read from its stdout.
// `sess` counts finished sessions, i.e. the connections the last hop opened (pool reuse shows here).
import { readdirSync } from 'node:fs';
import { spawnTracked, stopChild, waitPort, sleep } from './proc.mjs';

export async function startSink(host, port) {
  const child = spawnTracked('smtp-sink', ['-u', 'nobody', '-4', '-c', '-m', '1024', `${host}:${port}`, '1024'], { stdout: 'pipe' });
  const state = { messages: 0, sessions: 0, child };
  let tail = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (d) => {
    tail = (tail + d).slice(-200);
    const all = [...tail.matchAll(/sess=(\d+) quit=\d+ mesg=(\d+)/g)];
    const last = all[all.length - 1];
    if (last) {
      state.sessions = Number(last[1]);
      state.messages = Number(last[2]);
    }
  });
  await waitPort(host, port, 10_000);
  // the probe connection of waitPort is a session too; remember it to subtract
  await sleep(50);
  state.baseSessions = state.sessions;
  return {
    count: () => state.messages,
    sessions: () => state.sessions - state.baseSessions,
    stop: () => stopChild(child, 3000),
  };
}

/** A Maildir `new/` directory as a counter (mailflow and Postfix deliver there). */
export function maildirCounter(dirFn) {
  return {
    count() {
      try {
        return readdirSync(dirFn()).length;
      } catch {
        return 0;
      }
    },
    sessions: () => null,
    stop: async () => {},
  };
}

/**
 * Polls `count()` until it reaches target; returns the time it did (ms, performance.now clock), or
 * null when nothing arrived for stallMs (whatever is missing then counts as lost).
 */
export async function waitCount(counter, target, { stallMs = 20_000, pollMs = 20 } = {}) {
  let last = counter.count();
  let lastChange = performance.now();
  for (;;) {
    const c = counter.count();
    if (c >= target) return performance.now();
    if (c !== last) {
      last = c;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > stallMs) return null;
    await sleep(pollMs);
  }
}
