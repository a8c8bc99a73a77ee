import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceStore } from '../../src/trace/sqlite-trace.js';
import { openThreadedTraceStore, traceWriterThread } from '../../src/trace/threaded-trace.js';
import { mergeTraces } from '../../src/trace/merge.js';
import { formatTrace } from '../../src/trace/format.js';
import type { TraceEvent } from '../../src/trace/types.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const ev = (at: number, role: string, type: TraceEvent['type'], extra: Partial<TraceEvent> = {}): TraceEvent => ({
  at: T0 + at,
  role,
  type,
  messageId: 'm1@contoso.com',
  sender: 'alice@fabrikam.com',
  ...extra,
});

// the store on the calling thread, and the one whose inserts run on the writer thread (roles use it)
const KINDS = {
  inline: (file: string) => openTraceStore({ file }),
  thread: (file: string) => openThreadedTraceStore(file),
};

for (const [kind, open] of Object.entries(KINDS)) {
  test(`${kind}: query filters by message, sender, recipient and time, ordered by time then insertion`, (t) => {
  const dir = tempDir(t);
  const store = open(join(dir, 'sub', 'trace.db'));
  t.after(() => store.close());
  store.record(ev(20, 'hub', 'DELIVER', { recipient: 'bob@contoso.com', reply: '250 2.0.0 Delivered', data: { folder: 'INBOX' } }));
  store.record(ev(10, 'hub', 'RECEIVE', { recipient: 'bob@contoso.com', connector: 'from-gateway', host: 'gw.contoso.com [127.0.0.2]' }));
  store.record(ev(10, 'hub', 'RECEIVE', { recipient: 'carol@contoso.com' }));
  store.record(ev(30, 'hub', 'RECEIVE', { messageId: 'm2@contoso.com', sender: 'eve@fabrikam.com', recipient: 'bob@contoso.com' }));

  const m1 = store.query({ messageId: 'm1@contoso.com' });
  assert.deepEqual(
    m1.map((e) => [e.at - T0, e.type, e.recipient]),
    [
      [10, 'RECEIVE', 'bob@contoso.com'],
      [10, 'RECEIVE', 'carol@contoso.com'],
      [20, 'DELIVER', 'bob@contoso.com'],
    ],
  );
  assert.deepEqual(m1[2]!.data, { folder: 'INBOX' });
  assert.equal(m1[0]!.connector, 'from-gateway');
  assert.equal('queueId' in m1[0]!, false, 'absent fields stay absent');
  assert.equal(store.query({ recipient: 'BOB@contoso.com' }).length, 3);
  assert.deepEqual(store.query({ sender: 'eve@fabrikam.com' }).map((e) => e.messageId), ['m2@contoso.com']);
  assert.equal(store.query({ since: T0 + 20 }).length, 2);
  assert.equal(store.query({ limit: 2 }).length, 2);
});

  test(`${kind}: events survive close and reopen; a recorded event object can be reused by the caller`, (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.db');
  let store = open(file);
  const e = ev(1, 'gateway', 'RECEIVE', { data: { spf: 'pass' } });
  store.record(e);
  e.type = 'SEND';
  e.data!.spf = 'changed';
  store.close();
  store = open(file);
  t.after(() => store.close());
  const [got] = store.query({ messageId: 'm1@contoso.com' });
  assert.equal(got?.type, 'RECEIVE');
  assert.deepEqual(got?.data, { spf: 'pass' });
});
}

test('unbatched mode writes each event at once', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.db');
  const writer = openTraceStore({ file, batch: false });
  t.after(() => writer.close());
  writer.record(ev(1, 'hub', 'RECEIVE'));
  const reader = openTraceStore({ file });
  t.after(() => reader.close());
  assert.equal(reader.query({ messageId: 'm1@contoso.com' }).length, 1, 'another connection sees it without a flush');
});

test('batched mode: a lone event reaches other readers at the end of its turn, later ones within 50 ms of the last insert', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.db');
  const writer = openTraceStore({ file });
  t.after(() => writer.close());
  const reader = openTraceStore({ file });
  t.after(() => reader.close());
  const seen = () => reader.query({ messageId: 'm1@contoso.com' }).map((e) => e.type);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  writer.record(ev(1, 'hub', 'RECEIVE'));
  assert.deepEqual(seen(), [], 'nothing is inserted within the turn');
  await wait(1);
  assert.deepEqual(seen(), ['RECEIVE'], 'after a quiet spell: inserted at the end of the turn');
  writer.record(ev(2, 'hub', 'SEND'));
  writer.record(ev(3, 'hub', 'DELIVER'));
  await wait(80);
  assert.deepEqual(seen(), ['RECEIVE', 'SEND', 'DELIVER'], 'the next ones in one insert, at most 50 ms after the first');
});

test("merging roles' stores gives one path in time order, ties in store order", (t) => {
  const dir = tempDir(t);
  const gw = openTraceStore({ file: join(dir, 'gw.db') });
  const hub = openTraceStore({ file: join(dir, 'hub.db') });
  const onprem = openTraceStore({ file: join(dir, 'onprem.db') });
  t.after(() => [gw, hub, onprem].forEach((s) => s.close()));
  gw.record(ev(0, 'gateway', 'RECEIVE', { recipient: 'bob@contoso.com', host: 'mail.fabrikam.com [127.0.0.9]', reply: '250 2.6.0 Queued' }));
  gw.record(ev(5, 'gateway', 'SEND', { recipient: 'bob@contoso.com', connector: 'to-hub', host: 'hub [127.0.0.3]', reply: '250 2.6.0 Queued' }));
  hub.record(ev(5, 'hub', 'RECEIVE', { recipient: 'bob@contoso.com', connector: 'from-gateway' }));
  hub.record(ev(9, 'hub', 'SEND', { recipient: 'bob@contoso.com', connector: 'to-onprem', reason: 'mailbox homed on-premises' }));
  onprem.record(ev(12, 'onprem', 'DELIVER', { recipient: 'bob@contoso.com', reply: '250 2.0.0 Delivered', reason: 'Maildir bob@contoso.com/new' }));
  hub.record(ev(3, 'hub', 'RECEIVE', { messageId: 'other@x' }));

  const path = mergeTraces([gw, hub, onprem], { messageId: 'm1@contoso.com' });
  assert.deepEqual(
    path.map((e) => `${e.at - T0} ${e.role} ${e.type}`),
    ['0 gateway RECEIVE', '5 gateway SEND', '5 hub RECEIVE', '9 hub SEND', '12 onprem DELIVER'],
  );
  assert.equal(mergeTraces([gw, hub, onprem], { messageId: 'm1@contoso.com', limit: 2 }).length, 2);

  const text = formatTrace(path);
  const lines = text.split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, /^2025-01-06 09:00:00\.000Z\s+gateway\s+RECEIVE\s+bob@contoso\.com\s+mail\.fabrikam\.com \[127\.0\.0\.9\]\s+250 2\.6\.0 Queued$/);
  assert.match(lines[1]!, /gateway\s+SEND\s+bob@contoso\.com\s+to-hub > hub \[127\.0\.0\.3\]\s+250 2\.6\.0 Queued/);
  assert.match(lines[3]!, /hub\s+SEND\s+.*to-onprem\s+-\s+\(mailbox homed on-premises\)$/);
  assert.match(lines[4]!, /onprem\s+DELIVER/);
  // Columns line up: the event type starts at the same offset on every line.
  assert.equal(new Set(lines.map((l) => l.search(/RECEIVE|SEND|DELIVER/))).size, 1);
});

test('formatting several messages groups them under their Message-ID', () => {
  const text = formatTrace([ev(0, 'hub', 'RECEIVE'), ev(1, 'hub', 'RECEIVE', { messageId: 'm2@x' }), ev(2, 'hub', 'FAIL', { reply: '550 5.1.10 Recipient not found' })]);
  const blocks = text.split('\n\n');
  assert.equal(blocks.length, 2);
  assert.match(blocks[0]!, /^Message-ID: <m1@contoso\.com>\n.*RECEIVE[^\n]*\n.*FAIL.*550 5\.1\.10/);
  assert.match(blocks[1]!, /^Message-ID: <m2@x>\n/);
  assert.equal(formatTrace([]), '');
});

test('thread: a query sees its own writes at once; another connection sees them once the writer committed', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.db');
  const a = openThreadedTraceStore(file);
  const b = openThreadedTraceStore(join(dir, 'other.db'));
  t.after(() => (a.close(), b.close()));
  assert.ok(traceWriterThread(), 'one writer thread runs');
  for (let i = 0; i < 600; i++) a.record(ev(i, 'gateway', 'RECEIVE', { recipient: `r${i}@contoso.com` })); // past MAX_PENDING
  b.record(ev(1, 'hub', 'RECEIVE', { messageId: 'm9@contoso.com' }));
  assert.equal(a.query({ messageId: 'm1@contoso.com', limit: 1000 }).length, 600);
  assert.equal(a.query({ messageId: 'm9@contoso.com' }).length, 0, 'each store has its own database');
  assert.equal(b.query({ messageId: 'm9@contoso.com' }).length, 1);
  const reader = openTraceStore({ file });
  t.after(() => reader.close());
  assert.equal(reader.query({ messageId: 'm1@contoso.com', limit: 1000 }).length, 600, 'committed, not just visible to its store');
});

test('thread: if the writer thread dies, the store goes on inserting on its own thread, nothing lost', async (t) => {
  const dir = tempDir(t);
  const store = openThreadedTraceStore(join(dir, 'trace.db'));
  t.after(() => store.close());
  store.record(ev(1, 'gateway', 'RECEIVE'));
  assert.equal(store.query({}).length, 1);
  const w = traceWriterThread()!;
  const warned = new Promise<string>((r) => {
    const on = (w: Error & { code?: string }) => {
      if (w.code !== 'MAILFLOW_TRACE') return;
      process.off('warning', on);
      r(w.message);
    };
    process.on('warning', on);
  });
  await w.terminate();
  assert.match(await warned, /trace writer thread gone/);
  store.record(ev(2, 'gateway', 'SEND'));
  store.record(ev(3, 'gateway', 'DELIVER'));
  assert.deepEqual(store.query({}).map((e) => e.type), ['RECEIVE', 'SEND', 'DELIVER']);
  // a store opened now gets a new writer thread
  const again = openThreadedTraceStore(join(dir, 'again.db'));
  t.after(() => again.close());
  assert.notEqual(traceWriterThread(), w);
  again.record(ev(4, 'hub', 'RECEIVE'));
  assert.equal(again.query({}).length, 1);
});
