// A declarative zone and the answer it gives to one question: the pure half of the test/demo DNS
// server, also usable as an in-memory Resolver for unit tests.
import type { AnswerByType, DnsResult, MxRecord, RecordType, Resolver } from './types.js';

export type ZoneRecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'CNAME' | 'PTR' | 'NS';

/** One resource record. TXT: a string (split into 255-byte strings on the wire) or the strings themselves. */
export interface ZoneRecord {
  name: string;
  type: ZoneRecordType;
  value: string | MxRecord | string[];
  ttl?: number;
}

export const DEFAULT_TTL = 300;
/** CNAME chains longer than this are answered as far as they go (loops end here too). */
const MAX_CNAME_CHAIN = 8;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/** Records by owner name, plus every ancestor of an owner (empty non-terminals answer NODATA, not NXDOMAIN). */
export interface Zone {
  byName: Map<string, ZoneRecord[]>;
  interior: Set<string>;
}

export function buildZone(records: readonly ZoneRecord[]): Zone {
  const byName = new Map<string, ZoneRecord[]>();
  const interior = new Set<string>();
  for (const r of records) {
    const name = normalizeName(r.name);
    const list = byName.get(name) ?? [];
    list.push(r);
    byName.set(name, list);
    const labels = name.split('.');
    for (let i = 1; i < labels.length; i++) interior.add(labels.slice(i).join('.'));
  }
  return { byName, interior };
}

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** Answer records in order (CNAMEs first when the chain is followed); owner names as asked/aliased. */
  answers: { name: string; record: ZoneRecord }[];
}

function nameExists(zone: Zone, name: string): boolean {
  return zone.byName.has(name) || zone.interior.has(name);
}

/** Answer one question the way an authoritative server would, following CNAMEs inside the zone. */
export function lookupZone(zone: Zone, qname: string, qtype: string): ZoneAnswer {
  let name = normalizeName(qname);
  const answers: ZoneAnswer['answers'] = [];
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    if (!nameExists(zone, name)) return { rcode: hop === 0 ? 'NXDOMAIN' : 'NOERROR', answers };
    const here = zone.byName.get(name) ?? [];
    const exact = here.filter((r) => r.type === qtype);
    if (exact.length || qtype === 'CNAME') {
      for (const record of exact) answers.push({ name, record });
      return { rcode: 'NOERROR', answers };
    }
    const alias = here.find((r) => r.type === 'CNAME');
    if (!alias || typeof alias.value !== 'string') return { rcode: 'NOERROR', answers };
    answers.push({ name, record: alias });
    name = normalizeName(alias.value);
  }
  return { rcode: 'NOERROR', answers };
}

/** TXT value → character-strings of at most 255 bytes each (RFC 1035 §3.3.14). */
export function txtStrings(value: ZoneRecord['value']): Buffer[] {
  const parts = Array.isArray(value) ? value : [typeof value === 'string' ? value : ''];
  const out: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    if (bytes.length === 0) out.push(bytes);
    for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  }
  return out;
}

/**
 * An in-memory Resolver over a zone, for unit tests that need DNS answers without sockets.
 * `failures` makes names answer with a temporary error (name → status).
 */
export function zoneResolver(
  records: readonly ZoneRecord[],
  failures: Record<string, 'timeout' | 'servfail' | 'refused' | 'error'> = {},
): Resolver & { calls: { name: string; type: RecordType }[] } {
  const zone = buildZone(records);
  const calls: { name: string; type: RecordType }[] = [];
  const query = async <T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> => {
    calls.push({ name, type });
    const failure = failures[normalizeName(name)];
    if (failure) return { status: failure, message: `${failure} (zoneResolver)` };
    const { rcode, answers } = lookupZone(zone, name, type === 'SPF' ? 'TXT' : type);
    const wanted = answers.filter((a) => a.record.type === type || (type === 'SPF' && a.record.type === 'TXT'));
    if (rcode === 'NXDOMAIN') return { status: 'nxdomain' };
    if (!wanted.length) return { status: 'nodata' };
    const values = wanted.map(({ record }) => convert(record));
    return { status: 'ok', answers: values as AnswerByType[T] };
  };
  return { query, calls };
}

function convert(r: ZoneRecord): string | string[] | MxRecord {
  if (r.type === 'TXT') return txtStrings(r.value).map((b) => b.toString('utf8'));
  if (r.type === 'MX') {
    const mx = r.value as MxRecord;
    return { priority: mx.priority, exchange: normalizeName(mx.exchange) };
  }
  return typeof r.value === 'string' ? normalizeName(r.value) : String(r.value);
}
