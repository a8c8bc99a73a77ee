// Scenario 1 vs scenario 2 outbound paths (seed 003; seed 000 diagram).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, expectNone, expectOne, presetWith } from './helpers.js';

test('scenario 2 without gateway.relaysOutbound is an error', () => {
  const findings = check(presetWith('archive', ['relaysOutbound: true', 'relaysOutbound: false']));
  expectOne(findings, 'scenario-archiving-outbound', 'error', 'gateway.relaysOutbound');
});

test('scenario 2 without an outbound * connector to the gateway is an error', () => {
  const findings = check(presetWith('archive', ['smartHosts: [mx.archive.example.net]', 'smartHosts: [smtp.elsewhere.example]']));
  const f = expectOne(findings, 'scenario-archiving-outbound', 'error', 'hub.outboundConnectors');
  assert.match(f.message, /recipientDomains \['\*'\]/);
});

test('scenario 2 accepts the gateway named by role or by address', () => {
  expectNone(check(presetWith('archive', ['smartHosts: [mx.archive.example.net]', 'smartHosts: [gateway]'])), 'scenario-archiving-outbound');
  expectNone(check(presetWith('archive', ['smartHosts: [mx.archive.example.net]', "smartHosts: ['10.10.10.1:25']"])), 'scenario-archiving-outbound');
});

test('scenario 1 with gateway.relaysOutbound is an error', () => {
  const findings = check(presetWith('cloud', ['relaysOutbound: false', 'relaysOutbound: true']));
  const f = expectOne(findings, 'scenario-filtering-outbound-direct', 'error', 'gateway.relaysOutbound');
  assert.match(f.message, /bypassing the third-party service/);
});

test('scenario 1 with a hub outbound connector to the gateway is an error at that smart host', () => {
  const extra = `  outboundConnectors:
    - name: Via the filter
      type: partner
      recipientDomains: ['*']
      smartHosts: [mx.filter.example.net]
    - name: To on-premises`;
  const findings = check(presetWith('hybrid', ['  outboundConnectors:\n    - name: To on-premises', extra]));
  expectOne(findings, 'scenario-filtering-outbound-direct', 'error', 'hub.outboundConnectors[0].smartHosts[0]');
});

test('scenario 1 with a non-filtering gateway is a warning', () => {
  expectOne(check(presetWith('cloud', ['filtering: true', 'filtering: false'])), 'gateway-filtering-scenario', 'warning', 'gateway.filtering');
});
