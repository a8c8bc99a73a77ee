// acquireShared: one instance per key, closed by the last user's release, each handle counted once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireShared, type SharedRegistry } from '../../src/util/shared.js';

test('one instance per key; the last release closes it; a handle released twice counts once', async () => {
  let made = 0;
  const closed: number[] = [];
  const create = () => {
    const id = ++made;
    return { id, close: async () => void closed.push(id) };
  };
  const registry: SharedRegistry<ReturnType<typeof create>> = new Map();
  const a = acquireShared(registry, 'k', create);
  const b = acquireShared(registry, 'k', create);
  const other = acquireShared(registry, 'other', create);
  assert.equal(a.value, b.value);
  assert.notEqual(other.value, a.value);
  await a.release();
  await a.release();
  assert.deepEqual(closed, [], 'b still holds it');
  await b.release();
  assert.deepEqual(closed, [1]);
  assert.equal(registry.has('k'), false);
  // the next user gets a new instance
  const c = acquireShared(registry, 'k', create);
  assert.equal(c.value.id, 3);
  await c.release();
  await other.release();
  assert.deepEqual(closed, [1, 3, 2]);
});
