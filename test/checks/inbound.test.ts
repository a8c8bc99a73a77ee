// Inbound to the hub: the gateway lock (rules 6–8), open relays, Direct Send, delivery target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, errors, expectNone, expectOne, presetWith } from './helpers.js';

const certLock = `    - name: From third-party gateway
      type: partner
      senderDomains: ['*']
      tlsSenderCertificateName: mx.filter.example.net
      restrictDomainsToCertificate: true
      requireTls: true
      enhancedFiltering:
        mode: skip-ips
        skipIps: [10.10.10.1]
`;
const ipLock = /    - name: From third-party gateway\n[\s\S]*?skipIps: \[10\.10\.10\.1\]\n/;

test('hub.lockToGateway false is an error at that field', () => {
  const findings = check(presetWith('cloud', ['lockToGateway: true', 'lockToGateway: false']));
  const f = expectOne(findings, 'hub-locked-to-gateway', 'error', 'hub.lockToGateway');
  assert.match(f.message, /bypasses the gateway/);
});

test('no restricting partner connector: error, with the fix spelled out', () => {
  const findings = check(presetWith('cloud', ['restrictDomainsToIPAddresses: true', 'restrictDomainsToIPAddresses: false']));
  const f = expectOne(findings, 'hub-locked-to-gateway', 'error', 'hub.inboundConnectors');
  assert.match(f.message, /restrictDomainsToIPAddresses: true/);
  // the now-unrestricted partner connector is also reported as an allow connector next to the lock
  expectOne(findings, 'partner-unrestricted', 'warning', 'hub.inboundConnectors[0]');
});

test('a gateway address missing from the IP-restricted connector is an error', () => {
  const findings = check(presetWith('cloud', ['addresses: [10.10.10.1]', 'addresses: [10.10.10.1, 10.10.11.7]']));
  const f = expectOne(findings, 'gateway-ips-covered', 'error', 'hub.inboundConnectors[0].senderIpAddresses');
  assert.match(f.message, /10\.10\.11\.7/);
  assert.match(f.message, /If you miss an IP address some mail will not be delivered/);
});

test('a /24 covering every gateway address satisfies the IP lock', () => {
  const findings = check(presetWith('cloud', ['addresses: [10.10.10.1]', 'addresses: [10.10.10.1, 10.10.10.9]'], ['senderIpAddresses: [10.10.10.1]', 'senderIpAddresses: [10.10.10.0/24]'], ['skipIps: [10.10.10.1]', 'skipIps: [10.10.10.0/24]']));
  expectNone(findings, 'gateway-ips-covered');
  expectNone(findings, 'connector-ip-format');
  assert.deepEqual(errors(findings), []);
});

test('certificate lock naming the gateway passes; a foreign name is an error; no requireTls a warning', () => {
  assert.deepEqual(errors(check(presetWith('cloud', [ipLock, certLock]))), []);
  const wrong = check(presetWith('cloud', [ipLock, certLock.replace('tlsSenderCertificateName: mx.filter.example.net', 'tlsSenderCertificateName: mx.other.example')]));
  expectOne(wrong, 'gateway-cert-name', 'error', 'hub.inboundConnectors[0].tlsSenderCertificateName');
  const noTls = check(presetWith('cloud', [ipLock, certLock.replace('requireTls: true', 'requireTls: false')]));
  expectOne(noTls, 'gateway-cert-name', 'warning', 'hub.inboundConnectors[0].requireTls');
});

test('a partner connector with both IP and certificate restriction is a warning (rule 8)', () => {
  const findings = check(presetWith('cloud', ['restrictDomainsToIPAddresses: true', 'restrictDomainsToIPAddresses: true\n      tlsSenderCertificateName: mx.filter.example.net\n      restrictDomainsToCertificate: true']));
  expectOne(findings, 'partner-ip-and-cert', 'warning', 'hub.inboundConnectors[0]');
});

test('IPv6 and masks wider than /24 on a connector are warnings (rule 7)', () => {
  const findings = check(presetWith('cloud', ['senderIpAddresses: [10.10.10.1]', 'senderIpAddresses: [10.10.10.1, 10.20.0.0/16, 2001:db8::25]']));
  const hits = findings.filter((f) => f.rule === 'connector-ip-format');
  assert.deepEqual(
    hits.map((f) => [f.severity, f.location.field]),
    [
      ['warning', 'hub.inboundConnectors[0].senderIpAddresses[1]'],
      ['warning', 'hub.inboundConnectors[0].senderIpAddresses[2]'],
    ],
  );
  assert.match(hits[1]!.message, /IPv6/);
});

test('0.0.0.0/0 on the on-prem connector is an open relay', () => {
  const findings = check(presetWith('hybrid', ['senderIpAddresses: [131.107.21.231]', 'senderIpAddresses: [131.107.21.231, 0.0.0.0/0]']));
  expectOne(findings, 'open-relay-connector', 'error', 'hub.inboundConnectors[1].senderIpAddresses[1]');
  expectNone(findings, 'connector-ip-format');
});

test('an extra unrestricted partner connector next to the lock is a warning', () => {
  const extra = `    - name: Partner Fabrikam
      type: partner
      senderDomains: [fabrikam.com]
  outboundConnectors:`;
  const findings = check(presetWith('hybrid', ['  outboundConnectors:', extra]));
  expectOne(findings, 'partner-unrestricted', 'warning', 'hub.inboundConnectors[2]');
  assert.deepEqual(errors(findings), []);
});

test('rejectDirectSend off is an info; on, nothing', () => {
  expectOne(check(presetWith('cloud')), 'reject-direct-send', 'info', 'hub.rejectDirectSend');
  expectNone(check(presetWith('cloud', ['lockToGateway: true', 'lockToGateway: true\n  rejectDirectSend: true'])), 'reject-direct-send');
});

test('gateway.deliverTo: the gateway itself is an error, another host a warning, the hub nothing', () => {
  const loop = check(presetWith('cloud', ['inSpf: true', 'inSpf: true\n  deliverTo: mx.filter.example.net']));
  expectOne(loop, 'gateway-delivers-to-hub', 'error', 'gateway.deliverTo');
  const other = check(presetWith('cloud', ['inSpf: true', 'inSpf: true\n  deliverTo: relay.example.org']));
  expectOne(other, 'gateway-delivers-to-hub', 'warning', 'gateway.deliverTo');
  expectNone(check(presetWith('cloud', ['inSpf: true', 'inSpf: true\n  deliverTo: contoso-com.mail.protection.outlook.com:25'])), 'gateway-delivers-to-hub');
});
