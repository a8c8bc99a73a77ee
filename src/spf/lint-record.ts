// Rules that need only one record's text: qualifiers on "all", deprecated or redundant terms,
// overlapping networks, term order, modifiers, local lookup count and published size.
import { BlockList } from 'node:net';
import { parseRecord, type Finding, type Mechanism, type Modifier, type ParsedRecord, type Severity, type Span } from './record.js';

export const LOOKUP_LIMIT = 10;
export const VOID_LIMIT = 2;
/** DNS message size without EDNS (RFC 1035 2.3.4); larger answers need EDNS or TCP. */
export const UDP_LIMIT = 512;

/** Terms that cost a DNS query during evaluation (RFC 7208 4.6.4). */
export const LOOKUP_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

export interface RecordLint {
  parsed: ParsedRecord;
  findings: Finding[];
  /** DNS-querying terms in this record alone (redirect included when it applies). */
  lookups: number;
}

export interface RecordContext {
  /** Domain the record is published at, if known: size estimates and messages use it. */
  domain?: string;
  /** The TXT character-strings as published (when looked up); else the text is one string. */
  strings?: string[];
  /** Every TXT record at the name (the whole answer a receiver downloads). */
  allTxt?: string[][];
}

export function lintRecord(text: string, ctx: RecordContext = {}): RecordLint {
  const parsed = parseRecord(text);
  const findings = [...parsed.findings];
  const add = (rule: string, severity: Severity, message: string, span: Span) => findings.push({ rule, severity, message, span });
  const whole = { start: 0, end: Math.max(1, text.length) };

  sizeRules(text, ctx, add, whole);
  if (!parsed.isSpf) return { parsed, findings, lookups: 0 };

  const mechanisms = parsed.terms.filter((t): t is Mechanism => t.kind === 'mechanism' && t.valid);
  const modifiers = parsed.terms.filter((t): t is Modifier => t.kind === 'modifier');
  const all = mechanisms.find((m) => m.name === 'all');
  const redirect = modifiers.find((m) => m.name === 'redirect');

  for (const m of mechanisms) {
    if (m.name === 'all' && m.qualifier === '+') add('pass-all', 'error', '"+all" lets every host on the internet send as this domain', m.span);
    if (m.name === 'all' && m.qualifier === '?') add('neutral-all', 'warning', '"?all" gives no protection: unlisted senders get neutral, treated like no policy', m.span);
    if (m.name === 'ptr') add('ptr-deprecated', 'warning', '"ptr" is slow and unreliable and SHOULD NOT be used (RFC 7208 5.5); list the addresses with ip4/ip6', m.span);
  }

  if (all) {
    for (const m of mechanisms) {
      if (m.span.start > all.span.start) add('all-not-last', 'warning', `"${m.text}" comes after "${all.text}" and is never evaluated`, m.span);
    }
    if (redirect) add('redirect-with-all', 'warning', `"redirect" is ignored because the record has "${all.text}" (RFC 7208 6.1)`, redirect.span);
  } else if (!redirect) {
    add('no-all', 'warning', 'no "all" or "redirect": senders that match nothing get neutral; end with "-all" or "~all"', whole);
  }

  for (const name of ['redirect', 'exp']) {
    const same = modifiers.filter((m) => m.name === name);
    for (const extra of same.slice(1)) add('duplicate-modifier', 'error', `"${name}" appears more than once (permerror, RFC 7208 6)`, extra.span);
  }
  for (const m of modifiers) {
    if (m.name !== 'redirect' && m.name !== 'exp') add('unknown-modifier', 'info', `unknown modifier "${m.name}" is ignored by receivers`, m.span);
  }
  const lastMechanism = mechanisms.at(-1);
  for (const m of modifiers) {
    if (lastMechanism && m.span.start < lastMechanism.span.start) {
      add('modifier-position', 'info', `modifier "${m.name}=" SHOULD come after all mechanisms (RFC 7208 4.6.3)`, m.span);
    }
  }

  redundancyRules(mechanisms, add);

  let lookups = mechanisms.filter((m) => LOOKUP_TERMS.has(m.name)).length + (redirect && !all ? 1 : 0);
  if (lookups > LOOKUP_LIMIT) {
    const counted = parsed.terms.filter((t) => (t.kind === 'mechanism' ? t.valid && LOOKUP_TERMS.has(t.name) : t.name === 'redirect' && !all));
    add('lookup-limit', 'error', `${lookups} DNS-querying terms in this record alone; the limit is ${LOOKUP_LIMIT} (permerror, RFC 7208 4.6.4)`, counted[LOOKUP_LIMIT]!.span);
  }
  return { parsed, findings, lookups };
}

function redundancyRules(mechanisms: Mechanism[], add: (rule: string, s: Severity, msg: string, span: Span) => void): void {
  const seen = new Map<string, Mechanism>();
  for (const m of mechanisms) {
    const key = `${m.name}:${(m.value ?? '').toLowerCase().replace(/\.$/, '')}/${m.cidr4 ?? ''}//${m.cidr6 ?? ''}`;
    const first = seen.get(key);
    if (first) add('redundant-mechanism', 'warning', `"${m.text}" repeats "${first.text}"; the second never matches anything new`, m.span);
    else seen.set(key, m);
  }

  const nets = mechanisms
    .filter((m) => (m.name === 'ip4' || m.name === 'ip6') && m.value)
    .map((m) => ({ m, family: m.name === 'ip4' ? ('ipv4' as const) : ('ipv6' as const), prefix: m.name === 'ip4' ? (m.cidr4 ?? 32) : (m.cidr6 ?? 128) }));
  for (const n of nets) {
    if (hostBitsSet(n.m.value!, n.prefix, n.family)) {
      add('host-bits-set', 'info', `"${n.m.text}" has bits set beyond /${n.prefix}; it covers the whole network`, n.m.span);
    }
  }
  for (let i = 0; i < nets.length; i++) {
    for (let j = 0; j < nets.length; j++) {
      const a = nets[i]!;
      const b = nets[j]!;
      if (i === j || a.family !== b.family || b.prefix < a.prefix) continue;
      const equal = a.prefix === b.prefix;
      // equal networks: report only the later one; nested ones: report the inner one
      if (equal && j < i) continue;
      const covering = new BlockList();
      covering.addSubnet(a.m.value!, a.prefix, a.family);
      if (!covering.check(b.m.value!, b.family)) continue;
      if (equal && sameText(a.m, b.m)) continue; // exact repeats are reported as redundant-mechanism
      add('overlapping-ip', 'warning', `"${b.m.text}" is inside "${a.m.text}"${j > i ? ' and never matches anything new' : ''}`, b.m.span);
    }
  }
}

function sameText(a: Mechanism, b: Mechanism): boolean {
  return a.name === b.name && (a.value ?? '').toLowerCase() === (b.value ?? '').toLowerCase() && a.cidr4 === b.cidr4 && a.cidr6 === b.cidr6;
}

function hostBitsSet(addr: string, prefix: number, family: 'ipv4' | 'ipv6'): boolean {
  const max = family === 'ipv4' ? 32 : 128;
  if (prefix === max) return false;
  const bits = family === 'ipv4' ? ipv4Bits(addr) : ipv6Bits(addr);
  return bits.slice(prefix).includes('1');
}

function ipv4Bits(addr: string): string {
  return addr
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
}

function ipv6Bits(addr: string): string {
  let [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const words = (s: string | undefined) => (s ? s.split(':') : []);
  const expandV4 = (ws: string[]) => {
    const last = ws.at(-1);
    if (last && last.includes('.')) {
      const b = last.split('.').map(Number);
      ws.splice(-1, 1, ((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16));
    }
    return ws;
  };
  const h = expandV4(words(head));
  const t = tail === undefined ? [] : expandV4(words(tail));
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return all.map((w) => parseInt(w, 16).toString(2).padStart(16, '0')).join('');
}

function sizeRules(text: string, ctx: RecordContext, add: (rule: string, s: Severity, msg: string, span: Span) => void, whole: Span): void {
  const strings = ctx.strings ?? [text];
  let offset = 0;
  for (const s of strings) {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > 255) {
      const how = ctx.strings ? 'this TXT string' : 'the record';
      add('string-too-long', 'warning', `${how} is ${bytes} bytes; one DNS character-string holds at most 255, so publish it as several quoted strings ("..." "...")`, {
        start: offset + 255,
        end: offset + s.length,
      });
    }
    offset += s.length;
  }
  const answer = ctx.allTxt ?? [ctx.strings ?? splitStrings(text)];
  const size = txtAnswerSize(ctx.domain ?? 'example.com', answer);
  if (size > UDP_LIMIT) {
    const scope = ctx.allTxt && ctx.allTxt.length > 1 ? `the ${ctx.allTxt.length} TXT records at ${ctx.domain}` : 'the TXT answer';
    add('record-too-long-udp', 'warning', `${scope} take about ${size} bytes, over the ${UDP_LIMIT}-byte plain-UDP limit; receivers without EDNS retry over TCP or fail`, whole);
  }
}

function splitStrings(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out.length ? out : [''];
}

/** Bytes of a response carrying these TXT records: header, question, one compressed RR each. */
export function txtAnswerSize(domain: string, records: string[][]): number {
  const qname = domain.replace(/\.$/, '').split('.').reduce((n, l) => n + Buffer.byteLength(l) + 1, 1);
  let size = 12 + qname + 4;
  for (const strings of records) size += 2 + 10 + strings.reduce((n, s) => n + 1 + Buffer.byteLength(s), 0);
  return size;
}
