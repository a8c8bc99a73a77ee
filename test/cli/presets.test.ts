// Each command of the foundation works on each preset, as a user runs it (the built CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS } from '../../src/config/presets.js';
import { startDnsServer } from '../../src/dns/server.js';
import { planRecords } from '../../src/dns/plan.js';
import { toZoneRecord } from '../../src/dns/demo-zone.js';
import { loadConfigFile } from '../../src/config/load.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
// Asynchronous, for commands that talk to a server living in this test process.
const runAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }));
  });

for (const preset of PRESETS) {
  test(`preset ${preset}: init, check, dns plan (json and zone), route, dns verify`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `mailflow-${preset}-`));
    try {
      const file = join(dir, 'topology.yaml');
      const init = run(['init', '--preset', preset, '-o', file]);
      assert.equal(init.status, 0, init.stderr);
      assert.match(readFileSync(file, 'utf8'), /^# mailflow topology/);

      // check: no error finding on any preset (the archive preset warns that scenario 2 is discouraged).
      const check = run(['check', '--config', file, '--json', '--dns', '127.0.0.1:9']);
      const findings = JSON.parse(check.stdout).findings as { rule: string; severity: string }[];
      assert.deepEqual(findings.filter((f) => f.severity === 'error' && f.rule !== 'mx-points-to-gateway'), [], check.stdout);
      if (preset === 'archive') assert.ok(findings.some((f) => f.rule === 'scenario-archiving-discouraged'));

      const plan = JSON.parse(run(['dns', 'plan', '--config', file, '--json']).stdout) as { records: { type: string; name: string; value: string; purpose: string }[] };
      assert.ok(plan.records.some((r) => r.type === 'MX'));
      const spf = plan.records.filter((r) => r.type === 'TXT' && r.value.startsWith('v=spf1'));
      assert.equal(spf.length, 1, 'exactly one SPF record');
      if (preset === 'hybrid') assert.equal(spf[0]!.value, 'v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all');
      assert.match(run(['dns', 'plan', '--config', file, '--format', 'zone']).stdout, /IN\s+MX\s+10 /);

      const domain = loadConfigFile(file).config.domains[0]!.name;
      const route = JSON.parse(run(['route', '--config', file, '--from', `someone@fabrikam.example`, '--to', `alice@${domain}`, '--json']).stdout);
      assert.equal(route.hops[0].from, 'internet');
      assert.equal(route.hops[0].to, 'gateway');
      assert.ok(route.hops.every((h: { reason: string; rule: string }) => h.reason && h.rule));

      // dns verify against a loopback server that publishes exactly the plan: every record ok.
      const loaded = loadConfigFile(file);
      const records = planRecords(loaded.config, { baseDir: loaded.baseDir }).map(toZoneRecord);
      const dns = await startDnsServer({ host: '127.0.0.1', port: 0, records });
      try {
        const verify = await runAsync(['dns', 'verify', '--config', file, '--dns', dns.address, '--json']);
        const v = JSON.parse(verify.stdout) as { records: { status: string; record: { type: string } }[] };
        assert.deepEqual(v.records.filter((r) => r.status !== 'ok').map((r) => r.record.type), [], verify.stdout);
      } finally {
        await dns.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an invalid config gets file:line:column, the field and what was expected, exit 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailflow-bad-'));
  try {
    const file = join(dir, 'bad.yaml');
    execFileSync(process.execPath, [CLI, 'init', '--preset', 'hybrid', '-o', file, '--no-keys']);
    const text = readFileSync(file, 'utf8').replace('type: partner', 'type: partnr');
    writeFileSync(file, text);
    for (const cmd of [['check'], ['dns', 'plan'], ['route', '--from', 'a@b.c', '--to', 'alice@contoso.com']]) {
      const r = run([...cmd, '--config', file]);
      assert.equal(r.status, 2, cmd.join(' '));
      assert.match(r.stderr, /bad\.yaml:\d+:\d+: hub\.inboundConnectors\[0\]\.type: .*"partner".*\(got "partnr"\)/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
