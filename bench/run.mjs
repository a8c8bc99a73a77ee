#!/usr/bin/env node
// `npm run bench`: mailflow and Postfix side by side on loopback, one after the other, under the same
// load (smtp-source, 5 KB messages, a new connection per message) into the same counting sink.
// Prints a markdown table, writes raw JSON to bench/results/, ends with `ratio <scenario> <x.xx>`.
//
//   npm run bench                      # defaults: N=2000 (1000 at 1 session) after a 1500-message warm-up, sessions 1 and 20, all scenarios
//   N=5000 SESSIONS=20 SCENARIOS=hop1 npm run bench
//   npm run bench -- --fsync           # also count fsyncs per message under strace (README)
//
// Environment: N (messages per throughput run; N1 at 1 session), WARMUP (messages before it, not measured, default 1500;
// 0 = measure from a cold start), N_LAT (messages of the latency pass), SESSIONS
// ("1 20"), SCENARIOS ("hop1 hop3 maildir"), GREETING_MS (the gateway's pre-greeting pause for the
// extra hop1 rows, default 100; 0 skips them), RUNS (repeat each run, default 1), LOG_LEVEL (mailflow's, info),
// MF_PROCS (one: all roles in one `mailflow start`, the default; per-role: one process per role).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { ensurePostfix, postfixVersion, createInstance, startInstance, stopInstance, queuedFiles, countFiles } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, maildirCounter, waitCount } from './lib/sink.mjs';
import { sendMessages, percentile, smtpSource } from './lib/smtp-client.mjs';
import { ADDR, PORT, SENDER, recipientFor, MAILBOX_RCPT } from './lib/topology.mjs';
import { killAllTracked, machineCpuMs, portOpen, rssSampler, sleep, treeCpuMs } from './lib/proc.mjs';
import { table, ratioLines } from './lib/report.mjs';
import { fsyncCounts } from './fsync.mjs';
import { startBenchDns } from './lib/dns.mjs';

const env = process.env;
const N = Number(env.N ?? 2000);
// One session is latency-bound and steady from the first messages: fewer of them keep the run short.
const N1 = Number(env.N1 ?? 1000);
const N_LAT = Number(env.N_LAT ?? 300);
const SESSIONS = (env.SESSIONS ?? '1 20').split(/[\s,]+/).filter(Boolean).map(Number);
const SCENARIOS = (env.SCENARIOS ?? 'hop1 hop3 maildir').split(/[\s,]+/).filter(Boolean);
const GREETING_MS = Number(env.GREETING_MS ?? 100);
// Warm-up before each measured pass, for both sides alike and not counted in the rates: messages sent
// at 20 sessions and delivered. A fresh mailflow process needs a few thousand messages to reach its
// steady state (V8 optimising the hot code on its compiler threads, the SQLite files reaching their
// working size): 1 hop, 20 sessions, filters on, CPU per message over successive thousands was
// 6.2, 4.5, 3.3, 3.0, 3.4, 2.5, 2.4, 2.9 ms; Postfix's stayed at 2.2-3.7 ms from the first thousand.
// A server runs warm, so the rates are the warm ones (WARMUP=0 measures from a cold start).
// 1500, not more: on a host where Postfix's three hops run at ~80 msg/s the whole bench must still end
// within 10 minutes (it took 9 min 46 s with 2000).
const WARMUP = Number(env.WARMUP ?? 1500);
// "Filters off" rows (mailflow without SPF/DKIM/DMARC and content checks, the same work as the Postfix
// hops): FILTERS_OFF=max (default) at the largest session count only, `all` at every count, `0` none.
const FILTERS_OFF = env.FILTERS_OFF ?? 'max';
const RUNS = Number(env.RUNS ?? 1);
const LOG_LEVEL = env.LOG_LEVEL ?? 'info';
/** mailflow roles in one process ('one', the default of `start`) or one process per role ('per-role'). */
const MF_PROCS = env.MF_PROCS ?? 'one';
const SIZE = 5120;
const RESULTS = new URL('./results/', import.meta.url).pathname;
const log = (s) => process.stderr.write(`[bench] ${s}\n`);

let tmpRoot = null;
function cleanup() {
  killAllTracked();
  if (tmpRoot && env.KEEP_TMP !== '1') rmSync(tmpRoot, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Postfix instances for a scenario: one per hop, chained; the last relays to the sink or keeps a Maildir. */
function postfixChain(base, scenario) {
  const hops = scenario === 'hop1' ? 1 : 3;
  const names = ['a', 'b', 'c'];
  const out = [];
  for (let i = 0; i < hops; i++) {
    const last = i === hops - 1;
    const next = last ? (scenario === 'maildir' ? null : { host: ADDR.sink, port: PORT }) : { host: ADDR.pf[i + 1], port: PORT };
    out.push(createInstance(base, names[i], { host: ADDR.pf[i], port: PORT, next, maildir: last && scenario === 'maildir' ? { address: MAILBOX_RCPT } : null }));
  }
  return out;
}

async function runOne({ side, scenario, sessions, greetingDelayMs = 0, filtering = true, n }) {
  const base = mkdtempSync(join(tmpRoot, `${side}-${scenario}-`));
  chmodSync(base, 0o755);
  const result = { side, scenario, sessions, greetingDelayMs, filtering, n, size: SIZE, ok: false, lost: null };
  const recipient = recipientFor(scenario);
  let sink = null;
  let mf = null;
  let pf = [];
  let counter;
  let sampler = null;
  try {
    for (const h of [ADDR.sink, ADDR.gateway, ADDR.hub, ADDR.onprem, ...ADDR.pf]) {
      if (await portOpen(h, PORT, 200)) throw new Error(`${h}:${PORT} is already in use`);
    }
    if (scenario !== 'maildir') sink = counter = await startSink(ADDR.sink, PORT);
    let entry;
    let roots;
    if (side === 'mailflow') {
      mf = await startMailflow(base, scenario, { greetingDelayMs, filtering, logLevel: LOG_LEVEL, procs: MF_PROCS });
      entry = ADDR.gateway;
      if (scenario === 'maildir') counter = maildirCounter(() => mf.maildirNew);
      roots = () => mf.pids;
      sampler = rssSampler(roots);
    } else {
      pf = postfixChain(base, scenario);
      for (const inst of [...pf].reverse()) await startInstance(inst);
      entry = pf[0].host;
      if (scenario === 'maildir') counter = maildirCounter(() => pf[pf.length - 1].maildirNew);
      roots = () => pf.map((i) => i.masterPid).filter(Boolean);
      sampler = rssSampler(roots);
    }
    // With the pre-greeting pause the listener, not the code, sets the pace: a shorter warm-up.
    const warm = greetingDelayMs ? Math.min(WARMUP, 1000) : WARMUP;
    if (warm > 0) {
      await smtpSource({ host: entry, recipient, count: warm, sessions: 20, size: SIZE });
      if ((await waitCount(counter, warm)) === null) throw new Error('warm-up messages did not all arrive');
    }
    // Throughput: smtp-source, N messages. CPU: the side's process tree, and the whole machine.
    const cpu0 = treeCpuMs(roots());
    const machine0 = machineCpuMs();
    const t0 = performance.now();
    await smtpSource({ host: entry, recipient, count: n, sessions, size: SIZE });
    const t1 = performance.now();
    const accepted = n;
    result.ingestRate = accepted / ((t1 - t0) / 1000);
    const tE = await waitCount(counter, warm + accepted);
    result.e2eRate = tE === null ? null : accepted / ((tE - t0) / 1000);
    const machine1 = machineCpuMs();
    result.cpuMsPerMsg = (treeCpuMs(roots()) - cpu0) / accepted;
    result.machineBusy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
    // Latency: our client, same shape of load, fewer messages (scaled down with a greeting pause).
    const nLat = greetingDelayMs && sessions === 1 ? Math.min(N_LAT, 100) : N_LAT;
    const lat = await sendMessages({ host: entry, port: PORT, sender: SENDER, recipient, size: SIZE, count: nLat, sessions });
    const sorted = [...lat.latencies].sort((a, b) => a - b);
    result.latency = { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? null, refused: lat.refused, errors: lat.errors, rate: lat.accepted / lat.seconds };
    const total = warm + accepted + lat.accepted;
    await waitCount(counter, total);
    await sleep(300);
    result.warmup = warm;
    result.delivered = counter.count();
    result.accepted = total;
    result.lost = Math.max(0, total - result.delivered);
    result.duplicates = Math.max(0, result.delivered - total);
    const mem = sampler.stop();
    sampler = null;
    // mailflow: the process's own high-water mark. Postfix: summed PSS of its processes (summed RSS,
    // which counts shared pages once per process, is kept in the JSON as peakRssSum).
    result.peakRssSum = mem.peakRss;
    result.peakPssSum = mem.peakPss;
    result.peakRss = side === 'mailflow' ? Math.max(mem.peakRss, mf.hwm()) : mem.peakPss;
    result.processes = mem.processes;
    if (side === 'postfix') result.leftInQueue = pf.reduce((a, i) => a + queuedFiles(i), 0);
    result.ok = result.lost === 0 && lat.refused === 0;
    if (!result.ok) result.error = lat.refused ? `${lat.refused} refused in the latency pass: ${lat.errors[0]}` : 'messages missing at the sink';
  } catch (err) {
    result.error = err.message;
    log(`${side} ${scenario} s=${sessions}: ${err.message}`);
  } finally {
    sampler?.stop();
    if (mf) await mf.stop();
    for (const inst of pf) await stopInstance(inst);
    if (sink) {
      await sleep(200); // pooled connections QUIT when their owner stops: count them as sessions
      result.sinkSessions = sink.sessions();
      await sink.stop();
    }
    if (env.KEEP_TMP !== '1') rmSync(base, { recursive: true, force: true });
  }
  log(
    `${side.padEnd(8)} ${scenario.padEnd(7)} s=${String(sessions).padStart(2)}${greetingDelayMs ? ` greeting=${greetingDelayMs}ms` : ''}${filtering ? '' : ' filters off'}: ingest ${fmt(result.ingestRate)} e2e ${fmt(result.e2eRate)} msg/s, p50/p99 ${fmt(result.latency?.p50, 1)}/${fmt(result.latency?.p99, 1)} ms, RSS ${((result.peakRss ?? 0) / 1048576).toFixed(0)} MB, CPU ${fmt(result.cpuMsPerMsg, 2)} ms/msg (machine ${fmt((result.machineBusy ?? 0) * 100)} % busy), lost ${result.lost}, sink conns ${result.sinkSessions ?? '-'}`,
  );
  return result;
}

const fmt = (v, d = 0) => (typeof v === 'number' ? v.toFixed(d) : 'n/a');

async function main() {
  if (process.getuid?.() !== 0) {
    console.error('run as root: Postfix instances and smtp-sink need it');
    process.exit(2);
  }
  const started = Date.now();
  await ensurePostfix(log);
  mkdirSync(RESULTS, { recursive: true });
  // On disk, not tmpfs, so both sides' fsyncs reach the real disk.
  tmpRoot = mkdtempSync('/var/tmp/mailflow-bench-');
  chmodSync(tmpRoot, 0o755);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    postfix: postfixVersion(),
    n: N,
    nOneSession: N1,
    nLatency: N_LAT,
    warmup: WARMUP,
    size: SIZE,
    sessions: SESSIONS,
    scenarios: SCENARIOS,
    greetingDelayMs: GREETING_MS,
    logLevel: LOG_LEVEL,
    mailflowProcesses: MF_PROCS,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    // Page-table isolation makes every syscall and context switch dearer: it weighs on Postfix's many
    // processes more than on one Node process (see bench/README.md, "Same code, another host")
    meltdownMitigation: readFirstLine('/sys/devices/system/cpu/vulnerabilities/meltdown'),
    loadavg: loadavg(),
  };
  log(`N=${N} (1 session: ${N1}) latency N=${N_LAT} warm-up ${WARMUP} sessions=${SESSIONS.join(',')} scenarios=${SCENARIOS.join(',')} postfix ${meta.postfix} node ${meta.node}`);
  const dns = await startBenchDns();
  const results = [];
  for (const scenario of SCENARIOS) {
    for (const sessions of SESSIONS) {
      for (let i = 0; i < RUNS; i++) {
        const n = sessions === 1 ? N1 : N;
        results.push(await runOne({ side: 'postfix', scenario, sessions, n }));
        results.push(await runOne({ side: 'mailflow', scenario, sessions, n }));
        // The same work as Postfix: no authentication or content checks (reported beside, never instead).
        if (FILTERS_OFF === 'all' || (FILTERS_OFF === 'max' && sessions === Math.max(...SESSIONS))) {
          results.push(await runOne({ side: 'mailflow', scenario, sessions, filtering: false, n }));
        }
        // The internet-facing listener's pre-greeting pause, reported on as well as off.
        if (scenario === 'hop1' && GREETING_MS > 0) {
          // the pause caps a session at 1 / delay messages per second: fewer messages with 1 session
          results.push(await runOne({ side: 'mailflow', scenario, sessions, greetingDelayMs: GREETING_MS, n: sessions === 1 ? Math.min(n, 200) : n }));
        }
      }
    }
  }
  meta.dnsQueries = dns.queries.length;
  await dns.close();
  let fsync = null;
  if (process.argv.includes('--fsync')) {
    try {
      fsync = await fsyncCounts({ tmpRoot, log });
    } catch (err) {
      log(`fsync count failed: ${err.message}`);
    }
  }
  meta.seconds = Math.round((Date.now() - started) / 1000);
  const stamp = meta.date.replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const file = join(RESULTS, `bench-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ meta, results, fsync }, null, 2) + '\n');
  console.log(`\nmailflow vs Postfix ${meta.postfix}, ${meta.date}, node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}, kernel ${meta.kernel}, meltdown: ${meta.meltdownMitigation}), N=${N} (1 session: ${N1}; latency pass ${N_LAT}; warm-up ${WARMUP} per run, not measured), 5 KB, smtp-source (new connection per message); ${meta.seconds} s\n`);
  console.log(table(results));
  console.log('\n*memory: mailflow, peak RSS of its one process (VmHWM); Postfix, peak of the summed PSS of its processes. sink conns: connections the last hop opened to the sink. †CPU time of the processes of each side (all threads, exited children included) per message of the throughput pass, and in brackets how busy the whole 2-CPU machine was meanwhile (load generator and sink included). × = mailflow / Postfix, same scenario and sessions.');
  if (fsync) {
    console.log('\nfsync-family calls per message under strace -f (1 hop, 20 sessions):');
    for (const s of fsync) console.log(`- ${s.side}: ${s.perMessage.toFixed(2)} per message (${s.calls} calls for ${s.messages} messages: ${s.detail})`);
  }
  console.log(`\nraw: bench/results/${file.split('/').pop()}`);
  for (const l of ratioLines(results)) console.log(l);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.stack ?? err);
    process.exit(1);
  },
);

function readFirstLine(file) {
  try {
    return readFileSync(file, 'utf8').split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}
