// Enhanced Filtering on the gateway's connector (inventory rules 11–13, 17).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, expectNone, expectOne, presetWith } from './helpers.js';

test('EF off in scenario 1 is a warning that cites the misclassification banner', () => {
  const f = expectOne(check(presetWith('cloud', ['mode: skip-ips', 'mode: off'])), 'ef-enabled', 'warning', 'hub.inboundConnectors[0].enhancedFiltering.mode');
  assert.match(f.message, /misclassification/);
  assert.match(f.message, /skipIps: \[10\.10\.10\.1\]/);
});

test('EF off in scenario 2 is an error', () => {
  const f = expectOne(check(presetWith('archive', ['mode: skip-ips', 'mode: off'])), 'ef-enabled', 'error', 'hub.inboundConnectors[0].enhancedFiltering.mode');
  assert.match(f.message, /appear to originate from it|appears to originate from it/);
});

test('a skip list that misses a gateway address is an error', () => {
  const findings = check(presetWith('cloud', ['addresses: [10.10.10.1]', 'addresses: [10.10.10.1, 10.10.10.2]'], ['senderIpAddresses: [10.10.10.1]', 'senderIpAddresses: [10.10.10.1, 10.10.10.2]']));
  const f = expectOne(findings, 'ef-skip-ips-cover-gateway', 'error', 'hub.inboundConnectors[0].enhancedFiltering.skipIps');
  assert.match(f.message, /10\.10\.10\.2/);
});

test('skip-ips with an empty list is an error (same as off)', () => {
  const findings = check(presetWith('cloud', ['skipIps: [10.10.10.1]', 'skipIps: []']));
  expectOne(findings, 'ef-skip-ips-cover-gateway', 'error', 'hub.inboundConnectors[0].enhancedFiltering.mode');
});

test('RFC 1918 addresses anywhere in EF lists are warnings; loopback (demo) and public are not', () => {
  const findings = check(presetWith('cloud', ['skipIps: [10.10.10.1]', 'skipIps: [10.10.10.1, 192.168.4.0/24, 203.0.113.9]']));
  const hits = findings.filter((f) => f.rule === 'ef-private-ip');
  assert.deepEqual(hits.map((f) => [f.severity, f.location.field]), [
    ['warning', 'hub.inboundConnectors[0].enhancedFiltering.skipIps[0]'],
    ['warning', 'hub.inboundConnectors[0].enhancedFiltering.skipIps[1]'],
  ]);
  assert.doesNotMatch(hits[1]!.message, /seeds' example/);
  expectNone(check(presetWith('demo')), 'ef-private-ip');
});

test('skip-last with more than one gateway address is a warning', () => {
  const findings = check(presetWith('cloud', ['addresses: [10.10.10.1]', 'addresses: [10.10.10.1, 10.10.10.2]'], ['senderIpAddresses: [10.10.10.1]', 'senderIpAddresses: [10.10.10.0/24]'], ['mode: skip-ips\n        skipIps: [10.10.10.1]', 'mode: skip-last']));
  expectOne(findings, 'ef-skip-last-multiple', 'warning', 'hub.inboundConnectors[0].enhancedFiltering.mode');
  expectNone(check(presetWith('cloud', ['mode: skip-ips\n        skipIps: [10.10.10.1]', 'mode: skip-last'])), 'ef-skip-last-multiple');
});

test('EF limited to users is an info about mixed-recipient messages', () => {
  const findings = check(presetWith('cloud', ['skipIps: [10.10.10.1]', 'skipIps: [10.10.10.1]\n        users: [alice@contoso.com]']));
  const f = expectOne(findings, 'ef-users-scope', 'info', 'hub.inboundConnectors[0].enhancedFiltering.users');
  assert.match(f.message, /normal filtering/);
});
