// The DNS plan of each preset, and the SPF/DKIM/DMARC rules behind it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseConfigText } from '../../src/config/load.js';
import { presetText, type PresetName } from '../../src/config/presets.js';
import type { Config } from '../../src/config/schema.js';
import { demoZoneRecords } from '../../src/dns/demo-zone.js';
import { DKIM_PLACEHOLDER, hubRelaysThroughGateway, planRecords, spfRecordValue, type PlannedRecord } from '../../src/dns/plan.js';

const preset = (name: PresetName): Config => parseConfigText(presetText(name)).config;
const brief = (records: PlannedRecord[]) => records.map((r) => [r.type, r.name, r.value]);

/** A preset with some YAML replaced (keeps the tests readable against the real preset text). */
function variant(name: PresetName, edits: [string | RegExp, string][]): Config {
  let text = presetText(name);
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    assert.notEqual(next, text, `edit ${String(from)} applied`);
    text = next;
  }
  return parseConfigText(text).config;
}

describe('DNS plan of the presets', () => {
  it('hybrid: SPF is exactly the seed 000 record', () => {
    assert.equal(
      spfRecordValue(preset('hybrid')),
      'v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all',
    );
  });

  it('hybrid: MX to the gateway, SPF, DMARC, DKIM CNAME, autodiscover, on-prem A record', () => {
    assert.deepEqual(brief(planRecords(preset('hybrid'))), [
      ['MX', 'contoso.com', '10 mx.filter.example.net'],
      ['TXT', 'contoso.com', 'v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all'],
      ['TXT', '_dmarc.contoso.com', 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.com'],
      ['CNAME', 'selector1._domainkey.contoso.com', 'selector1-contoso-com._domainkey.contoso.onmicrosoft.com'],
      ['CNAME', 'autodiscover.contoso.com', 'autodiscover.outlook.com'],
      ['A', 'mail.contoso.com', '131.107.21.231'],
    ]);
  });

  it('cloud: the third party and the hub send (seed 003 scenario 1), no on-prem', () => {
    assert.deepEqual(brief(planRecords(preset('cloud'))), [
      ['MX', 'contoso.com', '10 mx.filter.example.net'],
      ['TXT', 'contoso.com', 'v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com -all'],
      ['TXT', '_dmarc.contoso.com', 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.com'],
      ['CNAME', 'selector1._domainkey.contoso.com', 'selector1-contoso-com._domainkey.contoso.onmicrosoft.com'],
    ]);
  });

  it('archive: the hub relays everything through the service, so SPF names only the service', () => {
    const config = preset('archive');
    assert.equal(hubRelaysThroughGateway(config), true);
    assert.deepEqual(brief(planRecords(config)), [
      ['MX', 'contoso.com', '10 mx.archive.example.net'],
      ['TXT', 'contoso.com', 'v=spf1 ip4:10.10.10.1 -all'],
      ['TXT', '_dmarc.contoso.com', 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.com'],
      ['CNAME', 'selector1._domainkey.contoso.com', 'selector1-contoso-com._domainkey.contoso.onmicrosoft.com'],
    ]);
  });

  it('demo: loopback senders, the hub by include, a DKIM record flagged as missing its key', () => {
    const plan = planRecords(preset('demo'));
    assert.deepEqual(brief(plan), [
      ['MX', 'contoso.test', '10 mx.gateway.demo.test'],
      ['TXT', 'contoso.test', 'v=spf1 ip4:127.0.0.2 ip4:127.0.0.4 include:spf.hub.demo.test -all'],
      ['TXT', '_dmarc.contoso.test', 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.test'],
      ['TXT', 'hub1._domainkey.contoso.test', DKIM_PLACEHOLDER],
      ['A', 'mail.contoso.test', '127.0.0.4'],
    ]);
    const dkim = plan.find((r) => r.kind === 'dkim')!;
    assert.equal(dkim.incomplete, true);
    assert.match(dkim.purpose, /missing/i);
  });

  it('gives every record a purpose', () => {
    for (const name of ['hybrid', 'cloud', 'archive', 'demo'] as const) {
      for (const r of planRecords(preset(name))) assert.ok(r.purpose.length > 10, `${name} ${r.type} ${r.name}`);
    }
  });
});

describe('SPF rules', () => {
  it('leaves the gateway out when it is neither listed nor relaying outbound', () => {
    const config = variant('hybrid', [['inSpf: true                 # the seed lists the third party', 'inSpf: false #']]);
    assert.equal(spfRecordValue(config), 'v=spf1 ip4:131.107.21.231 include:spf.protection.outlook.com -all');
  });

  it('keeps a relaying gateway even when inSpf is false (scenario 2: it is the real source)', () => {
    const config = variant('archive', [['inSpf: true                 # the service', 'inSpf: false #']]);
    assert.equal(spfRecordValue(config), 'v=spf1 ip4:10.10.10.1 -all');
  });

  it('uses a role include instead of its addresses, and ip6 for IPv6 addresses', () => {
    const config = variant('hybrid', [
      ['addresses: [10.10.10.1]     # its egress IPs', 'spfInclude: spf.filter.example.net\n  addresses: [10.10.10.1] #'],
      ['addresses: [131.107.21.231]', 'addresses: ["2001:db8::25", 131.107.21.231]'],
    ]);
    assert.equal(
      spfRecordValue(config),
      'v=spf1 include:spf.filter.example.net ip6:2001:db8::25 ip4:131.107.21.231 include:spf.protection.outlook.com -all',
    );
    const host = planRecords(config).find((r) => r.kind === 'host')!;
    assert.deepEqual([host.type, host.value], ['AAAA', '2001:db8::25']);
  });

  it('leaves an on-prem server out when its inSpf is false', () => {
    const config = variant('hybrid', [['inSpf: true               # the seed', 'inSpf: false #']]);
    assert.equal(spfRecordValue(config), 'v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com -all');
  });

  it('keeps the hub when its catch-all connector goes elsewhere, drops it when it names the gateway role', () => {
    const elsewhere = variant('archive', [['smartHosts: [mx.archive.example.net]', 'smartHosts: [relay.example.org]']]);
    assert.equal(spfRecordValue(elsewhere), 'v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com -all');
    const byRole = variant('archive', [['smartHosts: [mx.archive.example.net]', 'smartHosts: ["gateway"]']]);
    assert.equal(spfRecordValue(byRole), 'v=spf1 ip4:10.10.10.1 -all');
    const disabled = variant('archive', [['      recipientDomains: [\'*\']', "      enabled: false\n      recipientDomains: ['*']"]]);
    assert.equal(spfRecordValue(disabled), 'v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com -all');
  });

  it('plans one MX and SPF per accepted domain', () => {
    const config = variant('cloud', [['    type: authoritative       # every', '    type: authoritative\n  - name: fabrikam.com #']]);
    const plan = planRecords(config);
    assert.deepEqual(plan.filter((r) => r.kind === 'mx').map((r) => r.name), ['contoso.com', 'fabrikam.com']);
    assert.deepEqual(plan.filter((r) => r.kind === 'spf').map((r) => r.name), ['contoso.com', 'fabrikam.com']);
  });
});

describe('DMARC and DKIM records', () => {
  it('adds sp, pct, adkim and aspf only when they differ from the defaults', () => {
    const config = variant('cloud', [['  policy: quarantine\n', '  policy: reject\n  subdomainPolicy: quarantine\n  pct: 50\n  adkim: s\n  aspf: s\n']]);
    const dmarc = planRecords(config).find((r) => r.kind === 'dmarc')!;
    assert.equal(dmarc.value, 'v=DMARC1; p=reject; rua=mailto:dmarc-reports@contoso.com; sp=quarantine; pct=50; adkim=s; aspf=s');
  });

  it('derives the public key from the private key file, resolved against baseDir', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const spki = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    const config = variant('demo', [['    role: hub\n\ndmarc', '    role: hub\n    privateKey: keys/hub1.pem\n\ndmarc']]);
    const reads: string[] = [];
    const plan = planRecords(config, { baseDir: '/etc/mailflow', readFile: (p) => (reads.push(p), pem) });
    assert.deepEqual(reads, ['/etc/mailflow/keys/hub1.pem']);
    const dkim = plan.find((r) => r.kind === 'dkim')!;
    assert.equal(dkim.value, `v=DKIM1; k=rsa; p=${spki}`);
    assert.equal(dkim.incomplete, undefined);
  });

  it('publishes Ed25519 keys as k=ed25519 with the raw 32-byte key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const config = variant('demo', [['    role: hub\n\ndmarc', '    role: hub\n    privateKey: ed.pem\n\ndmarc']]);
    const dkim = planRecords(config, { readFile: () => pem }).find((r) => r.kind === 'dkim')!;
    const p = /p=(.+)$/.exec(dkim.value)![1]!;
    assert.match(dkim.value, /^v=DKIM1; k=ed25519; p=/);
    assert.equal(Buffer.from(p, 'base64').length, 32);
  });

  it('uses a configured publicKey and marks an unreadable private key as missing', () => {
    const withPub = variant('demo', [['    role: hub\n\ndmarc', '    role: hub\n    publicKey: "MIIB abc"\n\ndmarc']]);
    assert.equal(planRecords(withPub).find((r) => r.kind === 'dkim')!.value, 'v=DKIM1; k=rsa; p=MIIBabc');
    const unreadable = variant('demo', [['    role: hub\n\ndmarc', '    role: hub\n    privateKey: nope.pem\n\ndmarc']]);
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    const dkim = planRecords(unreadable, { baseDir: '/x', readFile: () => { throw enoent; } }).find((r) => r.kind === 'dkim')!;
    assert.equal(dkim.value, DKIM_PLACEHOLDER);
    assert.equal(dkim.incomplete, true);
    assert.match(dkim.purpose, /cannot read \/x\/nope\.pem \(ENOENT\)/);
  });
});

describe('demo zones', () => {
  it('serve the plan, every role address, the hub include and the external domains, never a key placeholder', () => {
    const zone = demoZoneRecords(preset('demo'));
    const line = (r: (typeof zone)[number]) => `${r.name} ${r.type} ${typeof r.value === 'string' ? r.value : JSON.stringify(r.value)}`;
    assert.deepEqual(zone.map(line), [
      'contoso.test MX {"priority":10,"exchange":"mx.gateway.demo.test"}',
      'contoso.test TXT v=spf1 ip4:127.0.0.2 ip4:127.0.0.4 include:spf.hub.demo.test -all',
      '_dmarc.contoso.test TXT v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.test',
      'mail.contoso.test A 127.0.0.4',
      'mx.gateway.demo.test A 127.0.0.2',
      'contoso-test.mail.hub.demo.test A 127.0.0.3',
      'spf.hub.demo.test TXT v=spf1 ip4:127.0.0.3 -all',
      'mx.fabrikam.test A 127.0.0.5',
      'fabrikam.test MX {"priority":10,"exchange":"mx.fabrikam.test"}',
      'fabrikam.test TXT v=spf1 ip4:127.0.0.5 -all',
    ]);
  });
});
