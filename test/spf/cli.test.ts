// `mailflow spf check` and `mailflow spf lint` as processes, against a DNS server on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('mailflow spf', () => {
  let server: DnsServer;
  before(async () => {
    server = await startDnsServer({
      host: '127.0.0.1',
      port: 0,
      records: [
        { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:10.10.10.1 include:spf.hub.test -all' },
        { name: 'spf.hub.test', type: 'TXT', value: 'v=spf1 ip4:40.92.0.0/15 -all' },
        { name: 'gw.contoso.test', type: 'TXT', value: 'v=spf1 a -all' },
        { name: 'gw.contoso.test', type: 'A', value: '192.0.2.25' },
        { name: 'broken.test', type: 'TXT', value: 'v=spf1 ipv4: 10.10.10.1  include:spf.hub.test -all' },
      ],
    });
  });
  after(() => server.close());

  const check = (...extra: string[]) => ['spf', 'check', '--dns', server.address, '--dns-timeout', '500', ...extra];

  test('check --json prints one line with result and explanation, exit 0 even for fail', async () => {
    const fail = await run(check('--ip', '203.0.113.9', '--sender', 'a@contoso.test', '--helo', 'x.example', '--default-explanation', 'DEFAULT', '--json'));
    assert.equal(fail.code, 0, fail.stderr);
    const lines = fail.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const json = JSON.parse(lines[0]!);
    assert.equal(json.result, 'fail');
    assert.equal(json.explanation, 'DEFAULT');
    const pass = JSON.parse((await run(check('--ip', '40.93.1.2', '--sender', 'a@contoso.test', '--helo', 'x.example', '--json'))).stdout);
    assert.deepEqual([pass.result, pass.explanation, pass.lookups], ['pass', null, 1]);
  });

  test('check with an empty --sender checks the HELO name; text output', async () => {
    const r = await run(check('--ip', '192.0.2.25', '--sender', '', '--helo', 'gw.contoso.test'));
    assert.equal(r.code, 0, r.stderr);
    const [first, second] = r.stdout.split('\n');
    assert.equal(first, 'pass');
    assert.match(second!, /domain gw\.contoso\.test/);
  });

  test('check reports permerror for the seed record', async () => {
    const r = JSON.parse((await run(check('--ip', '10.10.10.1', '--sender', 'a@broken.test', '--helo', 'x.example', '--json'))).stdout);
    assert.equal(r.result, 'permerror');
  });

  test('check: usage errors exit 2', async () => {
    const r = await run(['spf', 'check', '--ip', '192.0.2.1', '--sender', 'a@b.test', '--helo', 'x', '--dns', 'not a server:x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--dns/);
  });

  test('lint --record: findings with carets, exit 1 on errors', async () => {
    const r = await run(['spf', 'lint', '--record', 'v=spf1 ipv4: 10.10.10.1  include:spf.protection.outlook.com -all']);
    assert.equal(r.code, 1);
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => l.includes('unknown-mechanism'));
    assert.ok(i >= 0, r.stdout);
    assert.match(lines[i]!, /^error/);
    assert.equal(lines[i + 1], '    v=spf1 ipv4: 10.10.10.1  include:spf.protection.outlook.com -all');
    assert.equal(lines[i + 2], '           ^^^^');
  });

  test('lint --record with warnings only exits 0; --json is one document', async () => {
    const r = await run(['spf', 'lint', '--record', 'v=spf1 ptr ?all', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.findings.map((f: { rule: string }) => f.rule).sort(), ['neutral-all', 'ptr-deprecated']);
  });

  test('lint --domain walks includes over DNS', async () => {
    const ok = await run(['spf', 'lint', '--domain', 'contoso.test', '--dns', server.address, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.lookups, 1);
    assert.deepEqual(Object.keys(report.records).sort(), ['contoso.test', 'spf.hub.test']);
    const bad = await run(['spf', 'lint', '--domain', 'broken.test', '--dns', server.address]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /broken\.test: "v=spf1 ipv4:/);
  });

  test('lint needs exactly one of --record and --domain', async () => {
    assert.equal((await run(['spf', 'lint'])).code, 2);
    assert.equal((await run(['spf', 'lint', '--record', 'v=spf1 -all', '--domain', 'x.test'])).code, 2);
  });
});
