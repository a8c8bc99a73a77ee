// Temporary failures: deferred with an EXO-style reply, retried on the schedule, delivered when the
// next hop comes back; or, once the schedule is used up, expired with an NDR to the sender.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { startInternet } from '../../src/demo/internet.js';
import { startTopology, type Topology } from '../helpers/topology.js';

let t: Topology;
before(async () => {
  t = await startTopology('127.32.0', (y) => y.replace('retry: 1m,5m,10m,15m,30m,1h*23', 'retry: 1s*3').replace('expire: 24h ', 'expire: 1h '));
  // Two external domains whose MX hosts are not up yet: later.test comes back, never.test does not.
  t.dns.setRecords([
    ...demoZoneRecords(t.loaded.config),
    { name: 'later.test', type: 'MX', value: { priority: 10, exchange: 'mx.later.test' } },
    { name: 'mx.later.test', type: 'A', value: `${t.net}.9` },
    { name: 'never.test', type: 'MX', value: { priority: 10, exchange: 'mx.never.test' } },
    { name: 'mx.never.test', type: 'A', value: `${t.net}.10` },
  ]);
});
after(async () => {
  await t?.close();
});

test('a refused connection defers (4.4.316), and the retry delivers once the host is up', async () => {
  const r = await t.send({ from: 'alice@contoso.test', to: ['pat@later.test'], entry: 'hub', messageId: 'retry1@test' });
  assert.equal(r.outcomes[0]!.kind, 'delivered', 'accepted by the hub');
  const deferred = await t.waitFor({ messageId: 'retry1@test' }, (ev) => ev.some((e) => e.type === 'DEFER'));
  const defer = deferred.find((e) => e.type === 'DEFER')!;
  assert.match(defer.reply ?? '', /^450 4\.4\.316/);
  const queued = t.roles.get('hub')!.queue.list({ recipient: 'pat@later.test' });
  assert.equal(queued[0]!.status, 'deferred');

  const later = await startInternet({ host: `${t.net}.9`, port: t.loaded.config.smtpPort, hostname: 'mx.later.test', domains: ['later.test'], dataDir: join(t.dir, 'later') });
  try {
    // The sink has the message before the hub records its SEND (the 250 comes first): wait for both.
    const ev = await t.waitFor({ messageId: 'retry1@test' }, (e) => later.sink.list('pat@later.test').length > 0 && e.some((x) => x.type === 'SEND' && x.role === 'hub'), 20_000);
    assert.equal(later.sink.list('pat@later.test').length, 1, 'delivered exactly once after the retry');
    assert.ok(ev.some((e) => e.type === 'SEND' && e.role === 'hub' && /^250/.test(e.reply ?? '')));
    assert.equal(t.roles.get('hub')!.queue.list({ recipient: 'pat@later.test', status: ['delivered'] }).length, 1);
  } finally {
    await later.stop();
  }
});

test('when the schedule is used up the recipient expires with an NDR (5.4.316) back to the sender', async () => {
  await t.send({ from: 'alice@contoso.test', to: ['pat@never.test'], entry: 'hub', messageId: 'retry2@test' });
  const ev = await t.waitFor({ messageId: 'retry2@test' }, (e) => e.some((x) => x.type === 'DSN'), 30_000);
  const defers = ev.filter((e) => e.type === 'DEFER');
  assert.equal(defers.length, 3, 'one DEFER per scheduled retry');
  const fail = ev.find((e) => e.type === 'FAIL')!;
  assert.match(fail.reply ?? '', /^550 5\.4\.316/);
  assert.equal(t.roles.get('hub')!.queue.list({ recipient: 'pat@never.test', status: ['expired'] }).length, 1);
  // The DSN is real mail: it travels to alice's cloud mailbox.
  await t.waitFor({ recipient: 'alice@contoso.test' }, () => t.roles.get('hub')!.mailboxes.list('alice@contoso.test').length > 0);
  const [m] = t.roles.get('hub')!.mailboxes.list('alice@contoso.test');
  const dsn = t.roles.get('hub')!.mailboxes.read('alice@contoso.test', m!.id).toString();
  assert.match(dsn, /Return-Path: <>/);
  assert.match(dsn, /multipart\/report; *report-type=delivery-status/i);
  assert.match(dsn, /Final-Recipient: rfc822; ?pat@never\.test/i);
  assert.match(dsn, /Status: 5\.4\.316/);
  assert.match(dsn, /Message-ID: <retry2@test>/i, 'the original headers come back');
});

test('no DSN is sent for a message from the null sender (no bounce loops)', async () => {
  await t.send({ from: '', to: ['pat@never.test'], entry: 'hub', local: `${t.net}.1`, messageId: 'retry3@test' });
  const ev = await t.waitFor({ messageId: 'retry3@test' }, (e) => e.some((x) => x.type === 'DSN' || x.type === 'FAIL'), 30_000);
  const dsn = ev.find((e) => e.type === 'DSN');
  assert.ok(dsn, 'the decision is traced');
  assert.match(dsn!.reason ?? '', /no DSN/);
});
