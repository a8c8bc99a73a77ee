// Published DNS through the injected resolver (a fake one here): MX, SPF, DKIM, DMARC, failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byRule, check, checkWithDns, cloudZone, errors, expectNone, expectOne, fakeResolver, presetWith } from './helpers.js';

const DNS_RULES = ['mx-points-to-gateway', 'spf-published', 'spf-open-all', 'spf-lint', 'dkim-published', 'dmarc-published', 'dns-lookup-failed'];
const dnsFindings = (fs: Awaited<ReturnType<typeof checkWithDns>>) => fs.filter((f) => DNS_RULES.includes(f.rule));

test('the cloud preset against its planned zone: no DNS findings', async () => {
  const resolver = fakeResolver(cloudZone());
  const findings = await checkWithDns(presetWith('cloud'), resolver);
  assert.deepEqual(dnsFindings(findings), []);
  assert.ok(resolver.asked.includes('MX contoso.com') && resolver.asked.includes('TXT _dmarc.contoso.com'));
});

test('without a resolver no DNS rule runs', () => {
  assert.deepEqual(dnsFindings(check(presetWith('cloud'))), []);
});

test('MX pointing at the hub is an error at the domain', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.MX = [{ priority: 10, exchange: 'mx.filter.example.net' }, { priority: 20, exchange: 'contoso-com.mail.protection.outlook.com.' }];
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'mx-points-to-gateway', 'error', 'domains[0].name');
  assert.match(f.message, /the hub/);
  assert.match(f.message, /MX 10 mx\.filter\.example\.net/);
});

test('MX pointing at on-prem, or missing, is an error', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.MX = [{ priority: 10, exchange: 'mail.contoso.com' }];
  const f = expectOne(await checkWithDns(presetWith('hybrid'), fakeResolver(zone)), 'mx-points-to-gateway', 'error', 'domains[0].name');
  assert.match(f.message, /on-prem server onprem/);
  delete zone['contoso.com']!.MX;
  const g = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'mx-points-to-gateway', 'error', 'domains[0].name');
  assert.match(g.message, /no MX record/);
});

test('two SPF records are an error (permerror)', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.TXT!.push(['v=spf1 include:spf.protection.outlook.com -all']);
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'spf-published', 'error', 'domains[0].name');
  assert.match(f.message, /2 SPF records/);
});

test('no SPF record is an error that prints the planned record', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.TXT = [['MS=ms12345678']];
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'spf-published', 'error', 'domains[0].name');
  assert.match(f.message, /v=spf1 .*include:spf\.protection\.outlook\.com -all/);
});

test('~all is a warning, ?all and +all are spf-open-all errors', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.TXT = [['v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com ~all']];
  expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'spf-published', 'warning', 'domains[0].name');
  zone['contoso.com']!.TXT = [['v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com ?all']];
  const findings = await checkWithDns(presetWith('cloud'), fakeResolver(zone));
  expectOne(findings, 'spf-open-all', 'error', 'domains[0].name');
  expectNone(findings, 'spf-published');
});

test('a published record without the hub include is an error; without the gateway in scenario 2 too', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.TXT = [['v=spf1 ip4:10.10.10.1 -all']];
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'spf-published', 'error', 'domains[0].name');
  assert.match(f.message, /does not authorise hub/);
  zone['contoso.com']!.MX = [{ priority: 10, exchange: 'mx.archive.example.net' }];
  zone['contoso.com']!.TXT = [['v=spf1 ip4:192.0.2.1 -all']];
  const g = expectOne(await checkWithDns(presetWith('archive'), fakeResolver(zone)), 'spf-published', 'error', 'domains[0].name');
  assert.match(g.message, /does not authorise gateway/);
});

test('a role that may be covered through an unexpanded include is a warning, not an error', async () => {
  const zone = cloudZone();
  zone['contoso.com']!.TXT = [['v=spf1 include:spf.protection.outlook.com include:_spf.filter.example.net -all']];
  zone['_spf.filter.example.net'] = { TXT: [['v=spf1 ip4:10.10.10.0/24 -all']] };
  zone['contoso.com']!.MX = [{ priority: 10, exchange: 'mx.archive.example.net' }];
  const findings = await checkWithDns(presetWith('archive'), fakeResolver(zone));
  expectOne(findings, 'spf-published', 'warning', 'domains[0].name');
  assert.deepEqual(errors(dnsFindings(findings)), []);
});

test('the SPF linter reports more than 10 lookups through includes', async () => {
  const zone = cloudZone();
  const includes = Array.from({ length: 11 }, (_, i) => `include:s${i}.example.net`);
  zone['contoso.com']!.TXT = [[`v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com ${includes.slice(0, 5).join(' ')} -all`]];
  for (let i = 0; i < 11; i++) zone[`s${i}.example.net`] = { TXT: [[i === 4 ? `v=spf1 ${includes.slice(5).join(' ')} -all` : 'v=spf1 -all']] };
  const findings = await checkWithDns(presetWith('cloud'), fakeResolver(zone));
  const lint = byRule(findings, 'spf-lint').filter((f) => f.severity === 'error');
  assert.ok(lint.some((f) => /lookup-limit/.test(f.message)), JSON.stringify(lint));
});

test('DMARC missing or with another policy is a warning', async () => {
  const zone = cloudZone();
  zone['_dmarc.contoso.com'] = { TXT: [['v=DMARC1; p=none']] };
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'dmarc-published', 'warning', 'domains[0].name');
  assert.match(f.message, /p=none .* p=quarantine/);
  delete zone['_dmarc.contoso.com'];
  expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'dmarc-published', 'warning', 'domains[0].name');
});

test('a DKIM selector CNAME that is missing is a warning at the key', async () => {
  const zone = cloudZone();
  delete zone['selector1._domainkey.contoso.com'];
  const f = expectOne(await checkWithDns(presetWith('cloud'), fakeResolver(zone)), 'dkim-published', 'warning', 'dkim[0].cname');
  assert.match(f.message, /CNAME selector1-contoso-com\._domainkey\.contoso\.onmicrosoft\.com/);
});

test('a DKIM TXT key is found; a missing one is a warning', async () => {
  const loaded = presetWith('cloud', ['    cname: selector1-contoso-com._domainkey.contoso.onmicrosoft.com\n', '']);
  const zone = cloudZone();
  zone['selector1._domainkey.contoso.com'] = { TXT: [['v=DKIM1; k=rsa; p=MIIBIjAN']] };
  expectNone(await checkWithDns(loaded, fakeResolver(zone)), 'dkim-published');
  delete zone['selector1._domainkey.contoso.com'];
  expectOne(await checkWithDns(loaded, fakeResolver(zone)), 'dkim-published', 'warning', 'dkim[0].selector');
});

test('a dead DNS server gives one warning and no errors', async () => {
  const zone = Object.fromEntries(Object.keys(cloudZone()).map((k) => [k, { fail: 'timeout' as const }]));
  const findings = await checkWithDns(presetWith('cloud'), fakeResolver(zone));
  const f = expectOne(findings, 'dns-lookup-failed', 'warning', 'dns.servers');
  assert.match(f.message, /no DNS lookup succeeded/);
  assert.deepEqual(errors(findings), []);
});

test('one failed lookup is reported by name and its rule is skipped', async () => {
  const zone = cloudZone();
  zone['_dmarc.contoso.com'] = { fail: 'servfail' };
  const findings = await checkWithDns(presetWith('cloud'), fakeResolver(zone));
  const f = expectOne(findings, 'dns-lookup-failed', 'warning', 'dns.servers');
  assert.match(f.message, /_dmarc\.contoso\.com TXT: servfail/);
  expectNone(findings, 'dmarc-published');
});
