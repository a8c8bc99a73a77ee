// Building a CheckContext: config positions from the loader, and the DNS answers the DNS rules read,
// fetched up front through the injected resolver so the rules themselves stay pure.
import type { Config } from '../config/schema.js';
import { fieldName, type LoadedConfig } from '../config/load.js';
import type { DnsResult, RecordType, Resolver } from '../dns/types.js';
import { lintDomain, type LintReport } from '../spf/lint.js';
import type { CheckContext, ConfigPath, DnsFacts, FindingLocation } from './types.js';

/** Every lookup a DNS rule may read: MX, SPF and DMARC per accepted domain, each DKIM selector. */
export function plannedLookups(config: Config): { name: string; type: RecordType }[] {
  const out: { name: string; type: RecordType }[] = [];
  for (const d of config.domains) {
    out.push({ name: d.name, type: 'MX' }, { name: d.name, type: 'TXT' }, { name: `_dmarc.${d.name}`, type: 'TXT' });
  }
  for (const k of config.dkim) out.push({ name: `${k.selector}._domainkey.${k.domain}`, type: k.cname ? 'CNAME' : 'TXT' });
  return out;
}

const key = (name: string, type: string) => `${type} ${name.toLowerCase().replace(/\.$/, '')}`;

export async function gatherDns(config: Config, resolver: Resolver): Promise<DnsFacts> {
  const lookups = plannedLookups(config);
  const uniq = [...new Map(lookups.map((l) => [key(l.name, l.type), l])).values()];
  const results = await Promise.all(
    uniq.map(async (l) => {
      let result: DnsResult;
      try {
        result = await resolver.query(l.name, l.type);
      } catch (err) {
        // A resolver should return failures as values; a throw still must not abort the other checks.
        result = { status: 'error', message: err instanceof Error ? err.message : String(err) };
      }
      return { ...l, result };
    }),
  );
  // The linter walks includes itself (lookup and void limits), through the same resolver.
  // Only where the record was found: a dead server would otherwise cost a second timeout per domain.
  const facts = dnsFactsFrom(results);
  const withSpf = config.domains.filter((d) => facts.get(d.name, 'TXT')?.status === 'ok');
  const lints = await Promise.all(withSpf.map(async (d) => [d.name, await lintDomain(d.name, resolver).catch(() => undefined)] as const));
  return dnsFactsFrom(results, new Map(lints.filter((l): l is [string, LintReport] => !!l[1])));
}

export function dnsFactsFrom(
  entries: { name: string; type: RecordType; result: DnsResult }[],
  lints: Map<string, LintReport> = new Map(),
): DnsFacts {
  const map = new Map(entries.map((e) => [key(e.name, e.type), e]));
  return {
    get: <T extends RecordType>(name: string, type: T) => map.get(key(name, type))?.result as DnsResult<T> | undefined,
    all: () => [...map.values()],
    spfLint: (domain) => lints.get(domain.toLowerCase()),
  };
}

export function buildContext(loaded: LoadedConfig, dns?: DnsFacts): CheckContext {
  return {
    config: loaded.config,
    file: loaded.file,
    at(path: ConfigPath): FindingLocation {
      const pos = loaded.locate(path) ?? { line: 1, column: 1 };
      return { field: fieldName(path), line: pos.line, column: pos.column };
    },
    dns,
  };
}
