// Compare the planned records with what DNS answers, then ask SPF whether each sending host passes.
// Everything goes through the injected Resolver, so the same code checks real DNS and a test zone.
import type { Config } from '../config/schema.js';
import { checkSpf as defaultCheckSpf, type SpfCheckInput } from '../spf/evaluate.js';
import { spfSenders, type PlannedRecord } from './plan.js';
import type { DnsResult, MxRecord, RecordType, Resolver } from './types.js';

export type RecordStatus = 'ok' | 'missing' | 'different' | 'error';

export interface RecordCheck {
  record: PlannedRecord;
  status: RecordStatus;
  /** What DNS holds at that name and type (TXT: each record's strings joined). */
  found: string[];
  message: string;
}

export interface SenderCheck {
  role: string;
  hostname: string;
  domain: string;
  ip: string | null;
  /** The SPF result, or `skipped` when the role has no address to test. */
  result: string;
  status: 'ok' | 'fail' | 'skipped';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  records: RecordCheck[];
  senders: SenderCheck[];
}

export type CheckSpfFn = (input: SpfCheckInput) => Promise<{ result: string; explanation?: string | null; comment?: string }>;

export async function verifyRecords(
  planned: readonly PlannedRecord[],
  resolver: Resolver,
  config: Config,
  deps: { checkSpf?: CheckSpfFn } = {},
): Promise<VerifyReport> {
  const records: RecordCheck[] = [];
  for (const record of planned) records.push(await checkRecord(record, resolver));
  const senders = await checkSenders(planned, resolver, config, deps.checkSpf ?? defaultCheckSpf);
  const ok = records.every((r) => r.status === 'ok') && senders.every((s) => s.status !== 'fail');
  return { ok, records, senders };
}

async function checkRecord(record: PlannedRecord, resolver: Resolver): Promise<RecordCheck> {
  const res = await resolver.query(record.name, record.type as RecordType);
  if (res.status === 'nxdomain' || res.status === 'nodata') {
    const why = record.incomplete ? `; ${record.purpose}` : '';
    return { record, status: 'missing', found: [], message: `no ${record.type} record at ${record.name} (${res.status})${why}` };
  }
  if (res.status !== 'ok') {
    const detail = 'message' in res ? `: ${res.message}` : '';
    return { record, status: 'error', found: [], message: `${record.type} ${record.name}: ${res.status}${detail}` };
  }
  const found = foundValues(record.type, res);
  const verdict = compare(record, found);
  return { record, found, ...verdict };
}

function foundValues(type: PlannedRecord['type'], res: Extract<DnsResult, { status: 'ok' }>): string[] {
  if (type === 'MX') return (res.answers as MxRecord[]).map((m) => `${m.priority} ${bare(m.exchange)}`);
  if (type === 'TXT') return (res.answers as string[][]).map((strings) => strings.join(''));
  return (res.answers as string[]).map((v) => bare(v));
}

type Verdict = { status: RecordStatus; message: string };

function compare(record: PlannedRecord, found: string[]): Verdict {
  switch (record.kind) {
    case 'mx':
      return compareMx(record, found);
    case 'spf':
      return compareTagged(record, found, /^v=spf1(\s|$)/i, 'SPF', normalizeSpf, 'more than one SPF record is a permerror (RFC 7208 3.2)');
    case 'dmarc':
      return compareTagged(record, found, /^v=DMARC1\s*(;|$)/i, 'DMARC', (v) => normalizeTags(v, DMARC_DEFAULTS, true), 'more than one DMARC record: receivers ignore them all');
    case 'dkim':
      if (record.type === 'TXT') {
        if (record.incomplete) return { status: 'different', message: `the config has no DKIM key to compare with; ${record.purpose}` };
        // v= is optional in a key record (RFC 6376 3.6.1); p= is what makes it one
        return compareTagged(record, found, /(^|;)\s*p=/i, 'DKIM', (v) => normalizeTags(v, DKIM_DEFAULTS, false), 'more than one DKIM key record at this selector');
      }
      return compareSingle(record, found);
    case 'host':
      return compareAddress(record, found);
    default:
      return compareSingle(record, found);
  }
}

/** A host may have more addresses than the one planned (the role's first); the planned one must be there. */
function compareAddress(record: PlannedRecord, found: string[]): Verdict {
  if (found.includes(record.value.toLowerCase())) return { status: 'ok', message: `${record.name} has ${record.value}` };
  return { status: 'different', message: `${record.name} has ${found.join(', ')}, not ${record.value}` };
}

/** MX must point only at the gateway (exo-features §2 rule 1); the priority of a single MX does not matter. */
function compareMx(record: PlannedRecord, found: string[]): Verdict {
  const want = bare(record.value.split(/\s+/)[1] ?? '');
  const hosts = [...new Set(found.map((f) => f.split(/\s+/)[1] ?? ''))];
  if (hosts.length === 1 && hosts[0] === want) return { status: 'ok', message: `MX points at ${want}` };
  const others = hosts.filter((h) => h !== want);
  if (hosts.includes(want)) return { status: 'different', message: `MX also points at ${others.join(', ')}: mail that takes that path bypasses the gateway` };
  return { status: 'different', message: `MX points at ${hosts.join(', ')}, not at the gateway ${want}` };
}

function compareSingle(record: PlannedRecord, found: string[]): Verdict {
  const want = bare(record.value);
  if (found.length === 1 && found[0] === want) return { status: 'ok', message: `${record.type} ${record.name} → ${want}` };
  return { status: 'different', message: `${record.type} ${record.name} is ${found.join(', ') || 'empty'}, expected ${want}` };
}

/** TXT records of one family (SPF, DMARC, DKIM) at a name: exactly one, equal after normalising. */
function compareTagged(record: PlannedRecord, found: string[], family: RegExp, label: string, normalize: (v: string) => string, manyMessage: string): Verdict {
  const mine = found.filter((f) => family.test(f.trim()));
  if (mine.length === 0) {
    const other = found.length ? ` (other TXT records: ${found.length})` : '';
    return { status: 'missing', message: `no ${label} record at ${record.name}${other}` };
  }
  if (mine.length > 1) return { status: 'different', message: `${mine.length} ${label} records at ${record.name}: ${manyMessage}` };
  if (normalize(mine[0]!) === normalize(record.value)) return { status: 'ok', message: `${label} record matches` };
  return { status: 'different', message: `${label} record is "${mine[0]}", expected "${record.value}"` };
}

/** SPF terms are case-insensitive (RFC 7208 4.6.1); whitespace between terms is free. */
export function normalizeSpf(value: string): string {
  return value.trim().toLowerCase().split(/\s+/).join(' ');
}

const DMARC_DEFAULTS = { pct: '100', adkim: 'r', aspf: 'r', rua: '' };
const DKIM_DEFAULTS = { v: 'DKIM1', k: 'rsa' };

/** `tag=value; ...` lists: order-free, defaults filled in, whitespace in values dropped (folded keys). */
function normalizeTags(value: string, defaults: Record<string, string>, lowerValues: boolean): string {
  const tags = new Map<string, string>(Object.entries(defaults));
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const tag = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).replace(/\s+/g, '');
    if (lowerValues) v = v.toLowerCase();
    if (tag) tags.set(tag, v);
  }
  if (tags.has('p') && defaults === DMARC_DEFAULTS && !tags.has('sp')) tags.set('sp', tags.get('p')!);
  return [...tags.entries()].filter(([, v]) => v !== '').sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(';');
}

/** Each address of each role in the SPF plan must get `pass` for every domain with a planned SPF record. */
async function checkSenders(planned: readonly PlannedRecord[], resolver: Resolver, config: Config, checkSpf: CheckSpfFn): Promise<SenderCheck[]> {
  const domains = planned.filter((r) => r.kind === 'spf').map((r) => r.name);
  const out: SenderCheck[] = [];
  for (const sender of spfSenders(config).filter((s) => s.included)) {
    for (const domain of domains) {
      if (!sender.addresses.length) {
        const via = sender.spfInclude ? ` (listed through include:${sender.spfInclude})` : '';
        out.push({ role: sender.role, hostname: sender.hostname, domain, ip: null, result: 'skipped', status: 'skipped', message: `skipped: no address to test${via}` });
        continue;
      }
      for (const ip of sender.addresses) {
        const res = await checkSpf({ ip, sender: `postmaster@${domain}`, helo: sender.hostname, resolver });
        const pass = res.result === 'pass';
        const detail = [res.comment, res.explanation].filter(Boolean).join('; ');
        out.push({
          role: sender.role,
          hostname: sender.hostname,
          domain,
          ip,
          result: res.result,
          status: pass ? 'ok' : 'fail',
          message: pass ? `${ip} may send for ${domain}` : `SPF ${res.result} for ${ip} sending as postmaster@${domain}${detail ? `: ${detail}` : ''}`,
        });
      }
    }
  }
  return out;
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
