#!/usr/bin/env node
// Profile mailflow under load: `node bench/profile.mjs [hop1|hop3|maildir] [sessions] [N]`.
// Starts the scenario's roles under `node --cpu-prof`, drives smtp-source through them into the
// counting sink, stops mailflow (SIGTERM, so the profile is written) and prints where the main
// thread's time went: self time by function and by file, inclusive time of mailflow's functions.
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, maildirCounter, waitCount } from './lib/sink.mjs';
import { ADDR, PORT, SENDER, recipientFor } from './lib/topology.mjs';
import { killAllTracked, run } from './lib/proc.mjs';
import { startBenchDns } from './lib/dns.mjs';

const [scenario = 'hop1', sessions = '20', n = '3000'] = process.argv.slice(2);
const tmp = mkdtempSync('/var/tmp/mailflow-prof-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  if (process.env.KEEP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
});

const profDir = join(tmp, 'prof');
const dns = await startBenchDns();
const sink = scenario === 'maildir' ? null : await startSink(ADDR.sink, PORT);
const mf = await startMailflow(tmp, scenario, { filtering: process.env.FILTERING !== 'off', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], logLevel: process.env.LOG_LEVEL ?? 'info', procs: process.env.MF_PROCS ?? 'one' });
const counter = sink ?? maildirCounter(() => mf.maildirNew);
const t0 = performance.now();
const r = await run('smtp-source', ['-4', '-l', '5120', '-m', n, '-s', sessions, '-f', SENDER, '-t', recipientFor(scenario), `${ADDR.gateway}:${PORT}`]);
const t1 = performance.now();
if (r.code !== 0) console.error('smtp-source failed:', r.code, r.signal, r.err, r.out);
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
const file = files[0];
const p = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const time = new Map();
let total = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  time.set(id, (time.get(id) ?? 0) + dt);
  total += dt;
});
const short = (u) => u.replace(/^file:\/\/.*?\/dist\//, '').replace(/.*node_modules\//, '');
const key = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}:${cf.lineNumber + 1}`;
const selfFn = new Map();
const selfFile = new Map();
const incl = new Map();
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
for (const [id, t] of time) {
  const cf = byId.get(id).callFrame;
  add(selfFn, key(cf), t);
  add(selfFile, short(cf.url) || cf.functionName, t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur).callFrame);
    if (!seen.has(k)) seen.add(k), add(incl, k, t);
  }
}
const top = (m, count, filter = () => true) =>
  [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
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
  const w = JSON.parse(readFileSync(join(profDir, f), 'utf8'));
  const wById = new Map(w.nodes.map((x) => [x.id, x]));
  const self = new Map();
  let wTotal = 0;
  let idle = 0;
  w.samples.forEach((id, i) => {
    const dt = w.timeDeltas[i] ?? 0;
    wTotal += dt;
    const cf = wById.get(id).callFrame;
    if (cf.functionName === '(idle)') idle += dt;
    add(self, key(cf), dt);
  });
  const busy = wTotal - idle;
  const topW = [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  console.log(`\nworker thread ${threadOf(f)}: ${(busy / 1e6).toFixed(1)} s busy of ${(wTotal / 1e6).toFixed(1)} s; self time, % of busy\n${topW}`);
}
process.exit(0);
