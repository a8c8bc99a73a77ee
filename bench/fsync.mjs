#!/usr/bin/env node
// Both sides fsync before they answer 250: count fsync/fdatasync calls per message under
// `strace -c -f`, attached to every thread/process of the side once it is up, during one small
// 1-hop run (smtp-source, 20 sessions). `node bench/fsync.mjs` (or `npm run bench -- --fsync`).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostfix, ensureStrace, createInstance, startInstance, stopInstance } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, waitCount } from './lib/sink.mjs';
import { ADDR, PORT, RELAY_RCPT } from './lib/topology.mjs';
import { smtpSource } from './lib/smtp-client.mjs';
import { startBenchDns } from './lib/dns.mjs';
import { descendants, killAllTracked, sleep, spawnTracked, stopChild } from './lib/proc.mjs';
import { straceCounts } from './lib/strace.mjs';

const M = Number(process.env.FSYNC_N ?? 1000);

function threadsOf(pids) {
  const out = [];
  for (const p of pids) {
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) out.push(Number(t));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** strace -c output → total calls of the traced syscalls. */
function parseSummary(text) {
  const per = [...straceCounts(text)].filter(([name]) => name === 'fsync' || name === 'fdatasync');
  const calls = per.reduce((a, [, c]) => a + c, 0);
  return { calls, detail: per.map(([k, v]) => `${k} ${v}`).join(', ') || 'none' };
}

async function traced(pids, out, work) {
  const args = ['-c', '-f', '-e', 'trace=fsync,fdatasync', '-o', out];
  for (const t of threadsOf(pids)) args.push('-p', String(t));
  const st = spawnTracked('strace', args, { stderrFile: out + '.err' });
  await sleep(500); // attached
  await work();
  st.kill('SIGINT'); // detach and write the summary
  await Promise.race([st.exited, sleep(10_000)]);
  await stopChild(st, 1000);
  return parseSummary(readFileSync(out, 'utf8'));
}

export async function fsyncCounts({ tmpRoot, log = () => {} }) {
  await ensureStrace(log);
  const results = [];
  const dns = await startBenchDns();
  for (const side of ['mailflow', 'postfix']) {
    const base = mkdtempSync(join(tmpRoot, `fsync-${side}-`));
    chmodSync(base, 0o755);
    const sink = await startSink(ADDR.sink, PORT);
    let mf = null;
    let pf = null;
    try {
      let pids;
      let entry;
      if (side === 'mailflow') {
        mf = await startMailflow(base, 'hop1', {});
        pids = [mf.pid];
        entry = ADDR.gateway;
      } else {
        pf = createInstance(base, 'a', { host: ADDR.pf[0], port: PORT, next: { host: ADDR.sink, port: PORT } });
        await startInstance(pf);
        pids = descendants([pf.masterPid]);
        entry = pf.host;
      }
      const s = await traced(pids, join(base, 'strace.txt'), async () => {
        await smtpSource({ host: entry, recipient: RELAY_RCPT, count: M, sessions: 20, timeoutMs: 120_000 });
        await waitCount(sink, M);
        await sleep(500);
      });
      results.push({ side, messages: M, calls: s.calls, perMessage: s.calls / M, detail: s.detail });
      log(`fsync ${side}: ${s.calls} calls for ${M} messages (${(s.calls / M).toFixed(2)} per message; ${s.detail})`);
    } finally {
      if (mf) await mf.stop();
      if (pf) await stopInstance(pf);
      await sink.stop();
      rmSync(base, { recursive: true, force: true });
    }
  }
  await dns.close();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tmpRoot = mkdtempSync('/var/tmp/mailflow-fsync-');
  chmodSync(tmpRoot, 0o755);
  process.on('exit', () => {
    killAllTracked();
    rmSync(tmpRoot, { recursive: true, force: true });
  });
  await ensurePostfix(console.error);
  const r = await fsyncCounts({ tmpRoot, log: console.error });
  for (const x of r) console.log(`${x.side}: ${x.perMessage.toFixed(2)} fsync-family calls per message (${x.calls} for ${x.messages}; ${x.detail})`);
  process.exit(0);
}
