import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createQueueIdSource, queueIdTime, QUEUE_ID_RE } from '../../src/queue/ids.js';
import { createGroupCommitter } from '../../src/queue/group-commit.js';

test('queue ids sort by time, strictly increase within a millisecond, and are file-name safe', () => {
  let t = 1_736_154_000_000;
  // Random parts start at their maximum, so the second id overflows them and must still increase.
  const maxed = (n: number) => Buffer.alloc(n, 0xff);
  const next = createQueueIdSource(() => t, maxed);
  const a = next();
  const b = next();
  t += 1;
  const c = next();
  assert.equal(a.length, 26);
  assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
  assert.equal(queueIdTime(a), 1_736_154_000_000);
  assert.equal(queueIdTime(b), 1_736_154_000_001, 'overflow borrows the next millisecond');
  assert.equal(queueIdTime(c), 1_736_154_000_001);
  for (const id of [a, b, c]) assert.match(id, QUEUE_ID_RE);
  assert.ok(Number.isNaN(queueIdTime('short')));
});

test('group commit: one batch per commit round, results in order, failures reject the whole batch only', async () => {
  const batches: number[][] = [];
  let fail = false;
  const gc = createGroupCommitter<number, string>(async (batch) => {
    batches.push(batch);
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error('disk full');
    return batch.map((n) => `ok${n}`);
  }, 3);
  const first = [gc.submit(1), gc.submit(2)];
  assert.deepEqual(await Promise.all(first), ['ok1', 'ok2']);
  fail = true;
  const bad = gc.submit(3);
  await assert.rejects(bad, /disk full/);
  fail = false;
  const many = await Promise.all([4, 5, 6, 7, 8].map((n) => gc.submit(n)));
  assert.deepEqual(many, ['ok4', 'ok5', 'ok6', 'ok7', 'ok8']);
  assert.deepEqual(batches, [[1, 2], [3], [4, 5, 6], [7, 8]], 'maxBatch 3 splits a backlog');
  assert.equal(gc.stats.batches, 4);
  assert.equal(gc.stats.largest, 3);
  await gc.idle();
});
