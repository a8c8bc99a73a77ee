// inbound.threadCommit: false keeps every commit on the roles' event loop: a lone session's message
// is posted there and committed by the role's queue (a group commit of its own), and flows on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqliteQueueStore } from '../../src/queue/sqlite-store.js';
import { sessionThreadWorker } from '../../src/roles/session-thread/listener.js';
import { reached, startTopology, type Topology } from '../helpers/topology.js';

let t: Topology;
before(async () => {
  t = await startTopology('127.43.0', (y) => `${y}\ninbound:\n  threadCommit: false\n`);
});
after(async () => {
  await t?.close();
});

test('with threadCommit off the role commits a lone session\'s message itself, and it reaches the on-prem mailbox', async () => {
  assert.ok(sessionThreadWorker(), 'sessions still run on the session thread');
  const q = t.roles.get('gateway')!.queue as SqliteQueueStore;
  const before = q.stats();
  await t.send({ from: 'a@fabrikam.test', to: ['bob@contoso.test'], entry: 'mx', messageId: 'tc-off1@test' });
  assert.equal(q.stats().commits, before.commits + 1, 'a group commit on the event loop');
  assert.equal(q.stats().enqueued, before.enqueued + 1);
  await t.waitFor({ messageId: 'tc-off1@test' }, reached(['gateway:RECEIVE', 'hub:RECEIVE', 'onprem:DELIVER']));
});
