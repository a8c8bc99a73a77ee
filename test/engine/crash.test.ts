// kill -9 of a running role under load: every message that got its 250 is delivered after restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { openMaildirStore } from '../../src/mailbox/maildir.js';
import { startTopology, type Topology } from '../helpers/topology.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');

let t: Topology;
before(async () => {
  t = await startTopology('127.33.0', (y) => y, { startRoles: false });
});
after(async () => {
  await t?.close();
});

function startRoles(): ChildProcess {
  return spawn(process.execPath, [CLI, 'start', '--config', t.configFile, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function waitPort(host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${host}:${port} did not come up`);
}

// Under load the roles' event loop commits what the session thread accepts; with one session at a
// time the session thread commits it itself (queue/thread-writer.ts): both paths are killed.
test('kill -9 under load loses no accepted message', { timeout: 120_000 }, () => killUnder({ total: 400, concurrency: 10, killAfter: 120, tag: 'crash' }));
test('kill -9 with one session at a time (the session thread commits) loses no accepted message', { timeout: 120_000 }, () =>
  killUnder({ total: 80, concurrency: 1, killAfter: 40, tag: 'crash1' }),
);

async function killUnder({ total: TOTAL, concurrency: CONCURRENCY, killAfter: KILL_AFTER, tag }: { total: number; concurrency: number; killAfter: number; tag: string }) {
  const [ghost, gport] = t.loaded.config.gateway.listen.split(':');
  const [hhost, hport] = t.loaded.config.hub.listen.split(':');
  let child = startRoles();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await waitPort(ghost!, Number(gport));
  await waitPort(hhost!, Number(hport));

  const accepted = new Set<string>();
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (next < TOTAL) {
      const i = next++;
      const id = `${tag}-${i}@test`;
      try {
        const r = await t.send({ from: 'load@fabrikam.test', to: ['alice@contoso.test'], entry: 'mx', messageId: id });
        if (r.outcomes[0]!.kind === 'delivered') accepted.add(id);
      } catch {
        /* connection refused while the role is down: not accepted, the client would retry */
      }
      if (!killed && accepted.size >= KILL_AFTER) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  assert.ok(killed, 'the role was killed under load');
  await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r)));

  // Restart: the queue resumes; every accepted message must reach alice's Maildir.
  child = startRoles();
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitPort(hhost!, Number(hport));
    const mailbox = openMaildirStore(join(t.dir, 'data', 'hub', 'mailboxes'));
    const deliveredIds = () => {
      const ids: string[] = [];
      for (const m of mailbox.list('alice@contoso.test')) {
        const raw = mailbox.read('alice@contoso.test', m.id).toString('latin1');
        const mid = /^Message-ID: <([^>]+)>/im.exec(raw);
        if (mid && mid[1]!.startsWith(`${tag}-`)) ids.push(mid[1]!);
      }
      return ids;
    };
    const until = Date.now() + 60_000;
    let ids = deliveredIds();
    while ([...accepted].some((id) => !ids.includes(id)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      ids = deliveredIds();
    }
    const unique = new Set(ids);
    const lost = [...accepted].filter((id) => !unique.has(id));
    const duplicates = ids.length - unique.size;
    console.log(`# kill -9, ${CONCURRENCY} session(s): sent ${TOTAL}, accepted (250) ${accepted.size}, delivered ${unique.size} distinct, lost ${lost.length}, duplicates ${duplicates}`);
    assert.deepEqual(lost, [], `lost after kill -9: ${lost.slice(0, 5).join(', ')}\n${stderr.slice(-2000)}`);
    assert.ok(accepted.size >= KILL_AFTER);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r)));
  }
}
