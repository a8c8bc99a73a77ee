// The presets are the seeds' own topologies: they must pass, and archive must carry its warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { presetText } from '../../src/config/presets.js';
import { RULES } from '../../src/checks/index.js';
import { byRule, check, errors, expectOne, presetWith } from './helpers.js';

for (const name of ['hybrid', 'cloud', 'demo'] as const) {
  test(`preset ${name} has no error findings`, () => {
    const findings = check(parseConfigText(presetText(name), `${name}.yaml`));
    assert.deepEqual(errors(findings), []);
    assert.deepEqual(byRule(findings, 'scenario-archiving-discouraged'), []);
  });
}

test('preset archive: scenario 2 is discouraged (warning), no errors while Enhanced Filtering is on', () => {
  const findings = check(parseConfigText(presetText('archive'), 'archive.yaml'));
  assert.deepEqual(errors(findings), []);
  const f = expectOne(findings, 'scenario-archiving-discouraged', 'warning', 'scenario');
  assert.match(f.message, /appears to originate from the third-party service/);
  assert.match(f.message, /Enhanced Filtering/);
  assert.match(f.message, /Microsoft recommends its own archiving/);
});

test('preset archive with Enhanced Filtering off: error (mandatory in scenario 2)', () => {
  const findings = check(presetWith('archive', ['mode: skip-ips', 'mode: off']));
  expectOne(findings, 'ef-enabled', 'error', 'hub.inboundConnectors[0].enhancedFiltering.mode');
});

test('the seed example address 10.10.10.1 is flagged as private in Enhanced Filtering, as a warning only', () => {
  const f = expectOne(check(parseConfigText(presetText('hybrid'))), 'ef-private-ip', 'warning', 'hub.inboundConnectors[0].enhancedFiltering.skipIps[0]');
  assert.match(f.message, /seeds' example/);
  assert.equal(f.location.line, 35);
});

test('every finding of every preset names a registered rule and a position; the registry is well formed', () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
  for (const r of RULES) {
    assert.match(r.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(r.title && r.source && r.severities.length, `${r.id} has title, source and severities`);
  }
  for (const name of ['hybrid', 'cloud', 'archive', 'demo'] as const) {
    for (const f of check(parseConfigText(presetText(name)))) {
      const rule = RULES.find((r) => r.id === f.rule);
      assert.ok(rule, `${f.rule} is registered`);
      assert.ok(rule.severities.includes(f.severity), `${f.rule} declares ${f.severity}`);
      assert.ok(f.location.line >= 1 && f.location.field.length > 0);
    }
  }
});
