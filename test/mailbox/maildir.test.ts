import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openMaildirStore } from '../../src/mailbox/maildir.js';
import { addressDirName, MailboxPathError } from '../../src/mailbox/mailbox-path.js';
import { decodeWords } from '../../src/mailbox/header-peek.js';

function tempRoot(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-maildir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0, 250);
const msg = (subject: string, from = 'Alice <alice@contoso.com>') =>
  Buffer.from(`From: ${from}\r\nTo: bob@contoso.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);

test('delivers into new/ with a Maildir unique name, nothing left in tmp/', async (t) => {
  const root = tempRoot(t);
  const store = openMaildirStore(root, { clock: () => T0, hostname: 'hub/01:x', pid: 4242 });
  const body = msg('Hello');
  const id = await store.deliver('Bob@Contoso.com', body);
  assert.match(id, /^new\/1736154000\.M250000P4242R[0-9a-f]{16}Q1\.hub_01_x,S=\d+$/);
  assert.ok(id.endsWith(`,S=${body.length}`));
  const mailbox = join(root, 'bob@contoso.com');
  assert.deepEqual(readdirSync(join(mailbox, 'tmp')), []);
  assert.deepEqual(readdirSync(join(mailbox, 'new')), [id.slice(4)]);
  assert.ok(existsSync(join(mailbox, 'cur')));
  assert.deepEqual(store.read('bob@contoso.com', id), body);
  const second = await store.deliver('bob@contoso.com', msg('Again'));
  assert.notEqual(second, id);
  assert.match(second, /Q2\./);
});

test('lists Subject and From from the header block, in arrival order, across folders', async (t) => {
  const root = tempRoot(t);
  let now = T0;
  const store = openMaildirStore(root, { clock: () => now });
  await store.deliver('bob@contoso.com', msg('=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_K=C3=B6ln?='));
  now += 1000;
  await store.deliver('bob@contoso.com', msg('Cheap pills', 'spam@fabrikam.com'), 'Junk');
  now += 1000;
  // A body that mentions Subject: must not be read as a header.
  await store.deliver('carol@contoso.com', Buffer.from('From: x@y\r\n\r\nSubject: not a header\r\n'));

  assert.deepEqual(store.addresses(), ['bob@contoso.com', 'carol@contoso.com']);
  const all = store.list('bob@contoso.com');
  assert.deepEqual(
    all.map((m) => [m.folder, m.subject, m.from]),
    [
      ['INBOX', 'Grüße aus Köln', 'Alice <alice@contoso.com>'],
      ['Junk', 'Cheap pills', 'spam@fabrikam.com'],
    ],
  );
  assert.equal(all[0]!.receivedAt, T0);
  assert.ok(all[1]!.id.startsWith('.Junk/new/'));
  assert.ok(existsSync(join(root, 'bob@contoso.com', '.Junk', 'maildirfolder')));
  assert.deepEqual(store.list('bob@contoso.com', 'Junk').map((m) => m.subject), ['Cheap pills']);
  assert.deepEqual(store.list('bob@contoso.com', 'INBOX').length, 1);
  const carol = store.list('carol@contoso.com');
  assert.equal(carol[0]!.subject, undefined);
  assert.equal(store.list().length, 3);
  assert.deepEqual(store.list('nobody@contoso.com'), []);
  assert.equal(store.read('bob@contoso.com', all[1]!.id).toString().includes('Cheap pills'), true);
});

test('a message a reader moved to cur/ can still be read by its new/ id', async (t) => {
  const root = tempRoot(t);
  const store = openMaildirStore(root);
  const id = await store.deliver('bob@contoso.com', msg('Moved'));
  const mailbox = join(root, 'bob@contoso.com');
  const name = id.slice(4);
  renameSync(join(mailbox, 'new', name), join(mailbox, 'cur', `${name}:2,S`));
  assert.match(store.read('bob@contoso.com', id).toString(), /Subject: Moved/);
  assert.equal(store.list('bob@contoso.com')[0]!.id, `cur/${name}:2,S`);
});

test('addresses can never escape the root', async (t) => {
  const root = tempRoot(t);
  const store = openMaildirStore(root);
  for (const evil of ['../evil@x', '..', '.', 'a/b@c', 'a\\b@c', '/etc/passwd', '.hidden@x', 'nul\0@x']) {
    const name = addressDirName(evil);
    assert.ok(!name.includes('/') && !name.includes('\\') && !name.startsWith('.') && !name.includes('\0'), `${JSON.stringify(evil)} → ${name}`);
    const id = await store.deliver(evil, msg('x'));
    const full = resolve(root, name, id);
    assert.ok(full.startsWith(resolve(root) + '/'), `${evil} stayed under the root`);
  }
  assert.deepEqual(readdirSync(join(root, '..')).includes('evil@x'), false);
  // Names round-trip, so listings show what was delivered to.
  assert.ok(store.addresses().includes('../evil@x'));
  await assert.rejects(store.deliver('', msg('x')), MailboxPathError);
  await assert.rejects(store.deliver('bob@contoso.com', msg('x'), '../../etc'), MailboxPathError);
  await assert.rejects(store.deliver('bob@contoso.com', msg('x'), 'Junk/../..'), MailboxPathError);
});

test('read refuses ids that leave the mailbox directory', async (t) => {
  const root = tempRoot(t);
  const store = openMaildirStore(root);
  await store.deliver('bob@contoso.com', msg('mine'));
  const otherId = await store.deliver('carol@contoso.com', msg('secret'));
  writeFileSync(join(root, 'outside.txt'), 'outside');
  for (const id of ['../carol@contoso.com/' + otherId, '../outside.txt', '/etc/passwd', 'new/../../outside.txt', 'tmp/x', 'new/', '.Junk/../new/x', 'new/a/b']) {
    assert.throws(() => store.read('bob@contoso.com', id), MailboxPathError, id);
  }
  assert.equal(readFileSync(join(root, 'outside.txt'), 'utf8'), 'outside');
});

test('encoded words: Q with underscores, Latin-1, unknown charsets left as they are', () => {
  assert.equal(decodeWords('=?iso-8859-1?Q?Caf=E9_cr=E8me?='), 'Café crème');
  assert.equal(decodeWords('plain'), 'plain');
  assert.equal(decodeWords('=?x-unknown?B?AAAA?='), '=?x-unknown?B?AAAA?=');
});
