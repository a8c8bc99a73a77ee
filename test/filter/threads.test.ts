// Filter threads give the same answers as filtering on the event loop, and a failure in a thread is a
// rejected request (the role answers 451), never a hang.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { authenticateMessage } from '../../src/filter/authenticate.js';
import { filterInbound } from '../../src/filter/pipeline.js';
import { scannersFor } from '../../src/filter/scanners/run.js';
import { filterSettingsFor } from '../../src/filter/settings.js';
import { createFilterThreads, type FilterThreads } from '../../src/filter/threads/pool.js';
import { createFilterStage, filterOnThread } from '../../src/roles/filtering.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dns: DnsServer;
let threads: FilterThreads;
before(async () => {
  dns = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    records: [
      { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.2 -all' },
      { name: '_dmarc.contoso.test', type: 'TXT', value: 'v=DMARC1; p=reject' },
    ],
  });
  threads = createFilterThreads({ threads: 2, dns: { servers: [dns.address], timeoutMs: 1000, cacheMs: 0 } });
});
after(async () => {
  await threads.close();
  await dns.close();
});

const { config } = parseConfigText(presetText('demo'));
const settings = { ...filterSettingsFor(config, 'gateway'), enabled: true, arcSeal: undefined };
const message = (from: string) =>
  Buffer.from(`From: <${from}>\r\nTo: <bob@contoso.test>\r\nSubject: hi\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <t1@x.test>\r\n\r\nhello\r\n`);
const request = (ip: string, from: string) => ({ message: message(from), connectingIp: ip, helo: 'client.test', sender: from, recipients: ['bob@contoso.test'], hostname: 'gateway.contoso.test', settings });

test('a thread and the event loop reach the same verdict, header for header', async () => {
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 1000 });
  for (const [ip, expect] of [['127.0.0.2', 'deliver'], ['127.0.0.66', 'reject']] as const) {
    const local = await filterInbound({ ...request(ip, 'ceo@contoso.test'), resolver, scanners: scannersFor(settings, resolver) });
    const remote = await threads.filter(request(ip, 'ceo@contoso.test'));
    assert.equal(remote.action, expect);
    assert.equal(remote.action, local.action);
    assert.ok(Buffer.isBuffer(remote.message), 'the stamped message comes back as a Buffer');
    // The Authentication-Results header carries the same results (its comment has no time in it).
    const ar = (b: Buffer) => b.toString('latin1').match(/^Authentication-Results:[^]*?\r\n(?![ \t])/m)?.[0];
    assert.equal(ar(remote.message), ar(local.message));
    assert.deepEqual(remote.rejectReply, local.rejectReply);
    assert.equal(remote.auth!.summary, local.auth!.summary);
  }
  const auth = await threads.authenticate({ message: message('ceo@contoso.test'), ip: '127.0.0.66', helo: 'client.test', sender: 'ceo@contoso.test', authservId: 'hub.contoso.test' });
  const localAuth = await authenticateMessage({ message: message('ceo@contoso.test'), ip: '127.0.0.66', helo: 'client.test', sender: 'ceo@contoso.test', authservId: 'hub.contoso.test', resolver });
  assert.equal(auth.summary, localAuth.summary);
  assert.equal(auth.dmarc.result, 'fail');
});

test('concurrent requests are all answered, each with its own result', async () => {
  const ips = Array.from({ length: 20 }, (_, i) => (i % 2 ? '127.0.0.2' : '127.0.0.66'));
  const out = await Promise.all(ips.map((ip) => threads.filter(request(ip, 'ceo@contoso.test'))));
  assert.deepEqual(out.map((o) => o.action), ips.map((ip) => (ip === '127.0.0.2' ? 'deliver' : 'reject')));
});

test('an error inside a thread rejects that request with its reason; the thread keeps serving', async () => {
  const broken = { ...request('127.0.0.2', 'ceo@contoso.test'), message: 'not a message buffer' };
  await assert.rejects(threads.filter(broken as never), /filter thread: /);
  assert.equal((await threads.filter(request('127.0.0.2', 'ceo@contoso.test'))).action, 'deliver');
});

test('after close, requests are refused at once', async () => {
  const t = createFilterThreads({ threads: 1, dns: { servers: [dns.address], timeoutMs: 1000, cacheMs: 0 } });
  assert.equal((await t.filter(request('127.0.0.2', 'ceo@contoso.test'))).action, 'deliver');
  await t.close();
  await assert.rejects(t.filter(request('127.0.0.2', 'ceo@contoso.test')), /closed/);
});

test('a role with filter threads filters small messages on the event loop and large ones on a thread', async () => {
  assert.equal(filterOnThread(5 * 1024, 128 * 1024), false);
  assert.equal(filterOnThread(200 * 1024, 128 * 1024), true);
  assert.equal(filterOnThread(1, 0), true, '0 sends every message to the threads');
  assert.equal(settings.inlineMaxSize, 128 * 1024, 'the default');
  // count what reaches the threads
  const sent: number[] = [];
  const counting: FilterThreads = {
    filter: (input) => (sent.push(input.message.length), threads.filter(input)),
    authenticate: (input) => threads.authenticate(input),
    close: async () => undefined,
  };
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-stage-'));
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 1000 });
  const cfg = { ...config, gateway: { ...config.gateway, filter: { ...settings, enabled: true } } };
  const stage = createFilterStage({ config: cfg, baseDir: dir, role: 'gateway', hostname: 'gateway.contoso.test', dataDir: dir, resolver, threads: counting });
  try {
    const session = { id: 's1', remoteAddress: '127.0.0.66', remotePort: 2000, localAddress: '127.0.0.1', localPort: 25, helo: 'client.test', secure: false, peerCertificate: null, notes: {} };
    const env = { sender: 'ceo@contoso.test', recipients: ['bob@contoso.test'], mailParams: {} };
    const standing = { arrivedFrom: 'internet', reason: 'test' };
    const small = await stage.inspect(session, standing, env, message('ceo@contoso.test'));
    const big = Buffer.concat([message('ceo@contoso.test'), Buffer.from('x'.repeat(76).concat('\r\n').repeat(2000))]);
    const large = await stage.inspect(session, standing, env, big);
    // both judged the same way (a forged DMARC p=reject sender), wherever they ran
    assert.equal(small.kind, 'reject');
    assert.equal(large.kind, 'reject');
    assert.deepEqual(sent, [big.length], 'only the large message went to a thread');
  } finally {
    stage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
