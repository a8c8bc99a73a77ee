// One role per process (`mailflow start --role`), and SIGTERM: sessions finish, the queue stays.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { openSqliteQueue } from '../../src/queue/sqlite-store.js';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { reached, startTopology, type Topology } from '../helpers/topology.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
let t: Topology;
before(async () => {
  t = await startTopology('127.37.0', (y) => y, { startRoles: false });
  t.dns.setRecords([...demoZoneRecords(t.loaded.config), { name: 'down.test', type: 'MX', value: { priority: 10, exchange: 'mx.down.test' } }, { name: 'mx.down.test', type: 'A', value: `${t.net}.9` }]);
});
after(async () => {
  await t?.close();
});

const start = (roles: string[]) => spawn(process.execPath, [CLI, 'start', '--config', t.configFile, '--log-level', 'warn', ...roles.flatMap((r) => ['--role', r])], { stdio: 'ignore' });
const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

async function waitPort(listen: string): Promise<void> {
  const [host, port] = listen.split(':');
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: host!, port: Number(port) }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${listen} did not come up`);
}

test('roles in separate processes deliver to each other; SIGTERM exits cleanly and keeps the queue', { timeout: 60_000 }, async () => {
  const hubAndOnprem = start(['hub', 'onprem']);
  await waitPort(t.loaded.config.hub.listen);
  const gateway = start(['gateway']);
  await waitPort(t.loaded.config.gateway.listen);
  try {
    await t.send({ from: 'a@fabrikam.test', to: ['dave@contoso.test'], entry: 'mx', messageId: 'proc1@test' });
    const steps = ['gateway:RECEIVE', 'gateway:SEND', 'hub:RECEIVE', 'hub:SEND', 'onprem:RECEIVE', 'onprem:DELIVER'];
    const ev = await t.waitFor({ messageId: 'proc1@test' }, reached(steps));
    assert.deepEqual(ev.map((e) => `${e.role}:${e.type}`), steps);

    await t.send({ from: 'alice@contoso.test', to: ['x@down.test'], entry: 'hub', messageId: 'proc2@test' });
    await t.waitFor({ messageId: 'proc2@test' }, (e) => e.some((x) => x.type === 'DEFER'));
  } finally {
    gateway.kill('SIGTERM');
    hubAndOnprem.kill('SIGTERM');
  }
  assert.equal(await exited(gateway), 0);
  assert.equal(await exited(hubAndOnprem), 0);
  const q = openSqliteQueue({ dir: join(t.dir, 'data', 'hub', 'queue') });
  try {
    const rows = q.list({ recipient: 'x@down.test' });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'deferred', 'the deferred message is still queued after a graceful stop');
  } finally {
    q.close();
  }
});
