#!/usr/bin/env node
// Where one SMTP session's time goes, phase by phase (connect+greeting, EHLO, MAIL, RCPT, DATA,
// body+dot→250, QUIT), for mailflow and Postfix on one hop: `node bench/phases.mjs [sessions] [N]`.
// The 1-session throughput is one session after another, so its gap is the sum of these phases.
// SIDES="postfix mailflow mailflow-off" picks the sides; WARMUP (1000) messages go first, unmeasured.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostfix, createInstance, startInstance, stopInstance } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, waitCount } from './lib/sink.mjs';
import { sendMessages, percentile, smtpSource } from './lib/smtp-client.mjs';
import { ADDR, PORT, SENDER, recipientFor } from './lib/topology.mjs';
import { killAllTracked, sleep } from './lib/proc.mjs';
import { startBenchDns } from './lib/dns.mjs';

const [sessions = '1', n = '400'] = process.argv.slice(2);
const WARMUP = Number(process.env.WARMUP ?? 1000);
const SIDES = (process.env.SIDES ?? 'postfix mailflow mailflow-off').split(/\s+/).filter(Boolean);
const tmp = mkdtempSync('/var/tmp/mailflow-phases-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  rmSync(tmp, { recursive: true, force: true });
});
await ensurePostfix((s) => process.stderr.write(`[phases] ${s}\n`));
const dns = await startBenchDns();
const rows = [];
for (const side of SIDES) {
  const sink = await startSink(ADDR.sink, PORT);
  let stop;
  let host;
  if (side === 'postfix') {
    const inst = createInstance(tmp, 'a', { host: ADDR.pf[0], port: PORT, next: { host: ADDR.sink, port: PORT } });
    await startInstance(inst);
    host = inst.host;
    stop = () => stopInstance(inst);
  } else {
    const mf = await startMailflow(tmp, 'hop1', { filtering: side !== 'mailflow-off' });
    host = ADDR.gateway;
    stop = () => mf.stop();
  }
  // warm-up as in run.mjs (smtp-source, 20 sessions, delivered before the measured pass)
  await smtpSource({ host, recipient: recipientFor('hop1'), count: WARMUP, sessions: 20 });
  await waitCount(sink, WARMUP);
  const r = await sendMessages({ host, port: PORT, sender: SENDER, recipient: recipientFor('hop1'), count: Number(n), sessions: Number(sessions) });
  await sleep(500);
  await stop();
  await sink.stop();
  const row = { side, rate: r.accepted / r.seconds };
  for (const [k, v] of Object.entries(r.phases)) {
    const s = [...v].sort((a, b) => a - b);
    row[k] = { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
  }
  rows.push(row);
}
await dns.close();
const phases = ['connect', 'ehlo', 'mail', 'rcpt', 'data', 'dot', 'quit', 'session'];
console.log(`\n${sessions} session(s), ${n} messages, 5 KB, one hop; ms per phase, mean (p50 / p99)\n`);
console.log(`| side | msg/s | ${phases.join(' | ')} |`);
console.log(`|---|---|${phases.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.side} | ${r.rate.toFixed(0)} | ${phases.map((p) => `${r[p].mean.toFixed(2)} (${r[p].p50.toFixed(2)} / ${r[p].p99.toFixed(2)})`).join(' | ')} |`);
process.exit(0);
