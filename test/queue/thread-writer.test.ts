// A second writer on the owner's queue database (the session thread's): what it commits is durable
// before it resolves, leased to the owner, delivered from memory once adopted, and found by the SQL
// path when the owner cannot keep it; it waits for the owner's write lock without blocking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openSqliteQueue } from '../../src/queue/sqlite-store.js';
import { openQueueWriter } from '../../src/queue/thread-writer.js';
import { reply } from '../../src/smtp/replies.js';
import { fakeClock, message, tempDir } from './helpers.js';

const LEASE = 10 * 60_000;

function ownerAndWriter(t: { after(fn: () => void): void }, handoff: { maxMessages?: number } = {}) {
  const dir = tempDir(t);
  const clock = fakeClock();
  const owner = openSqliteQueue({ dir, clock: clock.now, handoff: { leaseMs: LEASE, ...handoff } });
  const info = owner.writerInfo();
  assert.ok(info, 'an owner in handoff mode lets a writer in');
  const writer = openQueueWriter({ info, clock: clock.now });
  t.after(async () => {
    await writer.close();
    owner.close();
  });
  return { dir, clock, owner, writer };
}

test('a message the writer commits is in the database, leased to the owner, before it resolves; adopted, it is delivered from memory', async (t) => {
  const { dir, clock, owner, writer } = ownerAndWriter(t);
  const msg = message(1, { recipients: ['a@f.test', 'b@f.test'] });
  const w = await writer.write(msg);
  assert.equal(w.leaseUntil, clock.now() + LEASE);

  // A third connection (as after a crash) finds the rows and the body.
  const db = new Database(join(dir, 'queue.db'), { readonly: true });
  try {
    const rows = db.prepare(`SELECT id, recipient, status, lease_until FROM recipients WHERE queue_id = ? ORDER BY id`).all(w.queued.queueId);
    assert.deepEqual(rows, w.rows.map((r) => ({ id: r.id, recipient: r.recipient, status: 'queued', lease_until: w.leaseUntil })));
    assert.deepEqual(db.prepare(`SELECT data FROM bodies WHERE queue_id = ?`).pluck().get(w.queued.queueId), msg.body);
  } finally {
    db.close();
  }
  // Leased to the owner: its SQL path does not take them before the lease ends.
  assert.equal(owner.claimDue(clock.now(), 10, LEASE).length, 0);

  owner.adopt(w, msg.body);
  const jobs = owner.claimDue(clock.now(), 10, LEASE);
  assert.deepEqual(jobs.map((j) => [j.row.id, j.row.recipient]), w.rows.map((r) => [r.id, r.recipient]));
  assert.deepEqual(owner.readBody(w.queued.queueId), msg.body);
  for (const j of jobs) owner.markDelivered(j.row.id, reply('OK'), clock.now());
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(owner.list().map((r) => [r.recipient, r.status]), [['a@f.test', 'delivered'], ['b@f.test', 'delivered']]);
  assert.throws(() => owner.readBody(w.queued.queueId), /gone/);
  assert.equal(owner.stats().enqueued, 1, 'counted as enqueued by the owner');
  assert.equal(owner.stats().commits, 0, 'without a commit of its own');
});

test('an owner with no room in memory frees the adopted rows for its SQL path at once', async (t) => {
  const { clock, owner, writer } = ownerAndWriter(t, { maxMessages: 0 });
  const msg = message(2);
  const w = await writer.write(msg);
  owner.adopt(w, msg.body);
  const jobs = owner.claimDue(clock.now(), 10, LEASE);
  assert.deepEqual(jobs.map((j) => j.row.id), w.rows.map((r) => r.id), 'claimed through SQL, not after the lease');
  assert.deepEqual(owner.readBody(w.queued.queueId), msg.body);
});

test('a message the owner never adopted (its thread died before the post) is delivered by the SQL path once the lease ends', async (t) => {
  const { clock, owner, writer } = ownerAndWriter(t);
  const msg = message(6);
  const w = await writer.write(msg);
  assert.equal(owner.claimDue(clock.now(), 10, LEASE).length, 0, 'leased: not before the lease ends');
  clock.advance(LEASE + 1);
  const jobs = owner.claimDue(clock.now(), 10, LEASE);
  assert.deepEqual(jobs.map((j) => j.row.id), w.rows.map((r) => r.id));
  assert.deepEqual(owner.readBody(w.queued.queueId), msg.body);
});

test("the writer waits for the owner's write lock on later turns, and gives up with an error past its limit", async (t) => {
  const { dir, owner, writer } = ownerAndWriter(t);
  const holder = new Database(join(dir, 'queue.db'));
  t.after(() => holder.close());
  holder.exec('BEGIN IMMEDIATE');
  let settled = false;
  const pending = writer.write(message(3)).finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(settled, false, 'still waiting while the lock is held');
  holder.exec('COMMIT');
  const w = await pending;
  owner.adopt(w, message(3).body);
  assert.equal(owner.list().length, 1);

  // A writer with a short limit refuses rather than waits forever (the session answers 451).
  const impatient = openQueueWriter({ info: owner.writerInfo()!, lockWaitMs: 30 });
  t.after(() => impatient.close());
  holder.exec('BEGIN IMMEDIATE');
  try {
    await assert.rejects(impatient.write(message(4)), (err: { code?: string }) => err.code === 'SQLITE_BUSY');
  } finally {
    holder.exec('ROLLBACK');
  }
});

test('messages written together each get their own queue id, and a body over the inline limit is left to the owner', async (t) => {
  const { owner, writer } = ownerAndWriter(t);
  const ws = await Promise.all([1, 2, 3].map((n) => writer.write(message(10 + n))));
  assert.equal(new Set(ws.map((w) => w.queued.queueId)).size, 3);
  const info = owner.writerInfo()!;
  assert.equal(writer.fits(info.inlineBodyMaxBytes), true);
  assert.equal(writer.fits(info.inlineBodyMaxBytes + 1), false);
  await assert.rejects(writer.write(message(5, { body: Buffer.alloc(info.inlineBodyMaxBytes + 1, 97) })), RangeError);
});

test('only an owner that hands fresh mail off lets a writer in', (t) => {
  const dir = tempDir(t);
  const plain = openSqliteQueue({ dir });
  t.after(() => plain.close());
  assert.equal(plain.writerInfo(), null);
});
