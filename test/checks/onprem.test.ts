// On-prem ↔ hub (seed 000; inventory rules 18–24).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, errors, expectNone, expectOne, presetWith } from './helpers.js';

const onpremInbound = /    - name: From on-premises\n      type: onpremises\n      senderIpAddresses: \[131\.107\.21\.231\]\n      tlsSenderCertificateName: mail\.contoso\.com\n      requireTls: true\n/;

test('on-prem sending through the gateway or straight out is an error', () => {
  const viaGateway = check(presetWith('hybrid', ['smartHost: hub', 'smartHost: mx.filter.example.net']));
  const f = expectOne(viaGateway, 'onprem-smarthost-hub', 'error', 'onprem[0].smartHost');
  assert.match(f.message, /bypassing the third-party service/);
  const direct = check(presetWith('hybrid', ['smartHost: hub', 'smartHost: smtp.isp.example']));
  const g = expectOne(direct, 'onprem-smarthost-hub', 'error', 'onprem[0].smartHost');
  assert.match(g.message, /block lists/);
  expectNone(check(presetWith('hybrid', ['smartHost: hub', 'smartHost: contoso-com.mail.protection.outlook.com'])), 'onprem-smarthost-hub');
});

test('no onpremises inbound connector for the server is an error (5.7.64)', () => {
  const f = expectOne(check(presetWith('hybrid', [onpremInbound, ''])), 'onprem-inbound-connector', 'error', 'onprem[0]');
  assert.match(f.message, /5\.7\.64 TenantAttribution/);
});

test('an IP-only on-prem connector is a warning (prefer certificates)', () => {
  const ipOnly = '    - name: From on-premises\n      type: onpremises\n      senderIpAddresses: [131.107.21.231]\n';
  const findings = check(presetWith('hybrid', [onpremInbound, ipOnly]));
  const f = expectOne(findings, 'onprem-connector-prefer-cert', 'warning', 'hub.inboundConnectors[1]');
  assert.match(f.message, /MC1226222/);
  expectNone(findings, 'onprem-inbound-connector');
});

test('an IP connector that misses one of the server addresses is an error naming it', () => {
  const ipOnly = '    - name: From on-premises\n      type: onpremises\n      senderIpAddresses: [131.107.21.231]\n';
  const findings = check(presetWith('hybrid', [onpremInbound, ipOnly], ['addresses: [131.107.21.231]', 'addresses: [131.107.21.231, 131.107.22.5]']));
  const f = expectOne(findings, 'onprem-inbound-connector', 'error', 'onprem[0]');
  assert.match(f.message, /missing 131\.107\.22\.5/);
});

test('an on-prem certificate name outside the accepted domains is an error', () => {
  const findings = check(presetWith('hybrid', ['tlsSenderCertificateName: mail.contoso.com', 'tlsSenderCertificateName: mail.contoso-mail.net'], ['hostname: mail.contoso.com', 'hostname: mail.contoso-mail.net'], ['smartHosts: [mail.contoso.com]', 'smartHosts: [mail.contoso-mail.net]']));
  expectOne(findings, 'onprem-cert-accepted-domain', 'error', 'hub.inboundConnectors[1].tlsSenderCertificateName');
  expectNone(findings, 'onprem-inbound-connector');
});

test('an internal-relay domain without an onpremises outbound connector is an error', () => {
  const findings = check(presetWith('hybrid', [/  outboundConnectors:\n[\s\S]*?tls: certificate-validation\n/, '']));
  const f = expectOne(findings, 'onprem-domain-connector', 'error', 'domains[0].type');
  assert.match(f.message, /internal-relay/);
});

test('a partner connector chosen for the on-prem domain is an error at that connector', () => {
  const extra = `  outboundConnectors:
    - name: Partner first
      type: partner
      recipientDomains: [contoso.com]
      smartHosts: [relay.partner.example]
    - name: To on-premises`;
  const findings = check(presetWith('hybrid', ['  outboundConnectors:\n    - name: To on-premises', extra]));
  expectOne(findings, 'onprem-domain-connector', 'error', 'hub.outboundConnectors[0]');
});

test('authoritative with on-prem mailboxes: warning; plus an error when no connector serves it', () => {
  const findings = check(presetWith('hybrid', ['type: internal-relay ', 'type: authoritative ']));
  expectOne(findings, 'authoritative-with-onprem', 'warning', 'domains[0].type');
  assert.deepEqual(errors(findings), []);
  const noConn = check(presetWith('hybrid', ['type: internal-relay ', 'type: authoritative '], [/  outboundConnectors:\n[\s\S]*?tls: certificate-validation\n/, '']));
  expectOne(noConn, 'onprem-domain-connector', 'error', 'domains[0].type');
});

test('a mailbox rule homing a pattern on-prem counts as on-prem recipients', () => {
  const findings = check(presetWith('cloud', ['mailboxes:\n  cloud: [alice@contoso.com, carol@contoso.com]', `onprem:
  - name: onprem
    hostname: mail.contoso.com
    addresses: [131.107.21.231]
mailboxes:
  cloud: [alice@contoso.com, carol@contoso.com]
  rules:
    - match: 'eng-*@contoso.com'
      home: onprem`]));
  expectOne(findings, 'onprem-domain-connector', 'error', 'domains[0].type');
  expectOne(findings, 'authoritative-with-onprem', 'warning', 'domains[0].type');
  expectOne(findings, 'onprem-inbound-connector', 'error', 'onprem[0]');
});

test('opportunistic TLS to on-prem is a warning; required without validation an info', () => {
  expectOne(check(presetWith('demo')), 'onprem-connector-tls', 'warning', 'hub.outboundConnectors[0].tls');
  expectOne(check(presetWith('hybrid', ['tls: certificate-validation', 'tls: required'])), 'onprem-connector-tls', 'info', 'hub.outboundConnectors[0].tls');
  expectNone(check(presetWith('hybrid')), 'onprem-connector-tls');
});

test('an onpremises connector pointing at the hub or the gateway is a loop', () => {
  const findings = check(presetWith('hybrid', ['smartHosts: [mail.contoso.com]', 'smartHosts: [hub]']));
  expectOne(findings, 'onprem-connector-loop', 'error', 'hub.outboundConnectors[0].smartHosts[0]');
});
