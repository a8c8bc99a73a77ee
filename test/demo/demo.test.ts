// `mailflow demo --json` end to end: every path of the seeds behaves (it owns 127.0.0.2-5, .12, .13, .53).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('mailflow demo: every path goes where the seeds say', { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'demo', '--json'], { encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; paths: { name: string; delivered: boolean; ok: boolean; hops: { role: string; event: string; detail: string }[] }[] };
  assert.equal(out.ok, true);
  assert.ok(out.paths.length >= 14, 'every seed path plus the filtering cases');
  const byName = Object.fromEntries(out.paths.map((p) => [p.name, p]));
  assert.equal(byName['unknown recipient (rejected)']!.delivered, false);
  assert.equal(byName['direct to hub, bypassing the gateway (rejected)']!.delivered, false);
  const onpremOut = byName['on-prem → internet']!;
  assert.deepEqual(onpremOut.hops.map((h) => h.role), ['onprem', 'onprem', 'hub', 'hub', 'internet'], 'on-prem → hub → internet, never via the gateway');
  for (const p of out.paths) assert.ok(p.ok, p.name);
  assert.equal(byName['spam sample (Junk folder)']!.ok, true);
  const toCloud = byName['internet → cloud mailbox']!.hops as { role: string; event: string; detail: string }[];
  assert.match(toCloud.find((h) => h.role === 'hub' && h.event === 'RECEIVE')!.detail, /arc=pass \(gateway\.demo\.test, trusted\)/, 'the hub trusts the gateway\'s ARC seal');
  assert.equal(byName['DMARC p=reject domain spoofed (rejected)']!.delivered, false);
});
