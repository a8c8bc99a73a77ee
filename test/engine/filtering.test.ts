// Filtering and authentication on the path, over real SMTP between real roles and a loopback DNS
// server: why Enhanced Filtering matters, DKIM that survives the hops, DMARC policy, Junk,
// quarantine and release, and malware (with clamd when it is installed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFile } from 'node:child_process';
import { join } from 'node:path';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { ensureScanners, freePort, SCANNERS_SCRIPT } from '../helpers/scanners.js';
import { startTopology, type Topology } from '../helpers/topology.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const runAsync = (args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );

// The gateway lets the forgery through (it only stamps its verdict), so we can see what the hub makes of it.
const lenientGateway = (y: string) => y.replace('  inSpf: true\n\nhub:', '  inSpf: true\n  filter:\n    enforceDmarc: false\n    thresholds: { junk: 50, quarantine: 60, reject: 70 }\n\nhub:');

async function forgedToHub(t: Topology, id: string) {
  const r = await t.send({ from: 'ceo@contoso.test', to: ['alice@contoso.test'], entry: 'mx', local: `${t.net}.6`, messageId: id });
  assert.equal(r.outcomes[0]!.kind, 'delivered');
  const ev = await t.waitFor({ messageId: id }, (e) => e.some((x) => x.type === 'DELIVER'));
  return { gateway: ev.find((e) => e.role === 'gateway' && e.type === 'RECEIVE')!, hub: ev.find((e) => e.role === 'hub' && e.type === 'RECEIVE')! };
}

test('a forged sender fails SPF at the gateway and, with Enhanced Filtering, at the hub too', async () => {
  const t = await startTopology('127.38.0', lenientGateway);
  try {
    const { gateway, hub } = await forgedToHub(t, 'ef-on@test');
    assert.match(gateway.reason ?? '', /spf=fail \(127\.38\.0\.6\)/);
    assert.match(hub.reason ?? '', /spf=fail \(127\.38\.0\.6\)/, 'the hub judged the real sender');
    assert.match(hub.reason ?? '', /Enhanced Filtering skipped 127\.38\.0\.2/);
    const [m] = t.roles.get('hub')!.mailboxes.list('alice@contoso.test');
    const raw = t.roles.get('hub')!.mailboxes.read('alice@contoso.test', m!.id).toString();
    assert.match(raw, /Authentication-Results: contoso-test\.mail\.hub\.demo\.test;[^]*spf=fail/);
  } finally {
    await t.close();
  }
});

test('without Enhanced Filtering the hub sees the gateway as the sender, and the forgery passes SPF (wrongly)', async () => {
  const t = await startTopology('127.39.0', (y) => lenientGateway(y).replace('mode: skip-ips', 'mode: off'));
  try {
    const { gateway, hub } = await forgedToHub(t, 'ef-off@test');
    assert.match(gateway.reason ?? '', /spf=fail/);
    assert.match(hub.reason ?? '', /spf=pass \(127\.39\.0\.2\)/, 'SPF evaluated against the gateway, which contoso.test authorises');
    assert.match(hub.reason ?? '', /Enhanced Filtering is off/);
  } finally {
    await t.close();
  }
});

let t: Topology;
let clamd: { port: number; env: NodeJS.ProcessEnv } | undefined;
let clamdMissing: string | null = null;

before(async () => {
  // clamd for the malware test: installed when missing (scripts/scanners.sh install), skipped only
  // where it cannot be installed.
  clamdMissing = ensureScanners(['clamd']);
  if (!clamdMissing) {
    const port = await freePort();
    const env = { ...process.env, SCANNERS: 'clamd', SCANNERS_DIR: `/tmp/mailflow-test-clamd-${process.pid}`, CLAMD_PORT: String(port) };
    if (spawnSync('bash', [SCANNERS_SCRIPT, 'start'], { env, timeout: 60_000 }).status === 0) clamd = { port, env };
  }
  t = await startTopology('127.40.0', (y) => (clamd ? y.replace('  inSpf: true\n\nhub:', `  inSpf: true\n  filter:\n    clamd: { endpoint: 127.0.0.1:${clamd.port} }\n\nhub:`) : y), { keys: true });
  t.dns.setRecords([...demoZoneRecords(t.loaded.config, { baseDir: t.loaded.baseDir }), { name: '_dmarc.fabrikam.test', type: 'TXT', value: 'v=DMARC1; p=reject' }]);
});
after(async () => {
  await t?.close();
  if (clamd) spawnSync('bash', [SCANNERS_SCRIPT, 'stop'], { env: clamd.env, timeout: 60_000 });
});

test('DKIM signed by the hub verifies at the internet stand-in after every hop (from on-prem, through the hub)', async () => {
  await t.send({ from: 'bob@contoso.test', to: ['x@fabrikam.test'], entry: 'onprem', messageId: 'dkim1@test' });
  const ev = await t.waitFor({ messageId: 'dkim1@test' }, (e) => e.some((x) => x.role === 'internet'));
  const got = ev.find((e) => e.role === 'internet')!;
  assert.equal(got.data?.dkim, 'pass', got.reason);
  assert.equal(got.data?.dmarc, 'pass', got.reason);
});

test('a DMARC p=reject domain spoofed from outside is refused at DATA with 550 5.7.509', async () => {
  const r = await t.send({ from: 'billing@fabrikam.test', to: ['carol@contoso.test'], entry: 'mx', local: `${t.net}.6`, messageId: 'dmarc1@test' });
  assert.equal(r.outcomes[0]!.kind, 'failed');
  assert.equal(r.outcomes[0]!.reply.enhanced, '5.7.509');
  assert.equal(t.roles.get('hub')!.mailboxes.list('carol@contoso.test').length, 0);
});

test('a spam sample lands in the Junk folder; the hub trusts the gateway verdict over the partner connector', async () => {
  // All-caps subject (3), From not the envelope domain (1), no Date (1): score 5, the junk threshold.
  const raw = 'From: <winner@prizes.example>\r\nTo: <carol@contoso.test>\r\nSubject: YOU HAVE WON A PRIZE CLAIM NOW\r\nMessage-ID: <junk1@test>\r\n\r\nclaim it\r\n';
  await t.send({ from: 'promo@fabrikam.test', to: ['carol@contoso.test'], entry: 'mx', raw });
  await t.waitFor({ messageId: 'junk1@test' }, (e) => e.some((x) => x.type === 'DELIVER'));
  assert.equal(t.roles.get('hub')!.mailboxes.list('carol@contoso.test', 'Junk').length, 1);
  assert.equal(t.roles.get('hub')!.mailboxes.list('carol@contoso.test').filter((m) => m.folder !== 'Junk').length, 0, 'not in the inbox');
});

test('a forged internal sender is quarantined at the gateway; mailflow quarantine release delivers it, traced', async () => {
  await t.send({ from: 'ceo@contoso.test', to: ['dave@contoso.test'], entry: 'mx', local: `${t.net}.6`, messageId: 'q1@test' });
  await t.waitFor({ messageId: 'q1@test' }, (e) => e.some((x) => x.type === 'QUARANTINE'));
  const list = JSON.parse((await runAsync(['quarantine', 'list', '--config', t.configFile, '--json'])).stdout);
  const entries = (list.messages ?? list.entries ?? list) as { id: string; recipients: string[]; status: string }[];
  const held = entries.find((e) => e.recipients.includes('dave@contoso.test'));
  assert.ok(held, JSON.stringify(list));
  assert.equal(t.roles.get('onprem')!.mailboxes.list('dave@contoso.test').length, 0, 'held, not delivered');
  const rel = await runAsync(['quarantine', 'release', held!.id, '--config', t.configFile]);
  assert.equal(rel.status, 0, rel.stderr + rel.stdout);
  const ev = await t.waitFor({ messageId: 'q1@test' }, (e) => e.some((x) => x.type === 'DELIVER' && x.role === 'onprem'));
  assert.ok(ev.some((e) => e.role === 'gateway' && e.type === 'RECEIVE' && /released from quarantine/.test(e.reason ?? '')));
  assert.equal(t.roles.get('onprem')!.mailboxes.list('dave@contoso.test').length, 1);
});

test('EICAR never reaches a mailbox (clamd at the gateway)', async (ctx) => {
  if (!clamd) return ctx.skip(clamdMissing ?? 'clamd did not start (scripts/scanners.sh start)');
  const eicar = Buffer.from('WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=', 'base64').toString('latin1');
  const r = await t.send({ from: 'sender@fabrikam.test', to: ['alice@contoso.test'], entry: 'mx', messageId: 'eicar1@test', body: eicar });
  assert.equal(r.outcomes[0]!.kind, 'failed');
  assert.match(r.outcomes[0]!.reply.text, /malware/i);
  assert.equal(t.roles.get('hub')!.mailboxes.list('alice@contoso.test').length, 0);
});
