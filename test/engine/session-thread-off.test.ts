// inbound.sessionThread: false keeps the sessions on the roles' event loop: no session thread
// starts, and mail takes the same path.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionThreadWorker } from '../../src/roles/session-thread/listener.js';
import { reached, startTopology, type Topology } from '../helpers/topology.js';

let t: Topology;
before(async () => {
  t = await startTopology('127.42.0', (y) => `${y}\ninbound:\n  sessionThread: false\n`);
});
after(async () => {
  await t?.close();
});

test('with sessionThread off no session thread runs, and internet mail reaches an on-prem mailbox', async () => {
  assert.equal(sessionThreadWorker(), null);
  await t.send({ from: 'a@fabrikam.test', to: ['bob@contoso.test'], entry: 'mx', messageId: 'off1@test' });
  const steps = ['gateway:RECEIVE', 'gateway:SEND', 'hub:RECEIVE', 'hub:SEND', 'onprem:RECEIVE', 'onprem:DELIVER'];
  await t.waitFor({ messageId: 'off1@test' }, reached(steps));
  assert.equal(sessionThreadWorker(), null);
});
