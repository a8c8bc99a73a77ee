// The built-in scanner (rules, DNSBL through a loopback DNS server) and the verdict rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResolver } from '../../src/dns/client.js';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import type { AuthResults } from '../../src/filter/authenticate.js';
import { headerValues } from '../../src/filter/headers.js';
import { builtinScanner, dnsblName } from '../../src/filter/scanners/builtin.js';
import type { ScanResult } from '../../src/filter/scanners/types.js';
import { decideVerdict, readUpstreamVerdict, stampVerdict, stripVerdicts } from '../../src/filter/verdict.js';

const ctx = { ip: '192.0.2.10', helo: 'mx.fabrikam.test', sender: 'alice@fabrikam.test', recipients: ['bob@contoso.test'] };
const good = Buffer.from('From: Alice <alice@fabrikam.test>\r\nTo: bob@contoso.test\r\nSubject: Lunch\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\nMessage-ID: <a@fabrikam.test>\r\n\r\nHi.\r\n');

function auth(over: { spf?: string; dkim?: string; dmarc?: string; policy?: string; overridden?: boolean }): AuthResults {
  return {
    spf: { result: (over.spf ?? 'pass') as never, domain: 'fabrikam.test', ip: ctx.ip, helo: ctx.helo, comment: '' },
    dkim: { result: (over.dkim ?? 'none') as never, signatures: [] },
    dmarc: {
      result: (over.dmarc ?? 'pass') as never,
      policy: (over.policy ?? 'none') as never,
      domain: 'fabrikam.test',
      policyDomain: 'fabrikam.test',
      testMode: false,
      alignment: { spf: null, dkim: null, spfStrict: false, dkimStrict: false },
      overriddenByArc: !!over.overridden,
    },
    arc: { result: 'none', instance: 0, sealer: null, trusted: false, upstream: null },
    headerFrom: 'fabrikam.test',
    header: '',
    authResultsValue: '',
    summary: '',
  };
}

describe('built-in rules', () => {
  test('a well-formed message from an authenticated sender scores 0', async () => {
    const r = await builtinScanner().scan(good, { ...ctx, auth: auth({}) });
    assert.equal(r.status, 'ok');
    assert.equal(r.score, 0);
    assert.deepEqual(r.symbols, []);
  });

  test('missing Date and Message-ID, all-caps subject, From/envelope mismatch, SPF and DMARC failures add up', async () => {
    const msg = Buffer.from('From: Bank <security@bank.example>\r\nTo: bob@contoso.test\r\nSubject: VERIFY YOUR ACCOUNT NOW\r\n\r\nClick.\r\n');
    const r = await builtinScanner().scan(msg, { ...ctx, auth: auth({ spf: 'fail', dmarc: 'fail', policy: 'none' }) });
    assert.deepEqual(r.symbols!.sort(), ['DMARC_FAIL(3)', 'FROM_ENVELOPE_MISMATCH(1)', 'MISSING_DATE(1)', 'MISSING_MID(2.5)', 'SPF_FAIL(3)', 'SUBJ_ALL_CAPS(3)']);
    assert.equal(r.score, 13.5);
  });

  test('a subdomain of the same organisation is not a From/envelope mismatch; DMARC overridden by trusted ARC is not scored', async () => {
    const r = await builtinScanner().scan(good, { ...ctx, sender: 'bounce@mail.fabrikam.test', auth: auth({ dmarc: 'fail', overridden: true }) });
    assert.equal(r.score, 0);
  });

  test('GTUBE alone reaches any reject threshold', async () => {
    const msg = Buffer.from(good.toString().replace('Hi.', 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'));
    const r = await builtinScanner().scan(msg, ctx);
    assert.ok(r.symbols!.includes('GTUBE(100)'));
    assert.equal(decideVerdict([r], { thresholds: { junk: 5, quarantine: 10, reject: 15 }, malware: 'reject', enforceDmarc: true }).action, 'reject');
  });

  test('size: a message over the limit is marked', async () => {
    const r = await builtinScanner({ largeMessage: 50 }).scan(good, ctx);
    assert.ok(r.symbols!.includes('LARGE_MESSAGE(0.5)'));
  });

  test('dnsblName reverses IPv4 octets and IPv6 nibbles', () => {
    assert.equal(dnsblName('192.0.2.10', 'bl.test'), '10.2.0.192.bl.test');
    assert.equal(dnsblName('::ffff:192.0.2.10', 'bl.test'), '10.2.0.192.bl.test');
    assert.equal(dnsblName('2001:db8::1', 'bl.test'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test');
    assert.equal(dnsblName('nonsense', 'bl.test'), null);
  });
});

describe('DNS block lists through a loopback DNS server', () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer({
      host: '127.0.0.1',
      port: 0,
      records: [
        { name: '66.100.51.198.bl.mailflow.test', type: 'A', value: '127.0.0.2' },
        { name: '66.100.51.198.refusing.mailflow.test', type: 'A', value: '127.255.255.254' },
        { name: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.mailflow.test', type: 'A', value: '127.0.0.4' },
      ],
      silentNames: ['66.100.51.198.slow.mailflow.test'],
    });
  });
  after(() => dns.close());

  const zones = [
    { zone: 'bl.mailflow.test', score: 6 },
    { zone: 'refusing.mailflow.test', score: 6 },
    { zone: 'slow.mailflow.test', score: 6 },
  ];

  test('a listed IP scores per zone; a refusal or a silent list scores nothing and is noted', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 300 });
    const r = await builtinScanner({ resolver, dnsbl: zones }).scan(good, { ...ctx, ip: '198.51.100.66' });
    assert.deepEqual(r.symbols, ['DNSBL(bl.mailflow.test)(6)']);
    assert.equal(r.score, 6);
    assert.match(r.detail, /listed in bl\.mailflow\.test \(127\.0\.0\.2\)/);
    assert.match(r.detail, /refusing\.mailflow\.test refused the query/);
    assert.match(r.detail, /slow\.mailflow\.test not answered: timeout/);
  });

  test('an unlisted IP and an IPv6 listing', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 300 });
    const clean = await builtinScanner({ resolver, dnsbl: [zones[0]!] }).scan(good, { ...ctx, ip: '203.0.113.9' });
    assert.equal(clean.score, 0);
    const v6 = await builtinScanner({ resolver, dnsbl: [zones[0]!] }).scan(good, { ...ctx, ip: '2001:db8::1' });
    assert.equal(v6.score, 6);
  });

  test('private addresses are not sent to block lists', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 300 });
    const before = dns.queries.length;
    const r = await builtinScanner({ resolver, dnsbl: zones }).scan(good, { ...ctx, ip: '10.1.2.3' });
    assert.equal(r.score, 0);
    assert.equal(dns.queries.length, before);
  });
});

describe('decideVerdict', () => {
  const policy = { thresholds: { junk: 5, quarantine: 10, reject: 15 }, malware: 'reject' as const, enforceDmarc: true };
  const res = (scanner: string, score?: number, extra: Partial<ScanResult> = {}): ScanResult => ({ scanner, status: 'ok', ...(score !== undefined ? { score } : {}), detail: '', ...extra });

  test('thresholds: deliver, junk, quarantine, reject; scores of answering scanners add up', () => {
    assert.equal(decideVerdict([res('builtin', 1), res('rspamd', 2)], policy).action, 'deliver');
    assert.equal(decideVerdict([res('builtin', 3), res('rspamd', 2)], policy).action, 'junk');
    assert.equal(decideVerdict([res('builtin', 4), res('rspamd', 6.5)], policy).action, 'quarantine');
    const r = decideVerdict([res('builtin', 5), res('rspamd', 10)], policy);
    assert.equal(r.action, 'reject');
    assert.equal(r.score, 15);
    assert.match(r.reasons[0]!, /spam score 15 ≥ reject 15/);
  });

  test('thresholds are per role', () => {
    assert.equal(decideVerdict([res('builtin', 6)], { ...policy, thresholds: { junk: 2, quarantine: 4, reject: 6 } }).action, 'reject');
  });

  test('malware is rejected or quarantined by config, never delivered, whatever the score', () => {
    const mal = [res('builtin', 0), res('clamd', undefined, { malware: 'Test.EICAR' })];
    const r = decideVerdict(mal, policy);
    assert.equal(r.action, 'reject');
    assert.equal(r.malware, 'Test.EICAR');
    assert.equal(decideVerdict(mal, { ...policy, malware: 'quarantine' }).action, 'quarantine');
    // a spam score above reject still wins over a quarantine setting
    assert.equal(decideVerdict([res('rspamd', 20), res('clamd', undefined, { malware: 'X' })], { ...policy, malware: 'quarantine' }).action, 'reject');
  });

  test('DMARC policy on failure: p=reject rejects, p=quarantine quarantines, p=none and a trusted-ARC override do not', () => {
    assert.equal(decideVerdict([res('builtin', 0)], policy, auth({ dmarc: 'fail', policy: 'reject' })).action, 'reject');
    assert.equal(decideVerdict([res('builtin', 0)], policy, auth({ dmarc: 'fail', policy: 'quarantine' })).action, 'quarantine');
    assert.equal(decideVerdict([res('builtin', 0)], policy, auth({ dmarc: 'fail', policy: 'none' })).action, 'deliver');
    assert.equal(decideVerdict([res('builtin', 0)], policy, auth({ dmarc: 'fail', policy: 'reject', overridden: true })).action, 'deliver');
    assert.equal(decideVerdict([res('builtin', 0)], { ...policy, enforceDmarc: false }, auth({ dmarc: 'fail', policy: 'reject' })).action, 'deliver');
    assert.match(decideVerdict([res('builtin', 0)], policy, auth({ dmarc: 'fail', policy: 'reject' })).reasons[0]!, /DMARC fail for fabrikam\.test with p=reject/);
  });

  test('an unavailable or failing scanner is named; the others decide', () => {
    const r = decideVerdict([res('builtin', 6), { scanner: 'rspamd', status: 'unavailable', detail: 'refused' }, { scanner: 'clamd', status: 'error', detail: 'size limit' }], policy);
    assert.equal(r.action, 'junk');
    assert.equal(r.score, 6);
    assert.deepEqual(r.reasons, ['spam score 6 ≥ junk 5', 'rspamd unavailable: refused', 'clamd error: size limit']);
  });

  test('the spam header: stamped on top, forged copies removed, readable by the next hop', () => {
    const v = decideVerdict([res('builtin', 7.5, { symbols: ['SPF_FAIL(3)', 'SUBJ_ALL_CAPS(3)'] })], policy, undefined, 'gateway.contoso.test');
    assert.match(v.spamHeader, /^X-Mailflow-Spam: host=gateway\.contoso\.test;\r\n action=junk;\r\n score=7\.5;\r\n level=\*\*\*\*\*\*\*;/);
    const forged = Buffer.concat([Buffer.from('X-Mailflow-Spam: host=gateway.contoso.test; action=deliver; score=0\r\n'), good]);
    const out = stampVerdict(forged, v);
    assert.equal(headerValues(out, 'X-Mailflow-Spam').length, 1);
    assert.deepEqual(readUpstreamVerdict(out), { host: 'gateway.contoso.test', action: 'junk', score: 7.5 });
    assert.equal(headerValues(stripVerdicts(out), 'X-Mailflow-Spam').length, 0);
    assert.equal(readUpstreamVerdict(good), null);
  });
});
