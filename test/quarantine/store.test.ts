// The quarantine store (real SQLite, real files), release over real SMTP, and the CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { presetText } from '../../src/config/presets.js';
import { createSmtpSender } from '../../src/smtp/outbound/client.js';
import { markForRelease, releaseIdOf, releaseMessage, RELEASE_HEADER } from '../../src/quarantine/release.js';
import { openQuarantine, type QuarantineStore } from '../../src/quarantine/store.js';
import { reply } from '../../src/smtp/replies.js';
import { startListener, type TestListener } from '../helpers/smtp.js';

const body = Buffer.from('From: Spammer <win@lottery.example>\r\nTo: bob@contoso.test\r\nSubject: YOU HAVE WON\r\nMessage-ID: <spam-1@lottery.example>\r\n\r\nClaim now.\r\n');
const item = (over: Partial<Parameters<QuarantineStore['add']>[0]> = {}) => ({
  messageId: 'spam-1@lottery.example',
  sender: 'win@lottery.example',
  recipients: ['bob@contoso.test'],
  reason: 'spam score 12 ≥ quarantine 10',
  verdict: { action: 'quarantine', score: 12 },
  body,
  ...over,
});

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-quarantine-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('store', () => {
  test('add writes the message file and an index row; list and get read them back', () => {
    let now = 1_700_000_000_000;
    const store = openQuarantine({ dir: join(dir, 's1'), clock: () => now++ });
    const e = store.add(item());
    assert.match(e.id, /^q[a-z0-9]{12,31}$/);
    assert.equal(e.status, 'held');
    assert.equal(e.size, body.length);
    assert.ok(existsSync(join(dir, 's1', 'messages', `${e.id}.eml`)));
    assert.deepEqual(store.list().map((x) => [x.id, x.sender, x.recipients, x.reason]), [[e.id, 'win@lottery.example', ['bob@contoso.test'], 'spam score 12 ≥ quarantine 10']]);
    const got = store.get(e.id)!;
    assert.ok(got.body!.equals(body));
    assert.deepEqual(got.entry.verdict, { action: 'quarantine', score: 12 });
    assert.equal(store.get('nonexistent0000'), undefined);
    assert.equal(store.get('../../etc/passwd'), undefined);
    store.close();
  });

  test('release: held → releasing → released; a failed release goes back to held; release twice is refused', () => {
    const store = openQuarantine({ dir: join(dir, 's2') });
    const e = store.add(item());
    const start = store.beginRelease(e.id);
    assert.equal(start.kind, 'ok');
    assert.ok(start.kind === 'ok' && start.body.equals(body));
    assert.equal(store.isReleasing(e.id), true);
    store.abortRelease(e.id, 'release failed: 451');
    assert.equal(store.get(e.id)!.entry.status, 'held');
    assert.equal(store.get(e.id)!.entry.note, 'release failed: 451');
    assert.equal(store.isReleasing(e.id), false);
    assert.equal(store.beginRelease(e.id).kind, 'ok');
    store.markReleased(e.id, '250 queued');
    assert.equal(store.get(e.id)!.entry.status, 'released');
    assert.deepEqual(store.beginRelease(e.id), { kind: 'not-held', status: 'released' });
    assert.deepEqual(store.beginRelease('qnothere00000000'), { kind: 'not-found' });
    // one-step release for callers that cannot fail
    const e2 = store.add(item());
    const r = store.release(e2.id);
    assert.equal(r.kind, 'ok');
    assert.equal(store.get(e2.id)!.entry.status, 'released');
    assert.deepEqual(store.list().map((x) => x.id), []);
    assert.equal(store.list({ status: 'released' }).length, 2);
    store.close();
  });

  test('delete removes the file and keeps the record', () => {
    const store = openQuarantine({ dir: join(dir, 's3') });
    const e = store.add(item());
    assert.equal(store.delete(e.id), true);
    assert.equal(store.delete(e.id), false);
    const got = store.get(e.id)!;
    assert.equal(got.entry.status, 'deleted');
    assert.equal(got.body, null);
    assert.equal(store.list({ status: 'all' }).length, 1);
    store.close();
  });

  test('survives a reopen; a file without an index row (crash between the two) is cleaned up', () => {
    const d = join(dir, 's4');
    const store = openQuarantine({ dir: d });
    const e = store.add(item());
    store.close();
    writeFileSync(join(d, 'messages', 'qorphan000000000.eml'), 'x');
    writeFileSync(join(d, 'messages', '.tmp-qhalf0000000000'), 'x');
    const again = openQuarantine({ dir: d });
    assert.deepEqual(again.list().map((x) => x.id), [e.id]);
    assert.deepEqual(readdirSync(join(d, 'messages')), [`${e.id}.eml`]);
    again.close();
  });

  test('the release header: added once on top, read back, nonsense ignored', () => {
    const marked = markForRelease(Buffer.concat([Buffer.from(`${RELEASE_HEADER}: qforged000000000\r\n`), body]), 'qabc123def456789');
    assert.ok(marked.toString().startsWith(`${RELEASE_HEADER}: qabc123def456789\r\nFrom:`));
    assert.equal(releaseIdOf(marked), 'qabc123def456789');
    assert.equal(releaseIdOf(body), null);
    assert.equal(releaseIdOf(Buffer.from(`${RELEASE_HEADER}: ../x\r\n\r\n`)), null);
  });
});

describe('release over SMTP', () => {
  let listener: TestListener;
  let store: QuarantineStore;
  let mode: 'accept' | 'reject' = 'accept';
  const seenReleasing: boolean[] = [];
  before(async () => {
    store = openQuarantine({ dir: join(dir, 'smtp') });
    listener = await startListener({
      policy: {
        onRcptTo: () => (mode === 'reject' ? { kind: 'reject', reply: reply('MAILBOX_UNKNOWN') } : { kind: 'accept' }),
        onMessage: (_s, _env, msg) => {
          // what the role will do: a release id that its own store says is being released
          const id = releaseIdOf(msg);
          seenReleasing.push(!!id && store.isReleasing(id));
          listener.messages.push({ session: _s, envelope: _env, message: msg });
          return { kind: 'accept' };
        },
      },
    });
  });
  after(async () => {
    await listener.close();
    store.close();
  });

  const target = () => ({ host: '127.0.0.1', port: listener.port, tls: 'none' as const });

  test('a release is delivered with the release header and marked released after the 250', async () => {
    const e = store.add(item({ recipients: ['bob@contoso.test', 'carol@contoso.test'] }));
    const sender = createSmtpSender();
    try {
      const r = await releaseMessage({ store, id: e.id, sender, target: target(), hostname: 'cli.test' });
      assert.equal(r.kind, 'released');
      assert.ok(r.kind === 'released' && r.reply.startsWith('250'));
      assert.deepEqual(r.kind === 'released' && r.accepted, ['bob@contoso.test', 'carol@contoso.test']);
    } finally {
      await sender.close();
    }
    assert.equal(listener.messages.length, 1);
    const got = listener.messages[0]!;
    assert.deepEqual(got.envelope.recipients, ['bob@contoso.test', 'carol@contoso.test']);
    assert.equal(got.envelope.sender, 'win@lottery.example');
    assert.equal(releaseIdOf(got.message), e.id);
    assert.match(got.message.toString(), /Subject: YOU HAVE WON/);
    assert.deepEqual(seenReleasing, [true], 'the receiving side saw the entry as releasing');
    const after = store.get(e.id)!.entry;
    assert.equal(after.status, 'released');
    assert.match(after.note!, /^released to 127\.0\.0\.1:\d+: 250/);
  });

  test('a release the role refuses stays held, with the reply as the reason', async () => {
    mode = 'reject';
    const e = store.add(item());
    const sender = createSmtpSender();
    try {
      const r = await releaseMessage({ store, id: e.id, sender, target: target(), hostname: 'cli.test' });
      assert.equal(r.kind, 'failed');
      assert.match(r.kind === 'failed' ? r.reason : '', /bob@contoso\.test: 550/);
    } finally {
      await sender.close();
      mode = 'accept';
    }
    assert.equal(store.get(e.id)!.entry.status, 'held');
  });
});

describe('mailflow quarantine (CLI)', () => {
  const MODULE = fileURLToPath(new URL('../../src/cli/quarantine.js', import.meta.url));
  const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const script = `import { Command } from 'commander'; const m = await import(${JSON.stringify(MODULE)}); const p = new Command(); m.register(p); await p.parseAsync(['node', 'mailflow', ...process.argv.slice(1)]);`;
      execFile(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd: fileURLToPath(new URL('../../../', import.meta.url)), timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  let listener: TestListener;
  let configFile: string;
  let id: string;
  before(async () => {
    listener = await startListener();

    const doc = parseDocument(presetText('demo'));
    doc.setIn(['gateway', 'listen'], `127.0.0.1:${listener.port}`);
    doc.setIn(['dataDir'], './data');
    configFile = join(dir, 'cli.yaml');
    writeFileSync(configFile, doc.toString());
    const store = openQuarantine({ dir: join(dir, 'data', 'gateway', 'quarantine') });
    id = store.add(item()).id;
    store.close();
  });
  after(() => listener.close());

  test('list, show, release and delete', async () => {
    const list = await run(['quarantine', 'list', '--config', configFile, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).messages.map((m: { id: string; role: string }) => [m.role, m.id]), [['gateway', id]]);
    const text = await run(['quarantine', 'list', '--config', configFile]);
    assert.match(text.stdout, new RegExp(`gateway\\s+${id}.*held.*win@lottery\\.example → bob@contoso\\.test`));

    const show = await run(['quarantine', 'show', id, '--config', configFile, '--json']);
    assert.equal(JSON.parse(show.stdout).message, body.toString());

    const rel = await run(['quarantine', 'release', id, '--config', configFile]);
    assert.equal(rel.code, 0, rel.stdout + rel.stderr);
    assert.match(rel.stdout, new RegExp(`released ${id} into gateway \\(127\\.0\\.0\\.1:${listener.port}\\): 250`));
    assert.equal(listener.messages.length, 1);
    assert.equal(releaseIdOf(listener.messages[0]!.message), id);
    const again = await run(['quarantine', 'release', id, '--config', configFile]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /is released, not held/);

    const del = await run(['quarantine', 'delete', id, '--config', configFile, '--json']);
    assert.deepEqual(JSON.parse(del.stdout), { role: 'gateway', id, deleted: true });
    const missing = await run(['quarantine', 'show', 'qnothere00000000', '--config', configFile]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no quarantined message/);
    const bad = await run(['quarantine', 'list', '--config', join(dir, 'nope.yaml')]);
    assert.equal(bad.code, 2);
  });
});
