#!/usr/bin/env node
// CPU per message, thread by thread, of mailflow under load: `node bench/threads.mjs [scenario] [sessions] [N]`.
// The rate at 20 sessions is set by the busiest thread (the event loop that serves SMTP), and on this
// kind of VM rates of the same code move by 15-35 % between runs while CPU time per message moves
// far less: this reads /proc/<pid>/task/*/stat before and after N messages sent by smtp-source (after
// a 1500-message warm-up) and prints ms of CPU per message for the main thread, each named thread
// group and the whole process, with msg/s for reference; then, from /proc/<pid>/task/*/schedstat, the
// time each thread was ready to run but waited for a CPU, per message. Pair it with an environment variable that
// changes the topology (MF_FILTER_INLINE, MF_FILTER_THREADS, ...) and alternate runs.
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { ensurePostfix } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, maildirCounter, waitCount } from './lib/sink.mjs';
import { smtpSource } from './lib/smtp-client.mjs';
import { ADDR, recipientFor } from './lib/topology.mjs';
import { killAllTracked } from './lib/proc.mjs';
import { startBenchDns } from './lib/dns.mjs';

const [scenario = 'hop1', sessions = '20', n = '3000'] = process.argv.slice(2);
const N = Number(n);
const tmp = mkdtempSync('/var/tmp/mailflow-threads-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  rmSync(tmp, { recursive: true, force: true });
});
const TICK_MS = 10; // USER_HZ 100

/**
 * Per thread name (the main thread as "main"), from /proc: `cpu`, ms of CPU; `wait`, ms it was ready
 * to run but waited for a CPU (schedstat's second field).
 */
function threadTimes(pid) {
  const cpu = new Map();
  const wait = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Node 20 names none of its threads: tell them apart by creation order (tid), with PER_TID=1
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const name = tid === String(pid) ? 'main' : process.env.PER_TID === '1' ? `${comm}#${tid}` : comm;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(f[11]) + Number(f[12])) * TICK_MS;
    cpu.set(name, (cpu.get(name) ?? 0) + ms);
    try {
      const waitNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      wait.set(name, (wait.get(name) ?? 0) + waitNs / 1e6);
    } catch {
      /* exited meanwhile, or no schedstat in this kernel */
    }
  }
  return { cpu, wait };
}

/** ms a message per thread between two readings, busiest first, leaving out threads under 0.005. */
function perMessage(after, before) {
  const per = [...after].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / N]).filter(([, v]) => v > 0.005);
  return per.sort((a, b) => b[1] - a[1]);
}
const list = (per) => per.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' | ');

await ensurePostfix((s) => process.stderr.write(`[threads] ${s}\n`));
const dns = await startBenchDns();
const sink = scenario === 'maildir' ? null : await startSink(ADDR.sink, 2525);
const mf = await startMailflow(tmp, scenario, { filtering: process.env.FILTERS !== 'off' });
const counter = sink ?? maildirCounter(() => mf.maildirNew);
const host = ADDR.gateway;
const recipient = recipientFor(scenario);
await smtpSource({ host, recipient, count: 1500, sessions: 20 });
await waitCount(counter, 1500);
const before = threadTimes(mf.pid);
const t0 = performance.now();
await smtpSource({ host, recipient, count: N, sessions: Number(sessions) });
await waitCount(counter, 1500 + N);
const secs = (performance.now() - t0) / 1000;
const after = threadTimes(mf.pid);
const per = perMessage(after.cpu, before.cpu);
const total = per.reduce((a, [, v]) => a + v, 0);
console.log(`${scenario} s=${sessions} N=${N}: ${(N / secs).toFixed(0)} msg/s; CPU ms/msg: total ${total.toFixed(2)} | ${list(per)}`);
// Time a thread was ready to run but the 2 CPUs were busy: the part of a reply's wait the CPU count sets.
const waited = perMessage(after.wait, before.wait);
if (waited.length > 0) console.log(`  waiting for a CPU, ms/msg: ${list(waited)}`);
await mf.stop();
await sink?.stop();
await dns.close();
