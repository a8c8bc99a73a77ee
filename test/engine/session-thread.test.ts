// The roles' SMTP sessions on the process's session thread (inbound.sessionThread, default on):
// real roles, real SMTP, the queue and trace on the event loop, the listener, policy and filters on
// the thread.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import type { SqliteQueueStore } from '../../src/queue/sqlite-store.js';
import { startRole } from '../../src/roles/role.js';
import { openSessions, sessionThreadWorker } from '../../src/roles/session-thread/listener.js';
import { RawSession } from '../helpers/smtp.js';
import { reached, startTopology, type Topology } from '../helpers/topology.js';

const NET = '127.41.0';
let t: Topology;
before(async () => {
  t = await startTopology(NET);
});
after(async () => {
  await t?.close();
});

const hostPort = (listen: string) => {
  const [host, port] = listen.split(':');
  return { host: host!, port: Number(port) };
};

async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return pred();
}

/** One message over a raw session from the internet's side; returns the reply to the final dot. */
async function sendRaw(messageId: string): Promise<string> {
  const { host, port } = hostPort(t.loaded.config.gateway.listen);
  const s = await RawSession.connect(port, host);
  try {
    assert.equal((await s.read()).code, 220);
    assert.equal((await s.cmd('EHLO client.fabrikam.test')).code, 250);
    assert.equal((await s.cmd('MAIL FROM:<a@fabrikam.test>')).code, 250);
    assert.equal((await s.cmd('RCPT TO:<alice@contoso.test>')).code, 250);
    assert.equal((await s.cmd('DATA')).code, 354);
    const dot = await s.cmd(`From: <a@fabrikam.test>\r\nTo: <alice@contoso.test>\r\nSubject: s\r\nMessage-ID: <${messageId}>\r\n\r\nhello\r\n.`);
    await s.cmd('QUIT').catch(() => undefined);
    return dot.last;
  } finally {
    s.close();
  }
}

test('sessions run on the session thread; the 250 names a queue id the role has committed', async () => {
  assert.ok(sessionThreadWorker(), 'a session thread runs');
  const dot = await sendRaw('st1@test');
  const m = /^250 2\.6\.0 Queued mail for delivery as (\S+)/.exec(dot);
  assert.ok(m, dot);
  // The role's event loop committed it before the thread answered: its RECEIVE carries that id,
  // and the message goes on to the hub as any other.
  const ev = await t.waitFor({ messageId: 'st1@test' }, reached(['gateway:RECEIVE', 'hub:DELIVER']));
  const rec = ev.find((e) => e.role === 'gateway' && e.type === 'RECEIVE')!;
  assert.equal(rec.queueId, m[1]);
  assert.match(rec.reason ?? '', /from internet/);
});

test('a lone session\'s message is committed by the session thread itself; the role adopts and delivers it', async () => {
  const gw = t.roles.get('gateway')!;
  const q = gw.queue as SqliteQueueStore;
  assert.ok(await until(() => openSessions() <= 2), 'few sessions open');
  const before = q.stats();
  const dot = await sendRaw('st6@test');
  const m = /^250 2\.6\.0 Queued mail for delivery as (\S+)/.exec(dot);
  assert.ok(m, dot);
  // Counted by the role's queue, with no group commit of its own: the thread's writer committed it.
  assert.ok(await until(() => q.stats().enqueued === before.enqueued + 1), 'adopted by the role');
  assert.equal(q.stats().commits, before.commits);
  const ev = await t.waitFor({ messageId: 'st6@test' }, reached(['gateway:RECEIVE', 'gateway:SEND', 'hub:DELIVER']));
  assert.equal(ev.find((e) => e.role === 'gateway' && e.type === 'RECEIVE')!.queueId, m[1]);
  assert.ok(await until(() => q.list({ queueId: m[1] }).every((r) => r.status === 'delivered')), 'its row is marked delivered');
});

test("connections() on the role's side counts the thread's open sessions", async () => {
  const gw = t.roles.get('gateway')!;
  const { host, port } = hostPort(t.loaded.config.gateway.listen);
  assert.ok(await until(() => gw.server.connections() === 0));
  const a = await RawSession.connect(port, host);
  const b = await RawSession.connect(port, host);
  await a.read();
  await b.read();
  assert.equal(gw.server.connections(), 2);
  // openSessions() (which decides where the queues fdatasync) counts every role's sessions together.
  const all = () => [...t.roles.values()].reduce((n, r) => n + r.server.connections(), 0);
  assert.ok(await until(() => openSessions() === all() && openSessions() >= 2), `openSessions() ${openSessions()}, the roles' sum ${all()}`);
  a.close();
  b.close();
  assert.ok(await until(() => gw.server.connections() === 0), 'back to 0 once both left');
});

test('a session thread that dies is replaced: every role listens again and mail flows', async () => {
  const first = sessionThreadWorker()!;
  const exited = new Promise((r) => first.once('exit', r));
  await first.terminate();
  await exited;
  // While it is gone the listeners are closed: a connection is refused, nothing is half-accepted.
  assert.ok(await until(() => sessionThreadWorker() !== first && sessionThreadWorker() !== null, 5000), 'a new thread started');
  let dot = '';
  const end = Date.now() + 8000;
  while (!dot.startsWith('250') && Date.now() < end) {
    dot = await sendRaw('st2@test').catch((e: Error) => e.message);
    if (!dot.startsWith('250')) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(dot, /^250 /, 'the gateway answers again');
  await t.waitFor({ messageId: 'st2@test' }, reached(['gateway:RECEIVE', 'hub:DELIVER']));
  // the hub's listener came back on the same thread too
  const r = await t.send({ from: 'alice@contoso.test', to: ['x@fabrikam.test'], entry: 'hub', messageId: 'st3@test' });
  assert.equal(r.outcomes[0]!.kind, 'delivered');
});

test('a role whose address is taken fails to start with the reason, and leaves the others serving', async () => {
  // a second gateway on an address another process already holds
  const { host, port } = hostPort(t.loaded.config.gateway.listen);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, host, r));
  const taken = (blocker.address() as net.AddressInfo).port;
  try {
    // its own data directory: the running gateway holds the queue's owner lock on its own
    const loaded = { ...t.loaded, config: { ...t.loaded.config, dataDir: join(t.dir, 'second'), gateway: { ...t.loaded.config.gateway, listen: `${host}:${taken}` } } };
    await assert.rejects(startRole(loaded, 'gateway', { deliver: false }), /gateway: cannot listen on .*EADDRINUSE/);
  } finally {
    blocker.close();
  }
  assert.match(await sendRaw('st4@test'), /^250 /, `the running gateway on ${port} still serves`);
});

test('stopping a role lets a session in DATA finish: its message is committed and answered 250', async () => {
  const gw = t.roles.get('gateway')!;
  const { host, port } = hostPort(t.loaded.config.gateway.listen);
  const s = await RawSession.connect(port, host);
  assert.equal((await s.read()).code, 220);
  await s.cmd('EHLO client.fabrikam.test');
  await s.cmd('MAIL FROM:<a@fabrikam.test>');
  await s.cmd('RCPT TO:<alice@contoso.test>');
  assert.equal((await s.cmd('DATA')).code, 354);
  s.write('From: <a@fabrikam.test>\r\nTo: <alice@contoso.test>\r\nSubject: s\r\nMessage-ID: <st5@test>\r\n\r\nhalf');
  const stopped = gw.stop(5000);
  t.roles.delete('gateway');
  // the listener is closed at once: a new client is refused, not half-served
  await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(RawSession.connect(port, host), /ECONNREFUSED/);
  const dot = await s.cmd(' of it\r\n.');
  assert.match(dot.last, /^250 2\.6\.0 Queued mail for delivery as /);
  s.close();
  await stopped;
  assert.ok(t.events({ messageId: 'st5@test' }).some((e) => e.role === 'gateway' && e.type === 'RECEIVE'));
});
