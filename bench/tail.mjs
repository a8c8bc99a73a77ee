#!/usr/bin/env node
// Where the slowest dots of a latency pass come from: `node bench/tail.mjs` runs mailflow on one hop
// as run.mjs does (1500-message warm-up and a 2000-message throughput pass by smtp-source at 20
// sessions), then the 300-message latency pass with our client, and prints p50/p99, the slowest
// dots with the time (ms into the pass) their final dot was sent, and V8's collections in the pass
// (`--trace-gc`). FILTERS=off runs without the filters; SESSIONS (20) and N_LAT (300) as in run.mjs;
// SCENARIO=hop3 runs the three chained roles instead of one (the dot timed is the gateway's), and
// SCENARIO=maildir the three roles delivering to a Maildir on the last;
// MF_NODE_ARGS adds V8/Node flags to mailflow's process (e.g. "--max-semi-space-size=32"); TAIL_DIR
// (/var/tmp) is where the data directory goes (/dev/shm: on tmpfs, where an fsync costs nothing).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostfix } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { maildirCounter, startSink, waitCount } from './lib/sink.mjs';
import { percentile, sendMessages, smtpSource } from './lib/smtp-client.mjs';
import { ADDR, PORT, SENDER, recipientFor } from './lib/topology.mjs';
import { killAllTracked } from './lib/proc.mjs';
import { startBenchDns } from './lib/dns.mjs';

const filtering = process.env.FILTERS !== 'off';
const scenario = process.env.SCENARIO ?? 'hop1';
if (!['hop1', 'hop3', 'maildir'].includes(scenario)) throw new Error(`SCENARIO must be hop1, hop3 or maildir, got ${scenario}`);
const sessions = Number(process.env.SESSIONS ?? 20);
const nLat = Number(process.env.N_LAT ?? 300);
const tmp = mkdtempSync((process.env.TAIL_DIR ?? '/var/tmp') + '/mailflow-tail-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  rmSync(tmp, { recursive: true, force: true });
});
await ensurePostfix((s) => process.stderr.write(`[tail] ${s}\n`)); // smtp-source
const dns = await startBenchDns();
const sink = await startSink(ADDR.sink, PORT);
const gcLog = join(tmp, 'gc.log');
const spawnedAt = performance.now();
// --trace-gc prints on stdout, which the bench's children otherwise discard.
const wrap = (cmd, args) => ['sh', ['-c', `exec "$0" "$@" > ${gcLog}`, cmd, ...args]];
const mf = await startMailflow(tmp, scenario, { filtering, nodeArgs: ['--trace-gc'], wrap });
const host = ADDR.gateway;
const recipient = recipientFor(scenario);
await smtpSource({ host, recipient, count: 1500, sessions: 20 });
await smtpSource({ host, recipient, count: 2000, sessions: 20 });
await waitCount(scenario === 'maildir' ? maildirCounter(() => mf.maildirNew) : sink, 3500);
const passStart = performance.now();
const r = await sendMessages({ host, port: PORT, sender: SENDER, recipient, count: nLat, sessions });
const passEnd = performance.now();
await mf.stop();
const sorted = [...r.latencies].sort((a, b) => a - b);
console.log(`${scenario}, filters ${filtering ? 'on' : 'off'}, ${sessions} sessions, ${sorted.length} messages in ${(passEnd - passStart).toFixed(0)} ms: dot→250 p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)}, max ${sorted.at(-1).toFixed(1)}`);
const slow = r.latencies.map((l, i) => [l, r.dotAt[i] - passStart]).sort((a, b) => b[0] - a[0]).slice(0, 10);
console.log(`slowest (latency @ dot sent, ms into the pass): ${slow.map(([l, at]) => `${l.toFixed(1)}@${at.toFixed(0)}`).join(' ')}`);
// --trace-gc times are ms since the child's start, about when we spawned it (a few ms of skew).
const inPass = readFileSync(gcLog, 'utf8')
  .split('\n')
  .map((l) => l.match(/\]\s+(\d+) ms: (\S+).*?MB, ([\d.]+) \//))
  .filter((m) => m && +m[1] >= passStart - spawnedAt && +m[1] <= passEnd - spawnedAt)
  .map((m) => ({ at: +m[1] - (passStart - spawnedAt), kind: m[2], ms: +m[3] }));
const pauses = inPass.map((g) => g.ms);
console.log(`GC in the pass: ${inPass.length} pauses, ${pauses.reduce((a, b) => a + b, 0).toFixed(1)} ms in all, longest ${Math.max(0, ...pauses).toFixed(1)} ms`);
for (const g of inPass.filter((x) => x.ms >= 5)) console.log(`  ${g.kind} ${g.ms.toFixed(1)} ms @${g.at.toFixed(0)}`);
await sink.stop();
await dns.close();
process.exit(0);
