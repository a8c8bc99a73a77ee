import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lifetimeFor, nextStep } from '../../src/queue/retry.js';
import { retrySchedule } from '../../src/config/schema.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const schedule = [1 * MIN, 5 * MIN, 10 * MIN];
const queuedAt = Date.UTC(2025, 0, 6, 9, 0, 0);

test('each failure waits the scheduled delay after now', () => {
  assert.deepEqual(nextStep({ schedule, attempts: 1, queuedAt, now: queuedAt, expireMs: 24 * HOUR }), { kind: 'retry', at: queuedAt + MIN });
  assert.deepEqual(nextStep({ schedule, attempts: 2, queuedAt, now: queuedAt + 2 * MIN, expireMs: 24 * HOUR }), {
    kind: 'retry',
    at: queuedAt + 7 * MIN,
  });
  assert.deepEqual(nextStep({ schedule, attempts: 3, queuedAt, now: queuedAt + 8 * MIN, expireMs: 24 * HOUR }), {
    kind: 'retry',
    at: queuedAt + 18 * MIN,
  });
});

test('expires once the schedule is used up', () => {
  assert.deepEqual(nextStep({ schedule, attempts: 4, queuedAt, now: queuedAt + 20 * MIN, expireMs: 24 * HOUR }), { kind: 'expire' });
  assert.deepEqual(nextStep({ schedule: [], attempts: 1, queuedAt, now: queuedAt, expireMs: 24 * HOUR }), { kind: 'expire' });
});

test('expires when the next attempt would fall after the lifetime', () => {
  const expireMs = 10 * MIN;
  assert.deepEqual(nextStep({ schedule, attempts: 2, queuedAt, now: queuedAt + 5 * MIN, expireMs }), { kind: 'retry', at: queuedAt + 10 * MIN }, 'exactly at the limit is allowed');
  assert.deepEqual(nextStep({ schedule, attempts: 2, queuedAt, now: queuedAt + 5 * MIN + 1, expireMs }), { kind: 'expire' });
});

test('the default config schedule runs about a day, then expires', () => {
  const parsed = retrySchedule.parse('1m,5m,10m,15m,30m,1h*23');
  let now = queuedAt;
  let attempts = 0;
  let step;
  do {
    attempts++;
    step = nextStep({ schedule: parsed, attempts, queuedAt, now, expireMs: 24 * HOUR });
    if (step.kind === 'retry') now = step.at;
  } while (step.kind === 'retry' && attempts < 1000);
  assert.equal(step.kind, 'expire');
  assert.ok(now - queuedAt <= 24 * HOUR);
  assert.ok(now - queuedAt > 22 * HOUR, `last retry ${((now - queuedAt) / HOUR).toFixed(1)} h after arrival`);
});

test('rejects a non-positive attempt count as a bug', () => {
  assert.throws(() => nextStep({ schedule, attempts: 0, queuedAt, now: queuedAt, expireMs: HOUR }), RangeError);
});

test('null-sender mail uses the bounce lifetime', () => {
  assert.equal(lifetimeFor('', 5 * HOUR, HOUR), HOUR);
  assert.equal(lifetimeFor('a@b', 5 * HOUR, HOUR), 5 * HOUR);
});
