import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool, type Poolable } from '../../src/smtp/outbound/pool.js';
import { checkPeer, tlsIdentity, tlsPlan } from '../../src/smtp/outbound/tls-policy.js';
import type { SendTarget } from '../../src/smtp/outbound/types.js';

class FakeConn implements Poolable {
  closed = false;
  broken = false;
  onClose: (() => void) | null = null;
  quits = 0;
  constructor(readonly id: number) {}
  quit(): void {
    this.quits++;
    this.end();
  }
  /** The server closed it. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    const cb = this.onClose;
    this.onClose = null;
    cb?.();
  }
}

test('pool: a released connection is handed out again for the same key only', async () => {
  const pool = new ConnectionPool<FakeConn>(2, 60_000);
  const l1 = await pool.acquire('a');
  assert.equal(l1.kind, 'open');
  const c = new FakeConn(1);
  pool.release('a', c, true);
  assert.deepEqual(pool.stats('a'), { open: 1, idle: 1, waiting: 0 });
  assert.equal((await pool.acquire('b')).kind, 'open', 'other key opens its own');
  const l2 = await pool.acquire('a');
  assert.equal(l2.kind, 'reuse');
  assert.equal(l2.kind === 'reuse' && l2.conn, c);
  pool.close();
});

test('pool: beyond maxPerKey a send waits (FIFO) and gets the next released connection', async () => {
  const pool = new ConnectionPool<FakeConn>(2, 60_000);
  await pool.acquire('k');
  await pool.acquire('k');
  const order: number[] = [];
  const w1 = pool.acquire('k').then((l) => (order.push(1), l));
  const w2 = pool.acquire('k').then((l) => (order.push(2), l));
  assert.deepEqual(pool.stats('k'), { open: 2, idle: 0, waiting: 2 });
  const c = new FakeConn(7);
  pool.release('k', c, true);
  const got = await w1;
  assert.equal(got.kind === 'reuse' && got.conn, c);
  // a broken connection is quit and its slot passes to the next waiter as "open a new one"
  c.broken = true;
  pool.release('k', c, true);
  assert.equal((await w2).kind, 'open');
  assert.equal(c.quits, 1);
  assert.deepEqual(order, [1, 2]);
  assert.deepEqual(pool.stats('k'), { open: 2, idle: 0, waiting: 0 });
  pool.close();
});

test('pool: failed opens free their slot; counts never go negative', async () => {
  const pool = new ConnectionPool<FakeConn>(1, 60_000);
  for (let i = 0; i < 5; i++) {
    assert.equal((await pool.acquire('k')).kind, 'open');
    pool.release('k', null, false);
  }
  assert.deepEqual(pool.stats('k'), { open: 0, idle: 0, waiting: 0 });
});

test('pool: an idle connection closed by the server leaves the pool', async () => {
  const pool = new ConnectionPool<FakeConn>(1, 60_000);
  await pool.acquire('k');
  const c = new FakeConn(1);
  pool.release('k', c, true);
  c.end();
  assert.deepEqual(pool.stats('k'), { open: 0, idle: 0, waiting: 0 });
  assert.equal((await pool.acquire('k')).kind, 'open');
  pool.close();
});

test('pool: idle connections are quit after idleMs', async () => {
  const pool = new ConnectionPool<FakeConn>(1, 10);
  await pool.acquire('k');
  const c = new FakeConn(1);
  pool.release('k', c, true);
  for (let i = 0; i < 200 && !c.closed; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(c.quits, 1);
  assert.deepEqual(pool.stats('k'), { open: 0, idle: 0, waiting: 0 });
});

test('pool: close() quits idle connections, answers waiters "closed", and refuses new leases', async () => {
  const pool = new ConnectionPool<FakeConn>(1, 60_000);
  await pool.acquire('k');
  const waiting = pool.acquire('k');
  const idle = new FakeConn(2);
  await pool.acquire('j');
  pool.release('j', idle, true);
  const quitting = pool.close();
  assert.deepEqual(quitting, [idle]);
  assert.equal(idle.quits, 1);
  assert.equal((await waiting).kind, 'closed');
  assert.equal((await pool.acquire('k')).kind, 'closed');
  const busy = new FakeConn(3);
  pool.release('k', busy, true);
  assert.equal(busy.quits, 1, 'a connection released after close is quit, not parked');
});

test('pool: rejects nonsense limits', () => {
  assert.throws(() => new ConnectionPool(0, 1000), RangeError);
  assert.throws(() => new ConnectionPool(1, -1), RangeError);
});

const target = (t: Partial<SendTarget>): SendTarget => ({ host: '127.0.0.1', port: 25, tls: 'opportunistic', ...t });

test('tls plan per policy', () => {
  assert.equal(tlsPlan(target({ tls: 'none' })).ignoreTls, true);
  const opp = tlsPlan(target({ tls: 'opportunistic', ca: 'CA' }));
  assert.deepEqual([opp.ignoreTls, opp.mustEncrypt, opp.verify, opp.tlsOptions.ca], [false, false, 'none', undefined]);
  const req = tlsPlan(target({ tls: 'required' }));
  assert.deepEqual([req.mustEncrypt, req.verify], [true, 'none']);
  const cv = tlsPlan(target({ tls: 'certificate-validation', ca: 'PEM' }));
  assert.deepEqual([cv.mustEncrypt, cv.verify], [true, 'chain']);
  assert.ok(Array.isArray(cv.tlsOptions.ca) && cv.tlsOptions.ca.includes('PEM') && cv.tlsOptions.ca.length > 1, 'private CA added to system roots');
  const dv = tlsPlan(target({ tls: 'domain-validation', servername: 'hub.example' }));
  assert.deepEqual([dv.verify, dv.name, dv.tlsOptions.servername], ['chain-and-name', 'hub.example', 'hub.example']);
  assert.equal(tlsPlan(target({ tls: 'domain-validation' })).name, '127.0.0.1');
  assert.equal(tlsPlan(target({ tls: 'required' }), { plaintextRetry: true }).ignoreTls, true);
  const withCert = tlsPlan(target({ clientCert: { key: 'K', cert: 'C' } }));
  assert.deepEqual([withCert.tlsOptions.key, withCert.tlsOptions.cert], ['K', 'C']);
});

test('checkPeer: chain and name are separate judgements', () => {
  const cert = { raw: Buffer.from('x'), subject: { CN: 'hub.example' }, subjectaltname: 'DNS:hub.example' } as never;
  const dv = tlsPlan(target({ tls: 'domain-validation', servername: 'hub.example' }));
  const cv = tlsPlan(target({ tls: 'certificate-validation' }));
  const opp = tlsPlan(target({ tls: 'opportunistic' }));
  assert.equal(checkPeer(opp, { authorized: false, authorizationError: 'SELF_SIGNED' }), null);
  assert.equal(checkPeer(cv, { authorized: false, authorizationError: 'SELF_SIGNED', certificate: cert }), 'SELF_SIGNED');
  assert.equal(checkPeer(cv, { authorized: true, certificate: cert }), null);
  assert.equal(checkPeer(dv, { authorized: true, certificate: cert }), null);
  const other = tlsPlan(target({ tls: 'domain-validation', servername: 'other.example' }));
  assert.match(checkPeer(other, { authorized: true, certificate: cert }) ?? '', /other\.example/);
  assert.match(checkPeer(cv, { authorized: true }) ?? '', /no certificate/);
});

test('tlsIdentity separates client certificates, CAs and policies', () => {
  const a = tlsIdentity(target({ clientCert: { key: 'k', cert: 'A' } }));
  const b = tlsIdentity(target({ clientCert: { key: 'k', cert: 'B' } }));
  assert.notEqual(a, b);
  assert.notEqual(tlsIdentity(target({ tls: 'required' })), tlsIdentity(target({ tls: 'opportunistic' })));
  assert.notEqual(tlsIdentity(target({ tls: 'certificate-validation', ca: '1' })), tlsIdentity(target({ tls: 'certificate-validation', ca: '2' })));
});
