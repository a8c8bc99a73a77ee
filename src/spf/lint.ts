// The SPF linter: one record's text, or the record published at a domain with everything its
// include and redirect terms pull in, as a receiver would walk it. The walk is static: with no
// client IP nothing matches, so every term is visited — the worst case, which is what the
// 10-lookup and 2-void-lookup limits (RFC 7208 4.6.4) must survive. DNS comes in through the
// injected Resolver; no sockets here.
import type { DnsResult, Resolver } from '../dns/types.js';
import { LOOKUP_LIMIT, LOOKUP_TERMS, VOID_LIMIT, lintRecord } from './lint-record.js';
import { checkMacroString, type Finding, type Modifier, type Severity, type Span } from './record.js';

export type { Finding, Severity, Span } from './record.js';

export interface LintReport {
  /** Domain looked up, or null for a record given as text. */
  domain: string | null;
  /** Record text per domain walked ('' = the record given as text), for showing spans. */
  records: Record<string, string>;
  findings: Finding[];
  /** DNS-querying terms over the whole walk (worst case, nothing matching). */
  lookups: number;
  voidLookups: number;
}

export function lintRecordText(text: string, domain?: string): LintReport {
  const lint = lintRecord(text, domain ? { domain } : {});
  const key = domain ?? '';
  return {
    domain: domain ?? null,
    records: { [key]: text },
    findings: domain ? lint.findings.map((f) => ({ ...f, domain })) : lint.findings,
    lookups: lint.lookups,
    voidLookups: 0,
  };
}

type Fetched =
  | { kind: 'record'; text: string; strings: string[]; allTxt: string[][] }
  | { kind: 'missing'; void: boolean; detail: string }
  | { kind: 'multiple'; texts: string[] }
  | { kind: 'temp'; message: string };

const MAX_DEPTH = 12;
const MAX_QUERIES = 200;

interface Walk {
  resolver: Resolver;
  report: LintReport;
  queries: number;
  fetched: Map<string, Promise<Fetched>>;
}

export async function lintDomain(domain: string, resolver: Resolver): Promise<LintReport> {
  const name = domain.trim().replace(/\.$/, '').toLowerCase();
  const report: LintReport = { domain: name, records: {}, findings: [], lookups: 0, voidLookups: 0 };
  const walk: Walk = { resolver, report, queries: 0, fetched: new Map() };
  const top = await fetchSpf(walk, name);
  const whole = { start: 0, end: 1 };
  switch (top.kind) {
    case 'missing':
      report.records[name] = '';
      report.findings.push({ rule: 'no-record', severity: 'error', message: `${name} publishes no SPF record (${top.detail}): receivers get "none"`, span: whole, domain: name });
      return report;
    case 'temp':
      report.records[name] = '';
      report.findings.push({ rule: 'dns-error', severity: 'error', message: `could not look up ${name}: ${top.message}`, span: whole, domain: name });
      return report;
    case 'multiple':
      report.records[name] = top.texts[0]!;
      report.findings.push(multipleFinding(name, top.texts));
      return report;
    case 'record':
      await walkRecord(walk, name, top, []);
  }
  const lookupFinding = report.findings.find((f) => f.rule === 'lookup-limit');
  if (lookupFinding) lookupFinding.message += ` — ${report.lookups} in all`;
  return report;
}

async function walkRecord(walk: Walk, domain: string, rec: Extract<Fetched, { kind: 'record' }>, stack: string[]): Promise<void> {
  const { report } = walk;
  report.records[domain] ??= rec.text;
  const lint = lintRecord(rec.text, { domain, strings: rec.strings, allTxt: rec.allTxt });
  // the walk counts lookups across records, so the single-record count is not repeated
  for (const f of lint.findings) if (f.rule !== 'lookup-limit') report.findings.push({ ...f, domain });
  if (!lint.parsed.isSpf) return;
  const path = [...stack, domain];
  const add = (rule: string, severity: Severity, message: string, span: Span) => report.findings.push({ rule, severity, message, span, domain });

  const terms = lint.parsed.terms;
  const exp = terms.find((t): t is Modifier => t.kind === 'modifier' && t.name === 'exp' && t.valid);
  // only the first record's exp= is ever shown (RFC 7208 6.2: not from include or redirect)
  if (exp && stack.length === 0 && !exp.value.includes('%')) await checkExplanation(walk, domain, exp.value, exp.span);
  const hasAll = terms.some((t) => t.kind === 'mechanism' && t.valid && t.name === 'all');
  for (const t of terms) {
    const counts = t.kind === 'mechanism' ? t.valid && LOOKUP_TERMS.has(t.name) : t.name === 'redirect' && t.valid && !hasAll;
    if (!counts) continue;
    report.lookups++;
    if (report.lookups === LOOKUP_LIMIT + 1) {
      add('lookup-limit', 'error', `"${t.text}" is DNS lookup ${LOOKUP_LIMIT + 1} counted from ${path[0]}; more than ${LOOKUP_LIMIT} is a permerror (RFC 7208 4.6.4)`, t.span);
    }
    const target = t.value ?? domain;
    if (target.includes('%')) continue; // depends on the message: nothing to look up statically
    const targetName = target.replace(/\.$/, '').toLowerCase();
    const name = t.kind === 'modifier' ? 'redirect' : t.name;

    if (name === 'include' || name === 'redirect') {
      if (path.includes(targetName)) {
        add('include-loop', 'error', `"${t.text}" leads back to ${targetName} (${[...path, targetName].join(' → ')}); receivers stop with permerror`, t.span);
        continue;
      }
      if (path.length >= MAX_DEPTH) {
        add('include-depth', 'error', `includes nested more than ${MAX_DEPTH} deep at "${t.text}"`, t.span);
        continue;
      }
      const sub = await fetchSpf(walk, targetName);
      const rule = name === 'include' ? 'include-missing' : 'redirect-missing';
      if (sub.kind === 'missing') {
        if (sub.void) countVoid(walk, domain, t.text, t.span);
        add(rule, 'error', `${targetName} has no SPF record (${sub.detail}): "${t.text}" gives permerror`, t.span);
      } else if (sub.kind === 'temp') {
        add('dns-error', 'warning', `could not look up ${targetName} for "${t.text}": ${sub.message}`, t.span);
      } else if (sub.kind === 'multiple') {
        report.records[targetName] ??= sub.texts[0]!;
        report.findings.push(multipleFinding(targetName, sub.texts));
      } else {
        await walkRecord(walk, targetName, sub, path);
      }
      continue;
    }

    if (name === 'a' || name === 'exists') {
      const types = name === 'a' ? (['A', 'AAAA'] as const) : (['A'] as const);
      const results = await Promise.all(types.map((type) => query(walk, targetName, type)));
      if (results.every((r) => r.status === 'nxdomain' || r.status === 'nodata')) {
        countVoid(walk, domain, t.text, t.span);
        add('void-lookup', 'warning', `${targetName} has no ${types.join('/')} records: "${t.text}" never matches and counts as a void lookup`, t.span);
      }
    } else if (name === 'mx') {
      const r = await query(walk, targetName, 'MX');
      if (r.status === 'nxdomain' || r.status === 'nodata') {
        countVoid(walk, domain, t.text, t.span);
        add('void-lookup', 'warning', `${targetName} has no MX records: "${t.text}" never matches and counts as a void lookup`, t.span);
      } else if (r.status === 'ok' && r.answers.length > 10) {
        add('mx-too-many', 'error', `${targetName} has ${r.answers.length} MX records; "mx" allows at most 10 (permerror, RFC 7208 4.6.4)`, t.span);
      }
    }
  }
}

/** The exp= target: one TXT record whose text is a valid explain-string (RFC 7208 6.2). */
async function checkExplanation(walk: Walk, domain: string, target: string, span: Span): Promise<void> {
  const name = target.replace(/\.$/, '').toLowerCase();
  const r = await query(walk, name, 'TXT');
  const add = (message: string): void => void walk.report.findings.push({ rule: 'exp-unusable', severity: 'warning', message, span, domain });
  if (r.status === 'nxdomain' || r.status === 'nodata') return add(`${name} has no TXT record: receivers show their default explanation`);
  if (r.status !== 'ok') return add(`could not look up ${name}: ${r.status}`);
  if (r.answers.length !== 1) return add(`${name} has ${r.answers.length} TXT records; exp= needs exactly one`);
  const text = r.answers[0]!.join('');
  walk.report.records[name] ??= text;
  checkMacroString(text, 0, (rule, severity, message, start, end) => walk.report.findings.push({ rule, severity, message, span: { start, end }, domain: name }), true);
}

function countVoid(walk: Walk, domain: string, text: string, span: Span): void {
  walk.report.voidLookups++;
  if (walk.report.voidLookups === VOID_LIMIT + 1) {
    walk.report.findings.push({
      rule: 'void-lookup-limit',
      severity: 'error',
      message: `"${text}" is void lookup ${VOID_LIMIT + 1}; more than ${VOID_LIMIT} lookups with empty answers is a permerror (RFC 7208 4.6.4)`,
      span,
      domain,
    });
  }
}

function multipleFinding(domain: string, texts: string[]): Finding {
  return {
    rule: 'multiple-records',
    severity: 'error',
    message: `${domain} publishes ${texts.length} SPF records; receivers return permerror (RFC 7208 4.5). Merge them into one: ${texts.map((t) => JSON.stringify(t)).join(', ')}`,
    span: { start: 0, end: Math.max(1, texts[0]!.length) },
    domain,
  };
}

async function query<T extends 'A' | 'AAAA' | 'MX' | 'TXT'>(walk: Walk, name: string, type: T): Promise<DnsResult<T>> {
  if (++walk.queries > MAX_QUERIES) return { status: 'error', message: `stopped after ${MAX_QUERIES} DNS queries` };
  return walk.resolver.query(name, type);
}

function fetchSpf(walk: Walk, name: string): Promise<Fetched> {
  let hit = walk.fetched.get(name);
  if (!hit) {
    hit = fetchSpfUncached(walk, name);
    walk.fetched.set(name, hit);
  }
  return hit;
}

async function fetchSpfUncached(walk: Walk, name: string): Promise<Fetched> {
  const r = await query(walk, name, 'TXT');
  if (r.status === 'nxdomain') return { kind: 'missing', void: true, detail: 'the name does not exist' };
  if (r.status === 'nodata') return { kind: 'missing', void: true, detail: 'no TXT records' };
  if (r.status !== 'ok') return { kind: 'temp', message: `${r.status}: ${'message' in r ? r.message : ''}` };
  const allTxt = r.answers;
  const joined = allTxt.map((strings) => ({ strings, text: strings.join('') }));
  let spf = joined.filter((j) => /^v=spf1( |$)/i.test(j.text));
  // a record with leading whitespace is not SPF to a receiver, but it is what the owner meant:
  // lint it so the syntax rule can say why
  if (!spf.length) spf = joined.filter((j) => /^\s+v=spf1( |$)/i.test(j.text));
  if (!spf.length) return { kind: 'missing', void: false, detail: `${allTxt.length} TXT record(s), none starting with "v=spf1"` };
  if (spf.length > 1) return { kind: 'multiple', texts: spf.map((s) => s.text) };
  return { kind: 'record', text: spf[0]!.text, strings: spf[0]!.strings, allTxt };
}
