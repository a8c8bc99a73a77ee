// The operator's view of a running topology: trace, queue and mailbox commands on real role stores.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { reached, startTopology, type Topology } from '../helpers/topology.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

let t: Topology;
before(async () => {
  t = await startTopology('127.34.0');
  t.dns.setRecords([...(await import('../../src/dns/demo-zone.js')).demoZoneRecords(t.loaded.config), { name: 'down.test', type: 'MX', value: { priority: 10, exchange: 'mx.down.test' } }, { name: 'mx.down.test', type: 'A', value: `${t.net}.9` }]);
});
after(async () => {
  await t?.close();
});

test('mailflow trace shows one message across gateway, hub and on-prem, in order', async () => {
  await t.send({ from: 'a@fabrikam.test', to: ['bob@contoso.test'], entry: 'mx', messageId: 'cli1@test' });
  const steps = ['gateway:RECEIVE', 'gateway:SEND', 'hub:RECEIVE', 'hub:SEND', 'onprem:RECEIVE', 'onprem:DELIVER'];
  await t.waitFor({ messageId: 'cli1@test' }, reached(steps));
  const j = JSON.parse(run(['trace', '--config', t.configFile, '--message-id', '<cli1@test>', '--json']).stdout);
  assert.deepEqual(j.events.map((e: { role: string; type: string }) => `${e.role}:${e.type}`), steps);
  const text = run(['trace', '--config', t.configFile, '--recipient', 'bob@contoso.test']).stdout;
  assert.match(text, /onprem/);
  assert.match(text, /DELIVER/);
});

test('mailflow mailbox list and read show what landed', async () => {
  const list = JSON.parse(run(['mailbox', 'list', 'bob@contoso.test', '--config', t.configFile, '--json']).stdout);
  const m = list.messages.find((x: { role: string }) => x.role === 'onprem');
  assert.ok(m, 'bob has mail on-prem');
  const raw = run(['mailbox', 'read', 'bob@contoso.test', m.id, '--config', t.configFile, '--role', 'onprem']).stdout;
  assert.match(raw, /Message-ID: <cli1@test>/);
});

test('mailflow queue list shows a deferred recipient; queue delete removes it', async () => {
  await t.send({ from: 'alice@contoso.test', to: ['x@down.test'], entry: 'hub', messageId: 'cli2@test' });
  await t.waitFor({ messageId: 'cli2@test' }, (ev) => ev.some((e) => e.type === 'DEFER'));
  const list = JSON.parse(run(['queue', 'list', '--config', t.configFile, '--role', 'hub', '--json']).stdout);
  const row = list.rows.find((r: { recipient: string }) => r.recipient === 'x@down.test');
  assert.equal(row.status, 'deferred');
  assert.match(row.lastReply, /^450 4\.4\.316/);
  const retried = JSON.parse(run(['queue', 'retry', '--config', t.configFile, '--role', 'hub', '--recipient', 'x@down.test', '--json']).stdout);
  assert.equal(retried.retried, 1);
  await t.waitFor({ messageId: 'cli2@test' }, (ev) => ev.filter((e) => e.type === 'DEFER').length >= 2);
  const del = JSON.parse(run(['queue', 'delete', '--config', t.configFile, '--role', 'hub', '--recipient', 'x@down.test', '--json']).stdout);
  assert.equal(del.deleted, 1);
  const after = JSON.parse(run(['queue', 'list', '--config', t.configFile, '--role', 'hub', '--json']).stdout);
  assert.equal(after.rows.filter((r: { recipient: string }) => r.recipient === 'x@down.test').length, 0);
});
