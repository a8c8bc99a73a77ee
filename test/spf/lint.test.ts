// The SPF linter, rule by rule. Record rules are pure; the domain walk gets an in-memory zone
// (an injected Resolver), so every include/redirect case is exact and instant.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { zoneResolver } from '../../src/dns/zone.js';
import type { ZoneRecord } from '../../src/dns/server.js';
import { lintDomain, lintRecordText, type Finding, type LintReport } from '../../src/spf/lint.js';

const rules = (r: LintReport) => r.findings.map((f) => f.rule);
const find = (r: LintReport, rule: string): Finding => {
  const f = r.findings.find((x) => x.rule === rule);
  assert.ok(f, `expected a "${rule}" finding, got: ${rules(r).join(', ') || 'none'}`);
  return f;
};
const spanText = (text: string, f: Finding) => text.slice(f.span.start, f.span.end);

describe('record rules', () => {
  test('a clean record has no findings', () => {
    const r = lintRecordText('v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:spf.protection.outlook.com -all');
    assert.deepEqual(r.findings, []);
    assert.equal(r.lookups, 1);
  });

  test('seed 003: "ipv4:" is no mechanism and the address is a stray term', () => {
    const text = 'v=spf1 ipv4: 10.10.10.1  include:spf.protection.outlook.com -all';
    const r = lintRecordText(text);
    const unknown = find(r, 'unknown-mechanism');
    assert.equal(unknown.severity, 'error');
    assert.equal(spanText(text, unknown), 'ipv4');
    assert.match(unknown.message, /did you mean "ip4"/);
    const stray = find(r, 'syntax');
    assert.equal(spanText(text, stray), '10.10.10.1');
    assert.deepEqual(stray.span, { start: 13, end: 23 });
  });

  test('syntax: version, characters, empty and malformed terms', () => {
    assert.equal(find(lintRecordText('v=spf2 -all'), 'syntax').severity, 'error');
    assert.match(find(lintRecordText(' v=spf1 -all'), 'syntax').message, /whitespace before/);
    const tab = 'v=spf1 a\t-all';
    assert.equal(spanText(tab, find(lintRecordText(tab), 'syntax')), '\t');
    const empty = 'v=spf1 include: -all';
    assert.equal(spanText(empty, find(lintRecordText(empty), 'syntax')), ':');
    const allArg = 'v=spf1 -all:foo';
    assert.equal(spanText(allArg, find(lintRecordText(allArg), 'syntax')), ':foo');
    const noTld = 'v=spf1 include:localhost -all';
    assert.equal(spanText(noTld, find(lintRecordText(noTld), 'syntax')), 'localhost');
    const ipNoColon = 'v=spf1 ip4 -all';
    assert.equal(spanText(ipNoColon, find(lintRecordText(ipNoColon), 'syntax')), 'ip4');
  });

  test('invalid-ip and bad-cidr point at the address and the prefix', () => {
    const ip = 'v=spf1 ip4:10.10.10.300 -all';
    assert.equal(spanText(ip, find(lintRecordText(ip), 'invalid-ip')), '10.10.10.300');
    const v6 = 'v=spf1 ip6:192.0.2.1 -all';
    assert.equal(spanText(v6, find(lintRecordText(v6), 'invalid-ip')), '192.0.2.1');
    for (const bad of ['v=spf1 ip4:10.0.0.0/33 -all', 'v=spf1 ip6:2001:db8::/129 -all', 'v=spf1 a/024 -all', 'v=spf1 mx//130 -all']) {
      const r = lintRecordText(bad);
      assert.equal(find(r, 'bad-cidr').severity, 'error', bad);
    }
    const ok = lintRecordText('v=spf1 a/24 mx:mail.example.com/28//64 ip4:10.0.0.0/8 -all');
    assert.deepEqual(rules(ok), []);
  });

  test('invalid-macro: lone %, unknown letters, c/r/t outside exp, unclosed', () => {
    for (const [record, part] of [
      ['v=spf1 exists:%x.example.com -all', '%x'],
      ['v=spf1 exists:%{q}.example.com -all', '%{q}'],
      ['v=spf1 exists:%{c}.example.com -all', '%{c}'],
      ['v=spf1 exists:%{i0}.example.com -all', '%{i0}'],
      ['v=spf1 exists:%{i.example.com -all', '%{i.example.com'],
    ] as const) {
      const f = find(lintRecordText(record), 'invalid-macro');
      assert.equal(spanText(record, f), part, record);
    }
    assert.deepEqual(rules(lintRecordText('v=spf1 exists:%{ir}.%{l1r-}.%{d2}.example.com -all exp=%{d}.example.com')), []);
  });

  test('unknown-mechanism for a word that is no mechanism', () => {
    const text = 'v=spf1 includes:example.com -all';
    const f = find(lintRecordText(text), 'unknown-mechanism');
    assert.equal(spanText(text, f), 'includes');
    assert.match(f.message, /"include"/);
  });

  test('pass-all is an error, neutral-all a warning', () => {
    assert.equal(find(lintRecordText('v=spf1 +all'), 'pass-all').severity, 'error');
    assert.equal(find(lintRecordText('v=spf1 all'), 'pass-all').severity, 'error');
    assert.equal(find(lintRecordText('v=spf1 a ?all'), 'neutral-all').severity, 'warning');
    assert.ok(!rules(lintRecordText('v=spf1 a ~all')).includes('neutral-all'));
  });

  test('ptr-deprecated', () => {
    const text = 'v=spf1 ptr:example.com -all';
    const f = find(lintRecordText(text), 'ptr-deprecated');
    assert.equal(f.severity, 'warning');
    assert.equal(spanText(text, f), 'ptr:example.com');
  });

  test('no-all, all-not-last, redirect-with-all, modifier-position', () => {
    assert.equal(find(lintRecordText('v=spf1 a mx'), 'no-all').severity, 'warning');
    assert.ok(!rules(lintRecordText('v=spf1 a redirect=_spf.example.com')).includes('no-all'));
    const late = 'v=spf1 -all ip4:192.0.2.1';
    assert.equal(spanText(late, find(lintRecordText(late), 'all-not-last')), 'ip4:192.0.2.1');
    const both = 'v=spf1 -all redirect=_spf.example.com';
    assert.equal(spanText(both, find(lintRecordText(both), 'redirect-with-all')), 'redirect=_spf.example.com');
    const early = 'v=spf1 exp=why.example.com a -all';
    assert.equal(find(lintRecordText(early), 'modifier-position').severity, 'info');
  });

  test('duplicate-modifier and unknown-modifier', () => {
    const text = 'v=spf1 a redirect=a.example.com redirect=b.example.com';
    const f = find(lintRecordText(text), 'duplicate-modifier');
    assert.equal(spanText(text, f), 'redirect=b.example.com');
    assert.equal(find(lintRecordText('v=spf1 -all foo=bar'), 'unknown-modifier').severity, 'info');
  });

  test('redundant-mechanism and overlapping-ip', () => {
    const dup = 'v=spf1 include:x.example.com mx INCLUDE:X.example.com -all';
    assert.equal(spanText(dup, find(lintRecordText(dup), 'redundant-mechanism')), 'INCLUDE:X.example.com');
    const nested = 'v=spf1 ip4:10.0.0.0/8 ip4:10.1.2.0/24 ip6:2001:db8::/32 ip6:2001:db8:1::/48 ip4:192.0.2.1 -all';
    const overlaps = lintRecordText(nested).findings.filter((f) => f.rule === 'overlapping-ip').map((f) => spanText(nested, f));
    assert.deepEqual(overlaps, ['ip4:10.1.2.0/24', 'ip6:2001:db8:1::/48']);
    assert.ok(!rules(lintRecordText('v=spf1 ip4:10.0.0.0/8 ip4:11.0.0.0/8 -all')).includes('overlapping-ip'));
  });

  test('host-bits-set notes a network written with a host address', () => {
    const text = 'v=spf1 ip4:10.10.10.1/24 -all';
    assert.equal(find(lintRecordText(text), 'host-bits-set').severity, 'info');
  });

  test('lookup-limit within one record points at the 11th querying term', () => {
    const terms = Array.from({ length: 11 }, (_, i) => `a:h${i}.example.com`);
    const text = `v=spf1 ${terms.join(' ')} -all`;
    const f = find(lintRecordText(text), 'lookup-limit');
    assert.equal(spanText(text, f), 'a:h10.example.com');
    assert.ok(!rules(lintRecordText(`v=spf1 ${terms.slice(1).join(' ')} -all`)).includes('lookup-limit'));
  });

  test('string-too-long and record-too-long-udp', () => {
    const text = `v=spf1 ${Array.from({ length: 18 }, (_, i) => `ip4:198.51.100.${i}`).join(' ')} -all`;
    assert.ok(Buffer.byteLength(text) > 255);
    const r = lintRecordText(text);
    assert.equal(find(r, 'string-too-long').span.start, 255);
    assert.ok(!rules(r).includes('record-too-long-udp'));
    const huge = `v=spf1 ${Array.from({ length: 40 }, (_, i) => `ip6:2001:db8:${i.toString(16)}::/48`).join(' ')} -all`;
    assert.equal(find(lintRecordText(huge), 'record-too-long-udp').severity, 'warning');
  });
});

const ips = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `ip4:203.0.113.${from + i}`).join(' ');

describe('domain walk', () => {
  const zone: ZoneRecord[] = [
    { name: 'contoso.test', type: 'TXT', value: 'v=spf1 ip4:10.10.10.1 include:spf.hub.test include:third.test -all' },
    { name: 'contoso.test', type: 'TXT', value: 'MS=ms12345678' },
    { name: 'spf.hub.test', type: 'TXT', value: 'v=spf1 ip4:40.92.0.0/15 include:spf2.hub.test -all' },
    { name: 'spf2.hub.test', type: 'TXT', value: 'v=spf1 ip6:2a01:111:f400::/48 -all' },
    { name: 'third.test', type: 'TXT', value: 'v=spf1 a mx ~all' },
    { name: 'third.test', type: 'A', value: '198.51.100.7' },
    { name: 'third.test', type: 'MX', value: { priority: 10, exchange: 'mx.third.test' } },
    // 4 includes of 3 lookups each: 12 > 10
    { name: 'heavy.test', type: 'TXT', value: 'v=spf1 include:h1.test include:h2.test include:h3.test include:h4.test -all' },
    ...[1, 2, 3, 4].map((i): ZoneRecord => ({ name: `h${i}.test`, type: 'TXT', value: `v=spf1 a:x${i}.test a:y${i}.test -all` })),
    ...[1, 2, 3, 4].flatMap((i): ZoneRecord[] => [
      { name: `x${i}.test`, type: 'A', value: '192.0.2.1' },
      { name: `y${i}.test`, type: 'A', value: '192.0.2.2' },
    ]),
    { name: 'voids.test', type: 'TXT', value: 'v=spf1 a:none1.test mx:none2.test include:voids2.test -all' },
    { name: 'voids2.test', type: 'TXT', value: 'v=spf1 a:none3.test -all' },
    { name: 'two.test', type: 'TXT', value: 'v=spf1 a -all' },
    { name: 'two.test', type: 'TXT', value: 'v=spf1 mx -all' },
    { name: 'top2.test', type: 'TXT', value: 'v=spf1 include:two.test -all' },
    { name: 'dangling.test', type: 'TXT', value: 'v=spf1 include:missing.test redirect=gone.test' },
    { name: 'loop1.test', type: 'TXT', value: 'v=spf1 include:loop2.test -all' },
    { name: 'loop2.test', type: 'TXT', value: 'v=spf1 redirect=loop1.test' },
    { name: 'bad.test', type: 'TXT', value: 'v=spf1 include:badinc.test -all' },
    { name: 'badinc.test', type: 'TXT', value: 'v=spf1 ptr +all' },
    { name: 'manymx.test', type: 'TXT', value: 'v=spf1 mx -all' },
    ...Array.from({ length: 11 }, (_, i): ZoneRecord => ({ name: 'manymx.test', type: 'MX', value: { priority: i, exchange: `m${i}.manymx.test` } })),
    {
      name: 'split.test',
      type: 'TXT',
      // published as two strings, each under 255 bytes
      value: [`v=spf1 ${ips(0, 12)}`, ` ${ips(12, 25)} -all`],
    },
    ...Array.from({ length: 6 }, (_, i): ZoneRecord => ({ name: 'split.test', type: 'TXT', value: `verification-token-${i}=${'k'.repeat(60)}` })),
    { name: 'temp.test', type: 'TXT', value: 'v=spf1 include:flaky.test -all' },
    { name: 'expl.test', type: 'TXT', value: 'v=spf1 -all exp=why.expl.test' },
    { name: 'why.expl.test', type: 'TXT', value: 'Not allowed: %{i} via %{q}' },
    { name: 'expl2.test', type: 'TXT', value: 'v=spf1 -all exp=nowhy.test' },
  ];
  const resolver = zoneResolver(zone, { 'flaky.test': 'timeout' });

  test('a healthy chain: lookups counted through includes, no findings', async () => {
    const r = await lintDomain('contoso.test', resolver);
    assert.deepEqual(r.findings, []);
    assert.equal(r.lookups, 5); // include ×2 at top, include in spf.hub, a + mx in third
    assert.equal(r.voidLookups, 0);
    assert.ok(r.records['spf2.hub.test']);
  });

  test('lookup-limit counted across includes, at the 11th lookup', async () => {
    const r = await lintDomain('heavy.test', resolver);
    const f = find(r, 'lookup-limit');
    assert.equal(f.domain, 'h4.test');
    assert.equal(spanText(r.records['h4.test']!, f), 'a:x4.test');
    assert.equal(r.lookups, 12);
    assert.match(f.message, /12 in all/);
  });

  test('void-lookup-limit at the third empty answer, through an include', async () => {
    const r = await lintDomain('voids.test', resolver);
    assert.equal(r.voidLookups, 3);
    const f = find(r, 'void-lookup-limit');
    assert.equal(f.domain, 'voids2.test');
    assert.equal(r.findings.filter((x) => x.rule === 'void-lookup').length, 3);
  });

  test('multiple-records at the domain and at an include target', async () => {
    assert.equal(find(await lintDomain('two.test', resolver), 'multiple-records').severity, 'error');
    assert.equal(find(await lintDomain('top2.test', resolver), 'multiple-records').domain, 'two.test');
  });

  test('include-missing and redirect-missing', async () => {
    const r = await lintDomain('dangling.test', resolver);
    assert.equal(spanText(r.records['dangling.test']!, find(r, 'include-missing')), 'include:missing.test');
    assert.equal(spanText(r.records['dangling.test']!, find(r, 'redirect-missing')), 'redirect=gone.test');
  });

  test('include-loop', async () => {
    const f = find(await lintDomain('loop1.test', resolver), 'include-loop');
    assert.match(f.message, /loop1\.test → loop2\.test → loop1\.test/);
  });

  test('findings inside included records carry their domain', async () => {
    const r = await lintDomain('bad.test', resolver);
    assert.equal(find(r, 'pass-all').domain, 'badinc.test');
    assert.equal(find(r, 'ptr-deprecated').domain, 'badinc.test');
  });

  test('mx-too-many', async () => {
    assert.equal(find(await lintDomain('manymx.test', resolver), 'mx-too-many').severity, 'error');
  });

  test('published strings and the whole TXT answer size', async () => {
    const r = await lintDomain('split.test', resolver);
    assert.ok(!rules(r).includes('string-too-long'), 'each published string is under 255 bytes');
    assert.match(find(r, 'record-too-long-udp').message, /7 TXT records/);
  });

  test('exp=: the explanation text is checked (c r t allowed), a missing one is exp-unusable', async () => {
    const r = await lintDomain('expl.test', resolver);
    const f = find(r, 'invalid-macro');
    assert.equal(f.domain, 'why.expl.test');
    assert.equal(spanText(r.records['why.expl.test']!, f), '%{q}');
    assert.equal(find(await lintDomain('expl2.test', resolver), 'exp-unusable').severity, 'warning');
  });

  test('no-record and dns-error', async () => {
    assert.equal(find(await lintDomain('nothing.test', resolver), 'no-record').severity, 'error');
    assert.equal(find(await lintDomain('temp.test', resolver), 'dns-error').severity, 'warning');
  });
});
