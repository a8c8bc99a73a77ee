// SPF on the config: every sending role authorised, nothing open, contested listings noted (rules 2–4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, expectNone, expectOne, presetWith } from './helpers.js';

test('scenario 2 with the gateway left out of SPF is an error', () => {
  const f = expectOne(check(presetWith('archive', ['inSpf: true', 'inSpf: false'])), 'spf-sending-roles', 'error', 'gateway.inSpf');
  assert.match(f.message, /real internet-facing sender/);
});

test('a hub with neither spfInclude nor addresses is an error', () => {
  const f = expectOne(check(presetWith('cloud', ['  spfInclude: spf.protection.outlook.com\n', ''])), 'spf-sending-roles', 'error', 'hub');
  assert.match(f.message, /spf\.protection\.outlook\.com/);
});

test('an on-prem server that sends directly and is not in SPF is an error', () => {
  const findings = check(presetWith('hybrid', ['smartHost: hub', 'smartHost: smtp.isp.example'], ['inSpf: true               # the seed', 'inSpf: false               # the seed']));
  expectOne(findings, 'spf-sending-roles', 'error', 'onprem[0].inSpf');
});

test('gateway and on-prem listed though they do not send: info "documented, contested"', () => {
  const findings = check(presetWith('hybrid'));
  const hits = findings.filter((f) => f.rule === 'spf-contested-listing');
  assert.deepEqual(hits.map((f) => [f.severity, f.location.field]), [
    ['info', 'gateway.inSpf'],
    ['info', 'onprem[0].inSpf'],
  ]);
  assert.match(hits[0]!.message, /#682\/#714/);
  expectNone(check(presetWith('archive')), 'spf-contested-listing');
});

test('an open demo.hubSpf (?all / +all) is an error', () => {
  const findings = check(presetWith('demo', ['hubSpf: v=spf1 ip4:127.0.0.3 -all', 'hubSpf: v=spf1 ip4:127.0.0.3 ?all']));
  expectOne(findings, 'spf-open-all', 'error', 'demo.hubSpf');
  expectOne(check(presetWith('demo', ['hubSpf: v=spf1 ip4:127.0.0.3 -all', "hubSpf: 'v=spf1 +all'"])), 'spf-open-all', 'error', 'demo.hubSpf');
});
