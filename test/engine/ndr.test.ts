// Permanent failures come back to the sender as an NDR; loops are cut by the hop count with an NDR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTopology, type Topology } from '../helpers/topology.js';

let t: Topology;
before(async () => {
  // No directory validation at the gateway: an unknown internal-relay recipient reaches on-prem,
  // which is authoritative and refuses it. maxHops 1: on-prem sees 2 Received headers and refuses.
  t = await startTopology('127.35.0', (y) => y.replace('  inSpf: true\n\nhub:', '  inSpf: true\n  validateRecipients: false\n\nhub:'));
});
after(async () => {
  await t?.close();
});

test('on-prem refuses an unknown recipient (5.1.1); the hub bounces it with an NDR to the internet sender', async () => {
  const r = await t.send({ from: 'sender@fabrikam.test', to: ['ghost@contoso.test'], entry: 'mx', messageId: 'ndr1@test' });
  assert.equal(r.outcomes[0]!.kind, 'delivered', 'the gateway accepts: it does not validate here');
  const ev = await t.waitFor({ messageId: 'ndr1@test' }, (e) => e.some((x) => x.type === 'DSN'));
  const fail = ev.find((e) => e.type === 'FAIL')!;
  assert.equal(fail.role, 'hub');
  assert.match(fail.reply ?? '', /^550 5\.1\.1 /);
  await t.waitFor({ recipient: 'sender@fabrikam.test' }, () => t.internet.sink.list('sender@fabrikam.test').length > 0);
  const [m] = t.internet.sink.list('sender@fabrikam.test');
  const dsn = t.internet.sink.read('sender@fabrikam.test', m!.id).toString();
  assert.match(dsn, /Final-Recipient: rfc822; ?ghost@contoso\.test/i);
  assert.match(dsn, /Action: failed/i);
  assert.match(dsn, /Status: 5\.1\.1/);
});

test('a loop is cut by the hop count: the next hop refuses with 5.4.14 and the sender gets an NDR', async () => {
  const t2 = await startTopology('127.36.0', (y) => y.replace('maxHops: 50', 'maxHops: 1'));
  try {
    await t2.send({ from: 'sender@fabrikam.test', to: ['bob@contoso.test'], entry: 'mx', messageId: 'loop1@test' });
    const ev = await t2.waitFor({ messageId: 'loop1@test' }, (e) => e.some((x) => x.type === 'DSN'));
    const fail = ev.find((e) => e.type === 'FAIL')!;
    assert.match(fail.reply ?? '', /^554 5\.4\.14/);
    assert.ok(!ev.some((e) => e.type === 'DELIVER' && e.role === 'onprem'), 'never delivered');
    await t2.waitFor({ recipient: 'sender@fabrikam.test' }, () => t2.internet.sink.list('sender@fabrikam.test').length > 0);
    assert.equal(t2.internet.sink.list('sender@fabrikam.test').length, 1, 'the NDR reached the sender');
  } finally {
    await t2.close();
  }
});
