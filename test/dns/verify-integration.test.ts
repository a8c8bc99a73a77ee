// dns verify end to end: the demo zones on a real loopback DNS server, queried by the real client,
// SPF evaluated by the real evaluator, and the built CLI run as a child process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, type LoadedConfig } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { createResolver } from '../../src/dns/client.js';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { planRecords } from '../../src/dns/plan.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { verifyRecords } from '../../src/dns/verify.js';
import type { ZoneRecord } from '../../src/dns/zone.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('dns verify against the demo zones on a loopback DNS server', () => {
  let dir: string;
  let loaded: LoadedConfig;
  let server: DnsServer;
  let zone: ZoneRecord[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailflow-dns-'));
    // The demo preset names no DKIM key; give it one so every planned record can be ok.
    mkdirSync(join(dir, 'keys'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'keys', 'hub1.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const text = presetText('demo').replace('    role: hub\n\ndmarc', '    role: hub\n    privateKey: keys/hub1.pem\n\ndmarc');
    assert.match(text, /privateKey: keys\/hub1\.pem/);
    writeFileSync(join(dir, 'mailflow.yaml'), text);
    loaded = loadConfigFile(join(dir, 'mailflow.yaml'));
    zone = demoZoneRecords(loaded.config, { baseDir: loaded.baseDir });
    server = await startDnsServer({ host: '127.0.0.1', port: 0, records: zone });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const resolver = () => createResolver({ servers: [server.address], timeoutMs: 1000 });
  const plan = () => planRecords(loaded.config, { baseDir: loaded.baseDir });

  it('serves the role hosts, the hub include and the external domain next to the plan', () => {
    const has = (name: string, type: string) => zone.some((r) => r.name === name && r.type === type);
    assert.ok(has('mx.gateway.demo.test', 'A') && has('contoso-test.mail.hub.demo.test', 'A') && has('mail.contoso.test', 'A'));
    assert.ok(zone.some((r) => r.name === 'spf.hub.demo.test' && r.value === 'v=spf1 ip4:127.0.0.3 -all'));
    assert.ok(zone.some((r) => r.name === 'fabrikam.test' && r.type === 'MX'));
    assert.ok(zone.some((r) => r.name === 'fabrikam.test' && r.value === 'v=spf1 ip4:127.0.0.5 -all'));
    assert.ok(zone.some((r) => r.name === 'mx.fabrikam.test' && r.value === '127.0.0.5'));
  });

  it('finds every record ok and SPF pass for 127.0.0.2, .3 and .4', async () => {
    const report = await verifyRecords(plan(), resolver(), loaded.config);
    for (const r of report.records) assert.equal(r.status, 'ok', `${r.record.type} ${r.record.name}: ${r.message}`);
    assert.deepEqual(
      report.senders.map((s) => [s.role, s.ip, s.result]),
      [
        ['gateway', '127.0.0.2', 'pass'],
        ['onprem:onprem', '127.0.0.4', 'pass'],
        ['hub', '127.0.0.3', 'pass'],
      ],
    );
    assert.equal(report.ok, true);
    assert.ok(server.queries.some((q) => q.name === 'hub1._domainkey.contoso.test'), 'the DKIM record was asked for');
  });

  it('the built CLI exits 0 with ok JSON when DNS matches', async () => {
    const run = await runCli(['dns', 'verify', '--config', join(dir, 'mailflow.yaml'), '--dns', server.address, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { ok: boolean; records: { status: string }[]; senders: { result: string }[] };
    assert.equal(doc.ok, true);
    assert.ok(doc.records.length >= 5 && doc.records.every((r) => r.status === 'ok'));
    assert.deepEqual(doc.senders.map((s) => s.result), ['pass', 'pass', 'pass']);
  });

  it('reports a removed MX as missing and a changed SPF as different, and the CLI exits 1', async () => {
    server.setRecords(
      zone
        .filter((r) => !(r.name === 'contoso.test' && r.type === 'MX'))
        .map((r) => (r.name === 'contoso.test' && r.type === 'TXT' ? { ...r, value: 'v=spf1 ip4:127.0.0.2 include:spf.hub.demo.test -all' } : r)),
    );
    try {
      const report = await verifyRecords(plan(), resolver(), loaded.config);
      const byKind = (kind: string) => report.records.find((r) => r.record.kind === kind)!;
      assert.equal(byKind('mx').status, 'missing');
      assert.equal(byKind('spf').status, 'different');
      assert.deepEqual(byKind('spf').found, ['v=spf1 ip4:127.0.0.2 include:spf.hub.demo.test -all']);
      assert.equal(byKind('dmarc').status, 'ok');
      const onprem = report.senders.find((s) => s.role === 'onprem:onprem')!;
      assert.deepEqual([onprem.result, onprem.status], ['fail', 'fail']);
      assert.equal(report.ok, false);

      const run = await runCli(['dns', 'verify', '--config', join(dir, 'mailflow.yaml'), '--dns', server.address]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stdout, /MISSING\s+MX\s+contoso\.test/);
      assert.match(run.stdout, /DIFFERENT\s+TXT\s+contoso\.test/);
      assert.match(run.stdout, /DNS does not match the plan/);
    } finally {
      server.setRecords(zone);
    }
  });

  it('the CLI exits 2 with the problem, not a stack trace, for a broken config', async () => {
    writeFileSync(join(dir, 'broken.yaml'), presetText('demo').replace('addresses: [127.0.0.2]', 'addresses: [not-an-ip]'));
    const run = await runCli(['dns', 'verify', '--config', join(dir, 'broken.yaml'), '--dns', server.address]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /broken\.yaml:\d+:\d+: gateway\.addresses\[0\]/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
