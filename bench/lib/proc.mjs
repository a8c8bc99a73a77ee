// Processes the bench starts: tracked by PID, stopped by PID (never by name), bounded by timeouts.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, openSync } from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every PID we started and have not yet seen exit: the exit handler kills what is left. */
const tracked = new Map();

export function spawnTracked(cmd, args, { stdout = 'ignore', stderrFile, env, cwd } = {}) {
  const err = stderrFile ? openSync(stderrFile, 'a') : 'ignore';
  const child = spawn(cmd, args, { stdio: ['ignore', stdout, err], env: env ?? process.env, cwd });
  tracked.set(child.pid, child);
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      tracked.delete(child.pid);
      resolve({ code, signal });
    }),
  );
  child.once('error', () => tracked.delete(child.pid));
  return child;
}

/** SIGTERM, wait up to graceMs, then SIGKILL; by PID. */
export async function stopChild(child, graceMs = 10_000) {
  if (!child || !tracked.has(child.pid)) return;
  child.kill('SIGTERM');
  const t = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([child.exited, t])) === 'timeout') {
    child.kill('SIGKILL');
    await child.exited;
  }
}

/** Run to completion (stdout/stderr captured), killed by PID after timeoutMs. */
export function run(cmd, args, { timeoutMs = 120_000, env, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: env ?? process.env });
    tracked.set(child.pid, child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      tracked.delete(child.pid);
      resolve({ code, signal, out, err, timedOut: signal === 'SIGKILL' });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      tracked.delete(child.pid);
      resolve({ code: -1, signal: null, out, err: err + String(e), timedOut: false });
    });
  });
}

export function killAllTracked() {
  for (const [pid, child] of tracked) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    tracked.delete(pid);
  }
}

export function portOpen(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function waitPort(host, port, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await portOpen(host, port)) return;
    await sleep(50);
  }
  throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
}

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, ..., utime at [11]: field 3 of
 * stat(5) is [0]); null once the process is gone. The name may contain spaces and ')': split after the last ')'.
 */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** ppid → children, from /proc (by PID, so we only ever touch processes we started). */
function childrenMap() {
  const m = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue; // exited meanwhile
    const ppid = Number(f[1]);
    if (!m.has(ppid)) m.set(ppid, []);
    m.get(ppid).push(Number(name));
  }
  return m;
}

export function descendants(pids) {
  const m = childrenMap();
  const out = [];
  const stack = [...pids];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(m.get(p) ?? []));
  }
  return out;
}

export function statusField(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function alive(pid) {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z';
}

/** Proportional set size (shared pages split among their users), from smaps_rollup. */
export function pss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples a process tree every intervalMs (`roots()` names its top PIDs): the peak of the summed RSS
 * (shared pages counted in every process: an upper bound for many processes) and of the summed PSS
 * (shared pages split: the fair figure for Postfix's ~20 processes).
 */
export function rssSampler(roots, intervalMs = 250) {
  let peakRss = 0;
  let peakPss = 0;
  let processes = 0;
  const sample = () => {
    const pids = descendants(roots());
    const rss = pids.reduce((a, p) => a + statusField(p, 'VmRSS'), 0);
    const ps = pids.reduce((a, p) => a + pss(p), 0);
    peakRss = Math.max(peakRss, rss);
    peakPss = Math.max(peakPss, ps);
    processes = Math.max(processes, pids.length);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakRss, peakPss, processes };
    },
  };
}

const TICK_MS = 1000 / 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/**
 * CPU time (ms) a process tree has used so far: utime+stime+cutime+cstime of every live process in
 * it. A process that exits is reaped by its parent, which adds the child's times to its own cutime and
 * cstime, so short-lived workers (Postfix's smtpd, cleanup, smtp) stay counted.
 */
export function treeCpuMs(roots) {
  let ticks = 0;
  for (const pid of descendants(roots)) {
    const f = statFields(pid);
    if (!f) continue; // exited meanwhile: its times went to its parent
    // fields 14-17 of stat(5): utime stime cutime cstime
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks * TICK_MS;
}

/** The whole machine's busy and total CPU time (ms, summed over CPUs) from /proc/stat. */
export function machineCpuMs() {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0); // idle + iowait
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}
