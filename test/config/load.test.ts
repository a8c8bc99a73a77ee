import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { PRESETS, presetText } from '../../src/config/presets.js';

test('every preset loads', () => {
  for (const p of PRESETS) assert.doesNotThrow(() => parseConfigText(presetText(p), `${p}.yaml`), p);
});

function problems(text: string) {
  try {
    parseConfigText(text, 'topo.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

test('a bad value names file, line, column, field and what was expected', () => {
  const text = presetText('hybrid').replace('addresses: [10.10.10.1]', 'addresses: [10.10.10.300]');
  const [p] = problems(text);
  const line = text.split('\n').findIndex((l) => l.includes('10.10.10.300')) + 1;
  assert.equal(p!.file, 'topo.yaml');
  assert.equal(p!.line, line);
  assert.ok(p!.column > 1);
  assert.equal(p!.field, 'gateway.addresses[0]');
  assert.match(p!.message, /IPv4 or IPv6 address.*10\.10\.10\.300/);
});

test('unknown fields, missing sections and YAML syntax errors are all reported with positions', () => {
  const ps = problems('organization: x\ndomains: [{name: contoso.com}]\ngatewy: {}\n');
  assert.ok(ps.some((p) => p.field === 'gatewy' && p.line === 3 && /unknown field/.test(p.message)));
  assert.ok(ps.some((p) => p.field === 'hub' && /missing/.test(p.message)));
  const syn = problems('organization: x\n  domains: [\n');
  assert.ok(syn.every((p) => p.line >= 1 && /YAML syntax/.test(p.message)));
});

test('cross references are checked: mailbox homes must name an on-prem server', () => {
  const text = presetText('hybrid').replace('    onprem: [bob@contoso.com', '    exchange01: [bob@contoso.com');
  const ps = problems(text);
  assert.ok(ps.some((p) => p.field === 'mailboxes.onprem.exchange01' && /no on-prem server named/.test(p.message)));
});

test('retry schedules parse Haraka-style and name the bad element', () => {
  const ok = parseConfigText(presetText('hybrid').replace('retry: 1m,5m,10m,15m,30m,1h*23', 'retry: 1m, 5m*2')).config;
  assert.deepEqual(ok.queue.retry, [60_000, 300_000, 300_000]);
  const [p] = problems(presetText('hybrid').replace('retry: 1m,5m,10m,15m,30m,1h*23', 'retry: 1m, soon'));
  assert.equal(p!.field, 'queue.retry');
  assert.match(p!.message, /"soon"/);
});

test('queue.connectionsPerHost defaults to 10 and must be a positive integer, reported at its line', () => {
  assert.equal(parseConfigText(presetText('hybrid')).config.queue.connectionsPerHost, 10);
  const set = presetText('hybrid').replace('  expire: 24h', '  expire: 24h\n  connectionsPerHost: 3');
  assert.equal(parseConfigText(set).config.queue.connectionsPerHost, 3);
  const bad = presetText('hybrid').replace('  expire: 24h', '  expire: 24h\n  connectionsPerHost: 0');
  const [p] = problems(bad);
  assert.equal(p!.field, 'queue.connectionsPerHost');
  assert.equal(p!.line, bad.split('\n').findIndex((l) => l.includes('connectionsPerHost')) + 1);
});
