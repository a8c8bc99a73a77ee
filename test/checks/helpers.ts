// Shared by the check tests: presets edited by text replacement, findings by rule, a tiny fake resolver.
import assert from 'node:assert/strict';
import { parseConfigText, type LoadedConfig } from '../../src/config/load.js';
import { presetText, type PresetName } from '../../src/config/presets.js';
import { checkContext, type Finding } from '../../src/checks/index.js';
import { buildContext, gatherDns } from '../../src/checks/context.js';
import type { DnsResult, MxRecord, RecordType, Resolver } from '../../src/dns/types.js';

/** A preset's text with each [from, to] replaced once; fails loudly if `from` is absent. */
export function presetWith(name: PresetName, ...edits: [string | RegExp, string][]): LoadedConfig {
  let text = presetText(name);
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    assert.notEqual(next, text, `edit did not apply: ${String(from)}`);
    text = next;
  }
  return parseConfigText(text, `${name}.yaml`);
}

export function check(loaded: LoadedConfig): Finding[] {
  return checkContext(buildContext(loaded)).findings;
}

export async function checkWithDns(loaded: LoadedConfig, resolver: Resolver): Promise<Finding[]> {
  return checkContext(buildContext(loaded, await gatherDns(loaded.config, resolver))).findings;
}

export function byRule(findings: Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.rule === rule);
}

export function errors(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}

/** Exactly one finding of `rule`, with this severity and field; returns it for message checks. */
export function expectOne(findings: Finding[], rule: string, severity: Finding['severity'], field: string): Finding {
  const hits = byRule(findings, rule);
  assert.equal(hits.length, 1, `expected one ${rule}, got ${hits.length}: ${JSON.stringify(findings.map((f) => [f.rule, f.location.field]))}`);
  const f = hits[0]!;
  assert.equal(f.severity, severity);
  assert.equal(f.location.field, field);
  assert.ok(f.location.line > 0 && f.location.column > 0, 'finding has a position');
  return f;
}

export function expectNone(findings: Finding[], rule: string): void {
  assert.deepEqual(byRule(findings, rule), [], `unexpected ${rule}`);
}

type Answers = { MX?: MxRecord[]; TXT?: string[][]; CNAME?: string[]; fail?: 'timeout' | 'servfail' };

/** A fake resolver from a name → answers table (unit tests only; integration tests use the real server). */
export function fakeResolver(zone: Record<string, Answers>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
      asked.push(`${type} ${name}`);
      const entry = zone[name.toLowerCase()];
      if (!entry) return { status: 'nxdomain' };
      if (entry.fail) return { status: entry.fail, message: 'fake failure' };
      const answers = (entry as Record<string, unknown[] | undefined>)[type];
      if (!answers?.length) return { status: 'nodata' };
      return { status: 'ok', answers } as unknown as DnsResult<T>;
    },
  };
}

/** The records the cloud preset plans, as a fake zone; tests break one entry at a time. */
export function cloudZone(): Record<string, Answers> {
  return {
    'contoso.com': {
      MX: [{ priority: 10, exchange: 'mx.filter.example.net' }],
      TXT: [['v=spf1 ip4:10.10.10.1 include:spf.protection.outlook.com -all'], ['MS=ms12345678']],
    },
    '_dmarc.contoso.com': { TXT: [['v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@contoso.com']] },
    'selector1._domainkey.contoso.com': { CNAME: ['selector1-contoso-com._domainkey.contoso.onmicrosoft.com'] },
    'spf.protection.outlook.com': { TXT: [['v=spf1 ip4:40.92.0.0/15 -all']] },
  };
}
