// verifyRecords against declarative zones (in-memory Resolver) with the real SPF evaluator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { presetText, type PresetName } from '../../src/config/presets.js';
import type { Config } from '../../src/config/schema.js';
import { toZoneRecord } from '../../src/dns/demo-zone.js';
import { planRecords, type PlannedRecord } from '../../src/dns/plan.js';
import { normalizeSpf, verifyRecords } from '../../src/dns/verify.js';
import type { ZoneRecord } from '../../src/dns/zone.js';
import { zoneResolver } from '../helpers/dns.js';

const preset = (name: PresetName): Config => parseConfigText(presetText(name)).config;
const EOP_SPF: ZoneRecord = { name: 'spf.protection.outlook.com', type: 'TXT', value: 'v=spf1 ip4:40.92.0.0/15 -all' };

/** The hybrid plan published as planned, plus the provider's SPF include. */
function hybridZone(plan: PlannedRecord[], edit: (records: ZoneRecord[]) => ZoneRecord[] = (r) => r): ZoneRecord[] {
  return edit([...plan.map(toZoneRecord), EOP_SPF]);
}
const statusOf = (report: Awaited<ReturnType<typeof verifyRecords>>, kind: string) => report.records.find((r) => r.record.kind === kind)!;

describe('dns verify (declarative zone)', () => {
  const config = preset('hybrid');
  const plan = planRecords(config);

  it('reports every record ok and SPF pass for the gateway and on-prem addresses', async () => {
    const report = await verifyRecords(plan, zoneResolver(hybridZone(plan)), config);
    assert.deepEqual(report.records.map((r) => r.status), plan.map(() => 'ok'));
    assert.deepEqual(
      report.senders.map((s) => [s.role, s.ip, s.result]),
      [
        ['gateway', '10.10.10.1', 'pass'],
        ['onprem:onprem', '131.107.21.231', 'pass'],
        ['hub', null, 'skipped'],
      ],
    );
    assert.match(report.senders[2]!.message, /skipped: no address to test.*include:spf\.protection\.outlook\.com/);
    assert.equal(report.ok, true);
  });

  it('tests the hub through its include when the config lists hub addresses', async () => {
    const withHub = parseConfigText(presetText('hybrid').replace('  spfInclude: spf.protection.outlook.com', '  spfInclude: spf.protection.outlook.com\n  addresses: [40.92.1.1]')).config;
    const report = await verifyRecords(planRecords(withHub), zoneResolver(hybridZone(plan)), withHub);
    const hub = report.senders.find((s) => s.role === 'hub')!;
    assert.deepEqual([hub.ip, hub.result, hub.status], ['40.92.1.1', 'pass', 'ok']);
  });

  it('compares SPF case- and whitespace-insensitively', async () => {
    const spf = plan.find((r) => r.kind === 'spf')!;
    const loud = `  V=SPF1   IP4:10.10.10.1 ip4:131.107.21.231    INCLUDE:spf.protection.outlook.com -ALL `;
    assert.equal(normalizeSpf(loud), spf.value);
    const zone = hybridZone(plan, (rs) => rs.map((r) => (r.type === 'TXT' && r.name === 'contoso.com' ? { ...r, value: [loud.slice(0, 20), loud.slice(20)] } : r)));
    const report = await verifyRecords(plan, zoneResolver(zone), config);
    assert.equal(statusOf(report, 'spf').status, 'ok');
    assert.deepEqual(statusOf(report, 'spf').found, [loud]);
  });

  it('reports two SPF records as different (permerror) and the senders as failing', async () => {
    const zone = hybridZone(plan, (rs) => [...rs, { name: 'contoso.com', type: 'TXT', value: 'v=spf1 -all' }]);
    const report = await verifyRecords(plan, zoneResolver(zone), config);
    const spf = statusOf(report, 'spf');
    assert.equal(spf.status, 'different');
    assert.match(spf.message, /2 SPF records.*permerror/);
    assert.equal(report.senders[0]!.result, 'permerror');
    assert.equal(report.senders[0]!.status, 'fail');
    assert.equal(report.ok, false);
  });

  it('ignores other TXT records at the SPF name, but reports SPF missing when only they exist', async () => {
    const verification: ZoneRecord = { name: 'contoso.com', type: 'TXT', value: 'MS=ms12345678' };
    const alongside = await verifyRecords(plan, zoneResolver(hybridZone(plan, (rs) => [...rs, verification])), config);
    assert.equal(statusOf(alongside, 'spf').status, 'ok');
    const only = hybridZone(plan, (rs) => [...rs.filter((r) => !(r.type === 'TXT' && r.name === 'contoso.com')), verification]);
    const report = await verifyRecords(plan, zoneResolver(only), config);
    assert.equal(statusOf(report, 'spf').status, 'missing');
    assert.equal(report.senders[0]!.result, 'none');
    assert.equal(report.ok, false);
  });

  it('flags an MX that also points at the hub, and one that points elsewhere', async () => {
    const extra: ZoneRecord = { name: 'contoso.com', type: 'MX', value: { priority: 20, exchange: 'contoso-com.mail.protection.outlook.com' } };
    const both = await verifyRecords(plan, zoneResolver(hybridZone(plan, (rs) => [...rs, extra])), config);
    assert.equal(statusOf(both, 'mx').status, 'different');
    assert.match(statusOf(both, 'mx').message, /also points at contoso-com\.mail\.protection\.outlook\.com.*bypasses the gateway/);
    const elsewhere = hybridZone(plan, (rs) => [...rs.filter((r) => r.type !== 'MX'), extra]);
    const report = await verifyRecords(plan, zoneResolver(elsewhere), config);
    assert.equal(statusOf(report, 'mx').status, 'different');
    assert.deepEqual(statusOf(report, 'mx').found, ['20 contoso-com.mail.protection.outlook.com']);
  });

  it('accepts an equivalent DMARC record and reports a missing one', async () => {
    const reordered = hybridZone(plan, (rs) => rs.map((r) => (r.name === '_dmarc.contoso.com' ? { ...r, value: 'v=DMARC1;rua=mailto:dmarc-reports@contoso.com; pct=100;p=quarantine' } : r)));
    assert.equal(statusOf(await verifyRecords(plan, zoneResolver(reordered), config), 'dmarc').status, 'ok');
    const weaker = hybridZone(plan, (rs) => rs.map((r) => (r.name === '_dmarc.contoso.com' ? { ...r, value: 'v=DMARC1; p=none; rua=mailto:dmarc-reports@contoso.com' } : r)));
    assert.equal(statusOf(await verifyRecords(plan, zoneResolver(weaker), config), 'dmarc').status, 'different');
    const gone = hybridZone(plan, (rs) => rs.filter((r) => r.name !== '_dmarc.contoso.com'));
    const report = await verifyRecords(plan, zoneResolver(gone), config);
    assert.equal(statusOf(report, 'dmarc').status, 'missing');
    assert.equal(report.ok, false);
  });

  it('reports a CNAME to the wrong target as different and a DNS failure as error', async () => {
    const wrong = hybridZone(plan, (rs) => rs.map((r) => (r.name === 'autodiscover.contoso.com' ? { ...r, value: 'autodiscover.contoso.com.example' } : r)));
    const report = await verifyRecords(plan, zoneResolver(wrong, { '_dmarc.contoso.com': 'servfail' }), config);
    assert.equal(statusOf(report, 'autodiscover').status, 'different');
    assert.equal(statusOf(report, 'dmarc').status, 'error');
    assert.match(statusOf(report, 'dmarc').message, /servfail/);
    assert.equal(report.ok, false);
  });

  it('never reports a DKIM record without a key as ok, published or not', async () => {
    const demo = preset('demo');
    const demoPlan = planRecords(demo);
    const hubSpf: ZoneRecord = { name: 'spf.hub.demo.test', type: 'TXT', value: 'v=spf1 ip4:127.0.0.3 -all' };
    const published = [...demoPlan.map(toZoneRecord), hubSpf];
    const asPlanned = await verifyRecords(demoPlan, zoneResolver(published), demo);
    assert.equal(statusOf(asPlanned, 'dkim').status, 'different');
    assert.match(statusOf(asPlanned, 'dkim').message, /no DKIM key/);
    const unpublished = await verifyRecords(demoPlan, zoneResolver(published.filter((r) => !r.name.includes('_domainkey'))), demo);
    assert.equal(statusOf(unpublished, 'dkim').status, 'missing');
    assert.equal(unpublished.ok, false);
    assert.ok(unpublished.records.filter((r) => r.record.kind !== 'dkim').every((r) => r.status === 'ok'));
  });

  it('compares a DKIM key by its tags: v= optional, the key folded over several strings', async () => {
    const text = presetText('cloud').replace('    cname: selector1-contoso-com._domainkey.contoso.onmicrosoft.com', '    publicKey: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq1w');
    const keyed = parseConfigText(text).config;
    const keyedPlan = planRecords(keyed);
    const base = [...keyedPlan.map(toZoneRecord), EOP_SPF].filter((r) => !r.name.startsWith('selector1.'));
    const dkimAt = (value: string | string[]): ZoneRecord[] => [...base, { name: 'selector1._domainkey.contoso.com', type: 'TXT', value }];
    const folded = await verifyRecords(keyedPlan, zoneResolver(dkimAt(['k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A', 'MIIBCgKCAQEAq1w'])), keyed);
    assert.equal(statusOf(folded, 'dkim').status, 'ok', statusOf(folded, 'dkim').message);
    const other = await verifyRecords(keyedPlan, zoneResolver(dkimAt('v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAzzz')), keyed);
    assert.equal(statusOf(other, 'dkim').status, 'different');
    assert.equal(other.ok, false);
  });
});
