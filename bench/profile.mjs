#!/usr/bin/env node
// Profile mailflow under load: `node bench/profile.mjs [hop1|hop3|maildir] [sessions] [N]`.
// Starts the scenario's roles under `node --cpu-prof`, drives smtp-source through them into the
// counting sink, stops mailflow (SIGTERM, so the profile is written) and prints where the main
// thread's time went: self time by function and by file, inclusive time of mailflow's functions.
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, maildirCounter, waitCount } from './lib/sink.mjs';
import { ADDR, PORT, recipientFor } from './lib/topology.mjs';
import { killAllTracked } from './lib/proc.mjs';
import { smtpSource } from './lib/smtp-client.mjs';
import { startBenchDns } from './lib/dns.mjs';
import { ensurePostfix } from './lib/postfix.mjs';

const [scenario = 'hop1', sessions = '20', n = '3000'] = process.argv.slice(2);
const tmp = mkdtempSync('/var/tmp/mailflow-prof-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  if (process.env.KEEP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
});

await ensurePostfix(console.log); // smtp-source and smtp-sink come with it
const profDir = join(tmp, 'prof');
const dns = await startBenchDns();
const sink = scenario === 'maildir' ? null : await startSink(ADDR.sink, PORT);
const mf = await startMailflow(tmp, scenario, { filtering: process.env.FILTERING !== 'off', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], logLevel: process.env.LOG_LEVEL ?? 'info', procs: process.env.MF_PROCS ?? 'one' });
const counter = sink ?? maildirCounter(() => mf.maildirNew);
const t0 = performance.now();
// a failed load still leaves a profile worth reading: say so and go on
await smtpSource({ host: ADDR.gateway, recipient: recipientFor(scenario), count: Number(n), sessions: Number(sessions), timeoutMs: 120_000 }).catch((err) => console.error(err.message));
const t1 = performance.now();
const t2 = await waitCount(counter, Number(n));
console.log(`${scenario} s=${sessions} N=${n}: ingest ${(Number(n) / ((t1 - t0) / 1000)).toFixed(0)} msg/s, end-to-end ${t2 ? (Number(n) / ((t2 - t0) / 1000)).toFixed(0) : 'n/a'} msg/s, sink connections ${sink?.sessions() ?? '-'}`);
await mf.stop();
await sink?.stop();
await dns.close();

// One profile per thread: the main thread's is the first written (its file name has the lowest thread
// id); worker threads (filters, SMTP client) get a short summary after the main report.
const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => threadOf(a) - threadOf(b));
function threadOf(f) {
  return Number(/\.(\d+)\.cpuprofile$/.exec(f)?.[1] ?? 0);
}
/** A thread's profile: its nodes by id, each node's parent, and the sampled time (µs) of each node and in all. */
function loadProfile(f) {
  const prof = JSON.parse(readFileSync(join(profDir, f), 'utf8'));
  const nodes = new Map(prof.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const times = new Map();
  let sum = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    times.set(id, (times.get(id) ?? 0) + dt);
    sum += dt;
  });
  return { nodes, parent, times, sum };
}
/** Inclusive time by function: each sample counts once for every distinct function on its stack. */
function inclusiveOf({ nodes, parent, times }) {
  const incl = new Map();
  for (const [id, t] of times) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(nodes.get(cur).callFrame);
      if (!seen.has(k)) seen.add(k), add(incl, k, t);
    }
  }
  return incl;
}
/** The `count` largest entries of `m` that pass `filter`, as percentages of `base`, one per line. */
function ranked(m, count, base, filter = () => true) {
  return [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, v]) => `${((100 * v) / base).toFixed(1).padStart(5)}%  ${k}`).join('\n');
}
const main = loadProfile(files[0]);
const { nodes: byId, parent, times: time, sum: total } = main;
const short = (u) => u.replace(/^file:\/\/.*?\/dist\//, '').replace(/.*node_modules\//, '');
const key = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}:${cf.lineNumber + 1}`;
const selfFn = new Map();
const selfFile = new Map();
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
for (const [id, t] of time) {
  const cf = byId.get(id).callFrame;
  add(selfFn, key(cf), t);
  add(selfFile, short(cf.url) || cf.functionName, t);
}
const incl = inclusiveOf(main);
const top = (m, count, filter) => ranked(m, count, total, filter);
// Time by subsystem: a sample belongs to the first category (in this order) that any frame of its stack matches.
const CATEGORIES = [
  ['filter (auth, scanners)', /src\/filter\/|src\/roles\/filtering|mailauth\//],
  ['queue (SQLite, WAL sync)', /src\/queue\//],
  ['trace', /src\/trace\//],
  ['delivery + outbound SMTP', /src\/delivery\/|src\/smtp\/outbound\/|nodemailer\//],
  ['routing/policy', /src\/roles\/policy|src\/routing\//],
  ['inbound SMTP', /src\/smtp\/inbound\/|smtp-server\//],
  ['logging', /pino|sonic-boom/],
  ['dns', /src\/dns\//],
];
const byCat = new Map();
for (const [id, t] of time) {
  const urls = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) urls.push(byId.get(cur).callFrame.url + ' ' + byId.get(cur).callFrame.functionName);
  const fn = byId.get(id).callFrame.functionName;
  const cat = fn === '(idle)' ? 'idle' : fn === '(garbage collector)' ? 'gc' : (CATEGORIES.find(([, re]) => urls.some((u) => re.test(u)))?.[0] ?? 'other (net, timers, runtime)');
  add(byCat, cat, t);
}
// Who calls the costliest leaf functions: the three nearest callers' frames, by time.
const callers = new Map();
for (const [id, t] of time) {
  const leaf = key(byId.get(id).callFrame);
  const chain = [];
  for (let cur = parent.get(id); cur !== undefined && chain.length < 3; cur = parent.get(cur)) chain.push(key(byId.get(cur).callFrame).replace(/ \S+$/, (m) => m.replace(/^.*\//, ' ')));
  const m = callers.get(leaf) ?? new Map();
  m.set(chain.join(' < '), (m.get(chain.join(' < ')) ?? 0) + t);
  callers.set(leaf, m);
}
const topLeaves = [...selfFn].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k]) => k);
const callerText = topLeaves.map((k) => `${k}\n${top(callers.get(k), 4).replace(/^/gm, '    ')}`).join('\n');
console.log(`\nmain thread: ${(total / 1e6).toFixed(1)} s sampled\n\nby subsystem\n${top(byCat, 12)}\n\nself time by function\n${top(selfFn, 25)}\n\nself time by file\n${top(selfFile, 15)}\n\ninclusive, mailflow code\n${top(incl, 45, (k) => / src\//.test(k))}\n\ncallers of the costliest functions\n${callerText}`);
for (const f of files.slice(1)) {
  const worker = loadProfile(f);
  const self = new Map();
  let idle = 0;
  for (const [id, dt] of worker.times) {
    const cf = worker.nodes.get(id).callFrame;
    if (cf.functionName === '(idle)') idle += dt;
    add(self, key(cf), dt);
  }
  const busy = worker.sum - idle;
  const wTotal = worker.sum;
  const topW = ranked(self, 15, busy, (k) => !k.startsWith('(idle)'));
  const inclW = ranked(inclusiveOf(worker), 25, busy, (k) => / (src|mailauth|nodemailer)\//.test(k));
  console.log(`\nworker thread ${threadOf(f)}: ${(busy / 1e6).toFixed(1)} s busy of ${(wTotal / 1e6).toFixed(1)} s; self time, % of busy\n${topW}\ninclusive (mailflow, mailauth, nodemailer), % of busy\n${inclW}`);
}
process.exit(0);
