// `mailflow check` end to end: the built CLI in a child process, exit codes 0/1/2, text and JSON, and
// the DNS rules against a real DNS server on loopback serving the demo zone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailflow-check-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs the CLI without blocking this process (the DNS server below must keep answering). */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('exit 0 and ok:true for the cloud preset; the JSON has only ok and findings', async () => {
  const r = await run(['check', '--config', write('cloud.yaml', presetText('cloud')), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { ok: boolean; findings: { rule: string; severity: string; message: string; location: { field: string; line: number; column: number } }[] };
  assert.deepEqual(Object.keys(doc).sort(), ['findings', 'ok']);
  assert.equal(doc.ok, true);
  const ef = doc.findings.find((f) => f.rule === 'ef-private-ip');
  assert.deepEqual(ef?.location, { field: 'hub.inboundConnectors[0].enhancedFiltering.skipIps[0]', line: 35, column: 19 });
});

test('exit 1 on an error finding; text output is file:line:col severity rule: message, then a summary', async () => {
  const file = write('unlocked.yaml', presetText('cloud').replace('lockToGateway: true', 'lockToGateway: false'));
  const r = await run(['check', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const src = presetText('cloud').split('\n');
  const line = src.findIndex((l) => l.includes('lockToGateway: true')) + 1;
  const column = src[line - 1]!.indexOf('true') + 1;
  assert.ok(lines.some((l) => l.startsWith(`${file}:${line}:${column} error hub-locked-to-gateway: hub.lockToGateway is false`)), r.stdout);
  for (const l of lines.slice(0, -1)) assert.match(l, /^.+:\d+:\d+ (error|warning|info) [a-z0-9-]+: .+/);
  assert.match(lines.at(-1)!, /^1 error\(s\), 1 warning\(s\), \d+ info; \d+ rules; published DNS not checked/);
  const json = await run(['check', '--config', file, '--json']);
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, false);
});

test('exit 2 on a config that does not load, with the problem and no stack trace', async () => {
  const r = await run(['check', '--config', write('bad.yaml', presetText('cloud').replace('scenario: filtering', 'scenario: relaying'))]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml:\d+:\d+: scenario:/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const missing = await run(['check', '--config', join(dir, 'absent.yaml')]);
  assert.equal(missing.code, 2);
  const noConfig = await run(['check']);
  assert.equal(noConfig.code, 2);
});

test('--list-rules prints the registry', async () => {
  const r = await run(['check', '--list-rules', '--json']);
  assert.equal(r.code, 0);
  const rules = JSON.parse(r.stdout) as { id: string; severities: string[] }[];
  assert.ok(rules.some((x) => x.id === 'mx-points-to-gateway' && x.severities.includes('error')));
});

test('with --dns against a real loopback DNS server serving the demo plan, then a broken MX', async () => {
  const text = presetText('demo');
  const config = parseConfigText(text).config;
  const server: DnsServer = await startDnsServer({ host: '127.0.0.1', port: 0, records: demoZoneRecords(config) });
  try {
    const file = write('demo.yaml', text);
    const good = await run(['check', '--config', file, '--dns', server.address, '--json']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const doc = JSON.parse(good.stdout) as { ok: boolean; findings: { rule: string; severity: string }[] };
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.findings.filter((f) => f.rule === 'dns-lookup-failed'), []);
    assert.ok(server.queries.some((q) => q.name === 'contoso.test' && q.type === 'MX'), 'the CLI asked our server');

    // the MX now names the hub: mail would bypass the gateway
    const broken = demoZoneRecords(config).map((r) => (r.type === 'MX' && r.name === 'contoso.test' ? { ...r, value: { priority: 10, exchange: config.hub.hostname } } : r));
    server.setRecords(broken);
    const bad = await run(['check', '--config', file, '--dns', server.address]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /demo\.yaml:\d+:\d+ error mx-points-to-gateway: MX 10 contoso-test\.mail\.hub\.demo\.test of contoso\.test points at the hub/);
    assert.match(bad.stdout, new RegExp(`published DNS checked via ${server.address.replace(/\./g, '\\.')}`));
  } finally {
    await server.close();
  }
});
