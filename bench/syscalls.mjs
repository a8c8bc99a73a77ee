#!/usr/bin/env node
// Work per message that a noisy host cannot blur: system calls, counted by strace. Rates on this kind
// of VM move by 15-35 % between runs of the same code (bench/README.md), so a change worth 5 % cannot
// be seen in msg/s; the syscalls it saves can. `node bench/syscalls.mjs [sessions] [N]` runs mailflow
// on one hop (filters on, as in run.mjs), warms it up, then:
//  1. `strace -c -f` on every thread during N messages at `sessions` (1): calls per message by name;
//  2. `strace -tt` on the main thread alone during 40 messages at one session: the calls it makes
//     between writing a reply to the client and reading the client's next command. At one session
//     that work is on the critical path: the client's next command waits for it.
// FILTERS=off runs without the filters. SCENARIO=hop3 counts 1. on three hops (gateway -> hub ->
// on-prem -> sink, one process), where the roles' own SMTP traffic to each other is in the count.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostfix, ensureStrace } from './lib/postfix.mjs';
import { startMailflow } from './lib/mailflow.mjs';
import { startSink, waitCount } from './lib/sink.mjs';
import { sendMessages, smtpSource } from './lib/smtp-client.mjs';
import { ADDR, PORT, SENDER, recipientFor } from './lib/topology.mjs';
import { killAllTracked, sleep, spawnTracked, stopChild } from './lib/proc.mjs';
import { startBenchDns } from './lib/dns.mjs';
import { straceCounts } from './lib/strace.mjs';

const [sessions = '1', n = '500'] = process.argv.slice(2);
const N = Number(n);
const GAP_N = 40;
const tmp = mkdtempSync('/var/tmp/mailflow-syscalls-');
chmodSync(tmp, 0o755);
process.on('exit', () => {
  killAllTracked();
  rmSync(tmp, { recursive: true, force: true });
});
const say = (s) => process.stderr.write(`[syscalls] ${s}\n`);
await ensurePostfix(say); // smtp-source and smtp-sink
await ensureStrace(say);
const dns = await startBenchDns();
const sink = await startSink(ADDR.sink, PORT);
const SCENARIO = process.env.SCENARIO ?? 'hop1';
const mf = await startMailflow(tmp, SCENARIO, { filtering: process.env.FILTERS !== 'off' });
const host = ADDR.gateway;
const recipient = recipientFor(SCENARIO);
await smtpSource({ host, recipient, count: 1000, sessions: 20 });
let delivered = 1000;
await waitCount(sink, delivered);

/** Runs `send` with strace attached to the mailflow process (args: strace's own), returns its output file. */
async function traced(straceArgs, send, count) {
  const out = join(tmp, `strace-${Date.now()}.txt`);
  const st = spawnTracked('strace', [...straceArgs, '-o', out, '-p', String(mf.pid)]);
  await sleep(800); // attached to every thread before the first message
  await send();
  delivered += count;
  await waitCount(sink, delivered);
  await sleep(300); // the last outcomes and trace inserts
  await stopChild(st, 5000); // SIGTERM: strace detaches and writes its output
  return readFileSync(out, 'utf8');
}

const send = (count, s) => () => sendMessages({ host, port: PORT, sender: SENDER, recipient, count, sessions: s });

// 1. every thread, calls per message
const summary = await traced(['-c', '-f'], send(N, Number(sessions)), N);
const per = [...straceCounts(summary)];
per.sort((a, b) => b[1] - a[1]);
const total = per.reduce((a, [, c]) => a + c, 0);
console.log(`\n${sessions} session(s), ${N} messages, ${SCENARIO}: ${(total / N).toFixed(1)} system calls per message, every thread`);
console.log(per.slice(0, 12).map(([k, c]) => `${k} ${(c / N).toFixed(1)}`).join(' | '));

// 2. the main thread between a reply and the next command, one session (one hop only: there the
// accepted socket is the client's; on three hops it could be a role's)
async function replyGaps() {
  const timeline = await traced(['-tt'], send(GAP_N, 1), GAP_N);
  let sock = null;
  let waiting = false;
  let calls = 0;
  const after = new Map();
  for (const line of timeline.split('\n')) {
    const m = /^\S+ (\w+)\((\d+)?/.exec(line);
    if (!m) continue;
    const [, name, fd] = m;
    if (name === 'accept4') {
      sock = /= (\d+)/.exec(line)?.[1] ?? null;
      continue;
    }
    if (fd === sock && name === 'write') waiting = true;
    else if (fd === sock && name === 'read') waiting = false;
    else if (waiting && name !== 'epoll_pwait' && name !== 'epoll_wait') {
      calls++;
      const key = fd ? `${name}(fd ${fd})` : name;
      after.set(key, (after.get(key) ?? 0) + 1);
    }
  }
  console.log(`\nmain thread, one session, ${GAP_N} messages: ${(calls / GAP_N).toFixed(1)} system calls per message between a reply and reading the next command`);
  console.log([...after].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, c]) => `${k} ${(c / GAP_N).toFixed(1)}`).join(' | '));
}

if (SCENARIO === 'hop1') await replyGaps();
await mf.stop();
await sink.stop();
await dns.close();
