// Every path of the seeds over real SMTP between real roles, with the refusals that keep the hub locked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { reached, startTopology, type Topology } from '../helpers/topology.js';
import type { TraceEvent } from '../../src/trace/types.js';

let t: Topology;
before(async () => {
  t = await startTopology('127.31.0');
});
after(async () => {
  await t?.close();
});

const delivered = (role: string, rcpt: string) => (ev: TraceEvent[]) => ev.some((e) => e.type === 'DELIVER' && e.role === role && e.recipient === rcpt);
const path = (ev: TraceEvent[]) => ev.map((e) => `${e.role}:${e.type}`);

test('internet → cloud mailbox: through the gateway and the partner connector, into the hub Maildir', async () => {
  const r = await t.send({ from: 'a@fabrikam.test', to: ['alice@contoso.test'], entry: 'mx', messageId: 'p1@test' });
  assert.equal(r.outcomes[0]!.kind, 'delivered');
  const steps = ['gateway:RECEIVE', 'gateway:SEND', 'hub:RECEIVE', 'hub:DELIVER'];
  const ev = await t.waitFor({ messageId: 'p1@test' }, reached(steps));
  assert.deepEqual(path(ev), steps);
  assert.equal(ev[2]!.connector, 'From gateway');
  const msgs = t.roles.get('hub')!.mailboxes.list('alice@contoso.test');
  assert.equal(msgs.length, 1);
  const raw = t.roles.get('hub')!.mailboxes.read('alice@contoso.test', msgs[0]!.id).toString();
  assert.equal((raw.match(/^Received: /gm) ?? []).length, 2, 'one Received header per hop');
});

test('internet → on-prem mailbox: hub hands it to the on-premises outbound connector', async () => {
  await t.send({ from: 'a@fabrikam.test', to: ['bob@contoso.test'], entry: 'mx', messageId: 'p2@test' });
  const steps = ['gateway:RECEIVE', 'gateway:SEND', 'hub:RECEIVE', 'hub:SEND', 'onprem:RECEIVE', 'onprem:DELIVER'];
  const ev = await t.waitFor({ messageId: 'p2@test' }, reached(steps));
  assert.deepEqual(path(ev), steps);
  assert.equal(ev[3]!.connector, 'To on-premises');
});

test('on-prem → internet goes through the hub and straight out, never through the gateway', async () => {
  await t.send({ from: 'bob@contoso.test', to: ['x@fabrikam.test'], entry: 'onprem', messageId: 'p3@test' });
  const steps = ['onprem:RECEIVE', 'onprem:SEND', 'hub:RECEIVE', 'hub:SEND', 'internet:DELIVER'];
  const ev = await t.waitFor({ messageId: 'p3@test' }, reached(steps));
  assert.deepEqual(path(ev), steps);
  assert.equal(ev[2]!.connector, 'From on-premises', 'the hub attributes on-prem mail to its on-premises connector');
  assert.ok(!ev.some((e) => e.role === 'gateway'));
});

test('cloud → internet, on-prem → cloud, cloud → on-prem', async () => {
  await t.send({ from: 'alice@contoso.test', to: ['y@fabrikam.test'], entry: 'hub', messageId: 'p4@test' });
  await t.send({ from: 'bob@contoso.test', to: ['carol@contoso.test'], entry: 'onprem', messageId: 'p5@test' });
  await t.send({ from: 'alice@contoso.test', to: ['dave@contoso.test'], entry: 'hub', messageId: 'p6@test' });
  const expectPath = async (messageId: string, steps: string[]) => assert.deepEqual(path(await t.waitFor({ messageId }, reached(steps))), steps);
  await expectPath('p4@test', ['hub:RECEIVE', 'hub:SEND', 'internet:DELIVER']);
  await expectPath('p5@test', ['onprem:RECEIVE', 'onprem:SEND', 'hub:RECEIVE', 'hub:DELIVER']);
  await expectPath('p6@test', ['hub:RECEIVE', 'hub:SEND', 'onprem:RECEIVE', 'onprem:DELIVER']);
});

test('one message to a cloud and an on-prem recipient is split by next hop and reaches both', async () => {
  await t.send({ from: 'a@fabrikam.test', to: ['carol@contoso.test', 'dave@contoso.test'], entry: 'mx', messageId: 'p7@test' });
  const ev = await t.waitFor({ messageId: 'p7@test' }, (e) => delivered('hub', 'carol@contoso.test')(e) && delivered('onprem', 'dave@contoso.test')(e));
  assert.ok(delivered('onprem', 'dave@contoso.test')(ev));
});

test('refusals: unknown recipient 5.1.10 at RCPT, direct-to-hub 5.7.51, open relay 5.7.1, on-prem mailbox from outside', async () => {
  const unknown = await t.send({ from: 'a@fabrikam.test', to: ['nobody@contoso.test'], entry: 'mx' });
  assert.equal(unknown.outcomes[0]!.kind, 'failed');
  assert.equal(unknown.outcomes[0]!.reply.code, 550);
  assert.equal(unknown.outcomes[0]!.reply.enhanced, '5.1.10');

  const bypass = await t.send({ from: 'ceo@contoso.test', to: ['alice@contoso.test'], entry: 'hub', local: `${t.net}.5` });
  assert.equal(bypass.outcomes[0]!.kind, 'failed');
  assert.equal(bypass.outcomes[0]!.reply.enhanced, '5.7.51');

  for (const entry of ['gateway', 'hub', 'onprem'] as const) {
    const relay = await t.send({ from: 'a@fabrikam.test', to: ['victim@example.org'], entry, local: `${t.net}.5` });
    assert.equal(relay.outcomes[0]!.kind, 'failed', `${entry} must not relay`);
    assert.equal(relay.outcomes[0]!.reply.code, 550);
  }
  // the trace batches inserts under load (up to 50 ms after the last one): wait for it, bounded
  const isRefusal = (e: TraceEvent) => e.type === 'REJECT' && e.role === 'gateway' && /5\.1\.10/.test(e.reply ?? '');
  const rejected = await t.waitFor({ recipient: 'nobody@contoso.test' }, (ev) => ev.some(isRefusal), 5000);
  assert.ok(rejected.some(isRefusal), 'the refusal is in the trace');
});
