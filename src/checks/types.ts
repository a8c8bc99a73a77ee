// The shapes every check shares: a finding, the context a rule reads, and the rule itself.
// Rules are synchronous and pure: DNS answers are gathered before they run (see context.ts).
import type { Config } from '../config/schema.js';
import type { DnsResult, RecordType } from '../dns/types.js';
import type { LintReport } from '../spf/lint.js';

export type Severity = 'error' | 'warning' | 'info';

export interface FindingLocation {
  /** Dotted config path, e.g. `hub.inboundConnectors[0].restrictDomainsToIPAddresses`. */
  field: string;
  line: number;
  column: number;
}

export interface Finding {
  /** Stable kebab-case rule id. */
  rule: string;
  severity: Severity;
  /** What is wrong, why (seed or inventory reason), how to fix it. */
  message: string;
  location: FindingLocation;
}

export type ConfigPath = (string | number)[];

/** DNS answers collected before the rules run, keyed by name and type. */
export interface DnsFacts {
  get<T extends RecordType>(name: string, type: T): DnsResult<T> | undefined;
  all(): { name: string; type: RecordType; result: DnsResult }[];
  /** The SPF linter's walk of a domain's published record (includes expanded), if it ran. */
  spfLint(domain: string): LintReport | undefined;
}

export interface CheckContext {
  config: Config;
  file: string;
  /** Field name and position of a config path (falls back to the nearest parent present in the file). */
  at(path: ConfigPath): FindingLocation;
  /** Present only when DNS was available (`--dns` or `dns.servers`). */
  dns?: DnsFacts;
}

export interface RuleMeta {
  /** Stable kebab-case id, printed with every finding. */
  id: string;
  title: string;
  /** Where the rule comes from: seed file and/or exo-features.md section 2 rule number. */
  source: string;
  /** The severities this rule can report. */
  severities: Severity[];
  /** Reads published DNS (runs only when a resolver is available). */
  dns?: boolean;
}

export interface Rule extends RuleMeta {
  check(ctx: CheckContext): Finding[];
}

export type Emit = (severity: Severity, path: ConfigPath, message: string) => void;

/** A rule from its metadata and a body that emits findings; the id and location are filled in here. */
export function defineRule(meta: RuleMeta, body: (ctx: CheckContext, emit: Emit) => void): Rule {
  return {
    ...meta,
    check(ctx) {
      if (meta.dns && !ctx.dns) return [];
      const out: Finding[] = [];
      body(ctx, (severity, path, message) => out.push({ rule: meta.id, severity, message, location: ctx.at(path) }));
      return out;
    },
  };
}
