import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteQueue } from '../../src/queue/sqlite-store.js';
import { MISSING_BODY_REPLY } from '../../src/queue/recovery.js';
import { reply } from '../../src/smtp/replies.js';
import { fakeClock, message, tempDir } from './helpers.js';

const MIN = 60_000;

test('a queued recipient is claimed, deferred, claimed again when due, delivered, and its body file removed', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  const store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  const msg = message(1);
  const q = await store.enqueue(msg);
  assert.equal(q.size, msg.body.length);
  assert.equal(q.queuedAt, clock.now());
  assert.ok(existsSync(join(dir, 'spool', `${q.queueId}.eml`)));
  assert.deepEqual(store.readBody(q.queueId), msg.body);

  const t0 = clock.now();
  const [job, ...rest] = store.claimDue(t0, 10, MIN);
  assert.equal(rest.length, 0);
  assert.ok(job);
  assert.equal(job.row.recipient, 'bob1@fabrikam.com');
  assert.equal(job.row.status, 'queued');
  assert.equal(job.row.leaseUntil, t0 + MIN);
  assert.equal(job.message.queueId, q.queueId);
  assert.deepEqual(job.message.meta, msg.meta);
  assert.equal(store.claimDue(t0, 10, MIN).length, 0, 'a leased row is not handed out twice');

  store.markDeferred(job.row.id, reply('CONNECT_REFUSED'), t0 + 5 * MIN, t0);
  const [deferred] = store.list({ queueId: q.queueId });
  assert.equal(deferred?.status, 'deferred');
  assert.equal(deferred?.attempts, 1);
  assert.equal(deferred?.leaseUntil, 0);
  assert.deepEqual(deferred?.lastReply, reply('CONNECT_REFUSED'));
  assert.equal(store.nextDueAt(), t0 + 5 * MIN);
  assert.equal(store.claimDue(t0 + 4 * MIN, 10, MIN).length, 0, 'not due yet');

  const [again] = store.claimDue(t0 + 5 * MIN, 10, MIN);
  assert.equal(again?.row.id, job.row.id);
  store.markDelivered(job.row.id, reply('OK'), t0 + 5 * MIN);
  const [done] = store.list({ queueId: q.queueId });
  assert.equal(done?.status, 'delivered');
  assert.equal(done?.attempts, 2);
  assert.equal(done?.nextAttemptAt, t0 + 5 * MIN);
  assert.equal(existsSync(join(dir, 'spool', `${q.queueId}.eml`)), false, 'body removed once every row is final');
  assert.throws(() => store.readBody(q.queueId), /gone/);
  assert.equal(store.nextDueAt(), null);
});

test('an inline body stays until the last recipient is final', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  const store = openSqliteQueue({ dir, clock: clock.now });
  t.after(() => store.close());
  const q = await store.enqueue(message(2, { recipients: ['a@fabrikam.com', 'b@fabrikam.com'] }));
  assert.equal(readdirSync(join(dir, 'spool')).length, 0, 'a small body is stored inside SQLite');
  const jobs = store.claimDue(clock.now(), 10, MIN);
  assert.equal(jobs.length, 2);
  store.markDelivered(jobs[0]!.row.id, reply('OK'), clock.now());
  assert.ok(store.readBody(q.queueId).length > 0, 'still needed by the second recipient');
  store.markFailed(jobs[1]!.row.id, 'bounced', reply('RECIPIENT_NOT_FOUND'), clock.now());
  assert.throws(() => store.readBody(q.queueId), /gone/);
  assert.deepEqual(
    store.list({ queueId: q.queueId }).map((r) => r.status),
    ['delivered', 'bounced'],
  );
  // A late second outcome for a final row changes nothing.
  store.markDeferred(jobs[1]!.row.id, reply('CONNECT_REFUSED'), clock.now() + MIN, clock.now());
  assert.equal(store.list({ queueId: q.queueId })[1]?.status, 'bounced');
});

test('200 concurrent enqueues resolve with far fewer commits than messages', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.enqueue(message(i))));
  const ids = new Set(results.map((r) => r.queueId));
  assert.equal(ids.size, 200);
  const s = store.stats();
  assert.equal(s.enqueued, 200);
  assert.ok(s.commits <= 10, `expected batching, got ${s.commits} commits`);
  assert.equal(s.fsyncBatches, s.commits);
  assert.equal(s.dirFsyncs, s.commits, 'one directory fsync per batch');
  assert.equal(s.fileFsyncs, 200);
  assert.equal(store.list({ limit: 1000 }).length, 200);
  // Ids sort by arrival.
  assert.deepEqual([...ids].sort(), [...ids]);
});

test('enqueues arriving during a commit join the next batch, and each resolves only after its own batch', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  const first = store.enqueue(message(1));
  await Promise.resolve();
  await Promise.resolve(); // the first batch has started writing its file
  const later = Array.from({ length: 30 }, (_, i) => store.enqueue(message(100 + i)));
  await first;
  const afterFirst = store.stats().commits;
  await Promise.all(later);
  const s = store.stats();
  assert.equal(s.enqueued, 31);
  assert.ok(s.commits - afterFirst <= 2, `late arrivals batched (${s.commits - afterFirst} commits)`);
});

test('a lease expires, and a lease from before a reopen is void', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  let store = openSqliteQueue({ dir, clock: clock.now });
  await store.enqueue(message(1));
  const now = clock.now();
  assert.equal(store.claimDue(now, 5, 10_000).length, 1);
  assert.equal(store.claimDue(now + 9_999, 5, 10_000).length, 0);
  assert.equal(store.nextDueAt(), now + 10_000, 'a live lease postpones the row for the scheduler');
  const [reclaimed] = store.claimDue(now + 10_000, 5, 3_600_000);
  assert.ok(reclaimed, 'lease expired, row handed out again');

  store.close();
  store = openSqliteQueue({ dir, clock: clock.now });
  t.after(() => store.close());
  const [row] = store.list();
  assert.equal(row?.leaseUntil, 0, 'lease from the previous process is reported free');
  assert.equal(store.claimDue(now + 10_001, 5, 1000).length, 1, 'and is claimable at once');
});

test('reopening after close keeps messages, rows, statuses and bodies', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  let store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 100 });
  const big = message(1, { body: Buffer.alloc(5000, 'b') });
  const small = message(2, { recipients: ['x@fabrikam.com', 'y@fabrikam.com'] });
  const [qb, qs] = await Promise.all([store.enqueue(big), store.enqueue(small)]);
  const jobs = store.claimDue(clock.now(), 10, MIN);
  const y = jobs.find((j) => j.row.recipient === 'y@fabrikam.com')!;
  store.markDeferred(y.row.id, reply('DNS_FAILED'), clock.now() + MIN, clock.now());
  const before = store.list();
  store.close();

  store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 100 });
  t.after(() => store.close());
  assert.deepEqual(store.recovery?.missingBodies, []);
  assert.equal(store.recovery?.orphanBodiesRemoved, 0);
  const after = store.list();
  assert.deepEqual(
    after.map((r) => ({ ...r, leaseUntil: 0 })),
    before.map((r) => ({ ...r, leaseUntil: 0 })),
  );
  assert.deepEqual(store.readBody(qb!.queueId), big.body);
  assert.deepEqual(store.readBody(qs!.queueId), small.body);
});

test('on open, temporaries and bodies whose rows never committed are removed', async (t) => {
  const dir = tempDir(t);
  let store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  const q = await store.enqueue(message(1));
  store.close();
  const spool = join(dir, 'spool');
  writeFileSync(join(spool, '01ORPHANORPHANORPHANORPHAN.eml'), 'never committed');
  writeFileSync(join(spool, '.tmp-01HALFWRITTENHALFWRITTEN0'), 'partial');
  store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  assert.equal(store.recovery?.orphanBodiesRemoved, 1);
  assert.equal(store.recovery?.tempFilesRemoved, 1);
  assert.deepEqual(readdirSync(spool), [`${q.queueId}.eml`]);
  assert.ok(store.readBody(q.queueId).length > 0);
});

test('a committed message whose body file vanished is held and reported, never dropped', async (t) => {
  const dir = tempDir(t);
  let store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  const q = await store.enqueue(message(1, { recipients: ['a@fabrikam.com', 'b@fabrikam.com'] }));
  store.close();
  const { unlinkSync } = await import('node:fs');
  unlinkSync(join(dir, 'spool', `${q.queueId}.eml`));
  store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  assert.deepEqual(store.recovery?.missingBodies, [q.queueId]);
  const rows = store.list({ queueId: q.queueId });
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.equal(r.status, 'held');
    assert.deepEqual(r.lastReply, { ...MISSING_BODY_REPLY });
  }
  assert.equal(store.claimDue(Date.now() + MIN, 10, MIN).length, 0, 'held rows are not delivered');
  assert.throws(() => store.readBody(q.queueId), /missing/);
});

test('a failed body write rejects the enqueue and leaves no rows or files', async (t) => {
  const dir = tempDir(t);
  let n = 0;
  const ids = () => `ID${String(n++).padStart(4, '0')}`;
  const store = openSqliteQueue({ dir, ids, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  // A directory squatting on the temporary name makes the exclusive create fail.
  mkdirSync(join(dir, 'spool', '.tmp-ID0000'));
  await assert.rejects(store.enqueue(message(1)), /EEXIST/);
  assert.equal(store.list().length, 0);
  assert.equal(existsSync(join(dir, 'spool', 'ID0000.eml')), false);
  assert.equal(store.stats().failedBatches, 1);
  const ok = await store.enqueue(message(2));
  assert.equal(ok.queueId, 'ID0001');
  assert.equal(store.list().length, 1);
});

test('closing rejects enqueues that have not committed', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteQueue({ dir, inlineBodyMaxBytes: 0 });
  const pending = store.enqueue(message(1));
  store.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(store.enqueue(message(2)), /closed/);
  const reopened = openSqliteQueue({ dir });
  t.after(() => reopened.close());
  assert.equal(reopened.list().length, 0);
  assert.deepEqual(readdirSync(join(dir, 'spool')), []);
});

test('deferred rows due in bulk do not starve fresh mail', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  const store = openSqliteQueue({ dir, clock: clock.now });
  t.after(() => store.close());
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.enqueue(message(i))));
  for (const j of store.claimDue(clock.now(), 10, MIN)) store.markDeferred(j.row.id, reply('CONNECT_TIMEOUT'), clock.now(), clock.now());
  clock.advance(MIN);
  const fresh = await store.enqueue(message(99));
  const jobs = store.claimDue(clock.now(), 4, MIN);
  assert.equal(jobs.length, 4);
  assert.ok(jobs.some((j) => j.message.queueId === fresh.queueId), 'the fresh message is in the first window');
});

test('retryNow makes deferred rows due; delete removes rows and the body; list filters', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  const store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  const a = await store.enqueue(message(1, { sender: 'alice@contoso.com', recipients: ['p@fabrikam.com', 'q@fabrikam.com'] }));
  const b = await store.enqueue(message(2, { sender: 'carol@contoso.com', recipients: ['p@fabrikam.com'] }));
  for (const j of store.claimDue(clock.now(), 10, MIN)) store.markDeferred(j.row.id, reply('CONNECT_REFUSED'), clock.now() + 3_600_000, clock.now());

  assert.equal(store.list({ sender: 'ALICE@contoso.com' }).length, 2, 'addresses compare case-insensitively');
  assert.equal(store.list({ recipient: 'p@fabrikam.com' }).length, 2);
  assert.equal(store.list({ status: ['queued'] }).length, 0);
  assert.equal(store.list({ limit: 1 }).length, 1);

  assert.equal(store.claimDue(clock.now() + MIN, 10, MIN).length, 0);
  assert.equal(store.retryNow({ sender: 'carol@contoso.com' }, clock.now() + MIN), 1);
  const due = store.claimDue(clock.now() + MIN, 10, MIN);
  assert.deepEqual(due.map((j) => j.message.queueId), [b.queueId]);

  assert.equal(store.delete({ queueId: a.queueId, recipient: 'p@fabrikam.com' }), 1);
  assert.ok(existsSync(join(dir, 'spool', `${a.queueId}.eml`)), 'q@ still needs the body');
  assert.equal(store.delete({ queueId: a.queueId }), 1);
  assert.equal(existsSync(join(dir, 'spool', `${a.queueId}.eml`)), false);
  assert.equal(store.list({ queueId: a.queueId }).length, 0);
  assert.throws(() => store.readBody(a.queueId), /no queued message/);
});

test('final rows are kept for history and pruned on open after the keep window', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  let store = openSqliteQueue({ dir, clock: clock.now, keepFinalMs: 24 * 3_600_000 });
  await store.enqueue(message(1));
  const keep = await store.enqueue(message(2));
  const [j] = store.claimDue(clock.now(), 1, MIN);
  store.markDelivered(j!.row.id, reply('OK'), clock.now());
  store.close();

  clock.advance(23 * 3_600_000);
  store = openSqliteQueue({ dir, clock: clock.now, keepFinalMs: 24 * 3_600_000 });
  assert.equal(store.recovery?.prunedRows, 0);
  assert.equal(store.list().length, 2);
  store.close();

  clock.advance(2 * 3_600_000);
  store = openSqliteQueue({ dir, clock: clock.now, keepFinalMs: 24 * 3_600_000 });
  t.after(() => store.close());
  assert.equal(store.recovery?.prunedRows, 1);
  assert.equal(store.recovery?.prunedMessages, 1);
  assert.deepEqual(store.list().map((r) => r.queueId), [keep.queueId], 'the pending message stays');
});

test('a second opener of a live queue shares it without recovery or a new lease epoch', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  const owner = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 0 });
  t.after(() => owner.close());
  assert.equal(owner.owner, true);
  const q = await owner.enqueue(message(1));
  owner.claimDue(clock.now(), 10, MIN);
  // A file the owner might be about to commit: a shared opener must not touch it.
  writeFileSync(join(dir, 'spool', '01INFLIGHTINFLIGHTINFLIGHT.eml'), 'in flight');

  const shared = openSqliteQueue({ dir, clock: clock.now });
  t.after(() => shared.close());
  assert.equal(shared.owner, false);
  assert.equal(shared.recovery, null);
  assert.ok(existsSync(join(dir, 'spool', '01INFLIGHTINFLIGHTINFLIGHT.eml')));
  const [row] = shared.list({ queueId: q.queueId });
  assert.equal(row?.leaseUntil, clock.now() + MIN, "the owner's lease is live for the shared opener too");
  assert.equal(shared.claimDue(clock.now(), 10, MIN).length, 0);
  const added = await shared.enqueue(message(2));
  assert.equal(owner.list({ queueId: added.queueId }).length, 1);
});

test('a body file left behind after its last outcome (crash before unlink) is removed on open', async (t) => {
  const dir = tempDir(t);
  const clock = fakeClock();
  let store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 0 });
  const msg = message(1);
  const q = await store.enqueue(msg);
  const [job] = store.claimDue(clock.now(), 1, MIN);
  store.markFailed(job!.row.id, 'expired', reply('EXPIRED'), clock.now());
  store.close();
  const file = join(dir, 'spool', `${q.queueId}.eml`);
  writeFileSync(file, msg.body); // as if the process died between the commit and the unlink
  store = openSqliteQueue({ dir, clock: clock.now, inlineBodyMaxBytes: 0 });
  t.after(() => store.close());
  assert.equal(store.recovery?.orphanBodiesRemoved, 1);
  assert.equal(existsSync(file), false);
  assert.equal(store.list({ queueId: q.queueId })[0]?.status, 'expired', 'history kept');
});

test('a message whose meta cannot be stored is refused alone, not with its batch', async (t) => {
  const dir = tempDir(t);
  const store = openSqliteQueue({ dir });
  t.after(() => store.close());
  const results = await Promise.allSettled([store.enqueue(message(1)), store.enqueue(message(2, { meta: { big: 1n } })), store.enqueue(message(3))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(store.list().length, 2);
});
