// SPF record text → terms with their character offsets (RFC 7208 section 12 ABNF), and the
// syntax findings met on the way. Pure: the linter builds on it; evaluation uses mailauth.
import { isIPv4, isIPv6 } from 'node:net';

export type Severity = 'error' | 'warning' | 'info';

export interface Span {
  start: number;
  end: number;
}

export interface Finding {
  /** Stable id, e.g. 'syntax', 'lookup-limit'. */
  rule: string;
  severity: Severity;
  message: string;
  /** Character offsets in the record text of `domain` (or the record given). */
  span: Span;
  domain?: string;
}

export const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'] as const;
export type MechanismName = (typeof MECHANISMS)[number];
export type Qualifier = '+' | '-' | '~' | '?';

export interface Mechanism {
  kind: 'mechanism';
  /** Qualifier as written, '+' when absent. */
  qualifier: Qualifier;
  name: MechanismName;
  /** domain-spec of include/a/mx/ptr/exists, network of ip4/ip6 (without the prefix length). */
  value: string | null;
  cidr4: number | null;
  cidr6: number | null;
  text: string;
  span: Span;
  /** The term parsed cleanly; a broken term is still listed so later rules can point at it. */
  valid: boolean;
}

export interface Modifier {
  kind: 'modifier';
  name: string;
  value: string;
  text: string;
  span: Span;
  valid: boolean;
}

export type Term = Mechanism | Modifier;

export interface ParsedRecord {
  text: string;
  /** False when the text does not start with "v=spf1" followed by a space or its end. */
  isSpf: boolean;
  terms: Term[];
  findings: Finding[];
}

const NEAR_MISSES: Record<string, string> = {
  ipv4: 'ip4',
  ipv6: 'ip6',
  ip: 'ip4',
  includes: 'include',
  inc: 'include',
  exist: 'exists',
  '-all': 'all',
  a_: 'a',
};

/** Parse the (already joined) record text. Findings carry offsets into `text`. */
export function parseRecord(text: string): ParsedRecord {
  const findings: Finding[] = [];
  const add = (rule: string, severity: Severity, message: string, start: number, end: number) =>
    findings.push({ rule, severity, message, span: { start, end: Math.max(end, start + 1) } });

  const isSpf = /^v=spf1( |$)/i.test(text);
  if (!isSpf) {
    const lead = /^\s+/.exec(text);
    const msg = lead
      ? 'whitespace before "v=spf1": receivers do not recognise this as an SPF record'
      : 'an SPF record starts with "v=spf1" followed by a space or its end';
    add('syntax', 'error', msg, 0, lead ? lead[0].length : Math.min(text.length, 6) || 1);
    return { text, isSpf, terms: [], findings };
  }

  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) {
      const what = code === 9 ? 'a tab' : code > 0x7e ? `non-ASCII character "${text[i]}"` : `control character 0x${code.toString(16)}`;
      add('syntax', 'error', `${what}: terms are separated by spaces and use printable ASCII only`, i, i + 1);
    }
  }

  const terms: Term[] = [];
  const re = /[^ ]+/g;
  re.lastIndex = 6;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const span = { start: m.index, end: m.index + m[0].length };
    terms.push(parseTerm(m[0], span, add));
  }
  return { text, isSpf, terms, findings };
}

type Add = (rule: string, severity: Severity, message: string, start: number, end: number) => void;

function parseTerm(term: string, span: Span, add: Add): Term {
  const at = span.start;
  const mod = /^([A-Za-z][A-Za-z0-9\-_.]*)=/.exec(term);
  if (mod) {
    const name = mod[1]!.toLowerCase();
    const value = term.slice(mod[0].length);
    const valueAt = at + mod[0].length;
    let valid: boolean;
    if (name === 'redirect' || name === 'exp') {
      valid = checkDomainSpec(value, valueAt, `${name}=`, add, false);
    } else {
      valid = checkMacroString(value, valueAt, add, false);
    }
    return { kind: 'modifier', name, value, text: term, span, valid };
  }

  const q = /^[+\-~?]/.test(term) ? (term[0] as Qualifier) : '+';
  const body = q === '+' && term[0] !== '+' ? term : term.slice(1);
  const bodyAt = at + (term.length - body.length);
  const nameMatch = /^[A-Za-z0-9_\-.]*/.exec(body)![0];
  const name = nameMatch.toLowerCase();
  const rest = body.slice(nameMatch.length);
  const restAt = bodyAt + nameMatch.length;
  const broken = (): Mechanism => ({ kind: 'mechanism', qualifier: q, name: 'all', value: null, cidr4: null, cidr6: null, text: term, span, valid: false });

  if (!(MECHANISMS as readonly string[]).includes(name)) {
    if (name && /^[a-z][a-z0-9]*$/.test(name) && (rest === '' || rest[0] === ':' || rest[0] === '/')) {
      const hint = NEAR_MISSES[name] ? `; did you mean "${NEAR_MISSES[name]}"?` : '';
      add('unknown-mechanism', 'error', `"${name}" is not an SPF mechanism${hint} (receivers return permerror)`, bodyAt, bodyAt + nameMatch.length);
    } else if (/^[0-9.]+(\/\d+)?$/.test(term) || isIPv6(term.split('/')[0]!)) {
      add('syntax', 'error', `stray term "${term}": an address needs a mechanism, e.g. "ip4:${term}" (no space after the colon)`, span.start, span.end);
    } else {
      add('syntax', 'error', `"${term}" is neither a mechanism nor a modifier`, span.start, span.end);
    }
    return broken();
  }
  const mech = name as MechanismName;
  const out: Mechanism = { kind: 'mechanism', qualifier: q, name: mech, value: null, cidr4: null, cidr6: null, text: term, span, valid: true };
  const fail = (rule: string, message: string, start = span.start, end = span.end) => {
    add(rule, 'error', message, start, end);
    out.valid = false;
    return out;
  };

  if (mech === 'all') {
    if (rest) return fail('syntax', `"all" takes no argument (found "${rest}")`, restAt, span.end);
    return out;
  }

  if (mech === 'ip4' || mech === 'ip6') {
    if (!rest.startsWith(':') || rest.length === 1) {
      return fail('syntax', `"${mech}" needs an address right after the colon, e.g. "${mech}:${mech === 'ip4' ? '192.0.2.0/24' : '2001:db8::/32'}"`, span.start, span.end);
    }
    const slash = rest.indexOf('/');
    const addr = rest.slice(1, slash < 0 ? undefined : slash);
    const addrAt = restAt + 1;
    const ok = mech === 'ip4' ? isIPv4(addr) && !/(^|\.)0\d/.test(addr) : isIPv6(addr);
    if (!ok) return fail('invalid-ip', `"${addr}" is not an ${mech === 'ip4' ? 'IPv4' : 'IPv6'} address`, addrAt, addrAt + addr.length);
    out.value = addr;
    if (slash >= 0) {
      const max = mech === 'ip4' ? 32 : 128;
      const len = rest.slice(slash + 1);
      const lenAt = restAt + slash;
      if (!/^(0|[1-9]\d*)$/.test(len) || Number(len) > max) return fail('bad-cidr', `prefix length "/${len}" must be 0–${max} without leading zeros`, lenAt, span.end);
      if (mech === 'ip4') out.cidr4 = Number(len);
      else out.cidr6 = Number(len);
    }
    return out;
  }

  // include a mx ptr exists: [":" domain-spec] then, for a and mx, a dual-cidr-length
  let spec = rest;
  let specAt = restAt;
  if (mech === 'a' || mech === 'mx') {
    const cidr = /(?:\/(\d*))?(?:\/\/(\d*))?$/.exec(rest)!;
    if (cidr[0] && !(cidr.index === 0 || rest[0] === ':')) return fail('syntax', `unexpected "${rest}" after "${mech}"`, restAt, span.end);
    const lenAt = restAt + cidr.index;
    if (cidr[1] !== undefined) {
      if (!/^(0|[1-9]\d*)$/.test(cidr[1]) || Number(cidr[1]) > 32) return fail('bad-cidr', `IPv4 prefix length "/${cidr[1]}" must be 0–32 without leading zeros`, lenAt, span.end);
      out.cidr4 = Number(cidr[1]);
    }
    if (cidr[2] !== undefined) {
      if (!/^(0|[1-9]\d*)$/.test(cidr[2]) || Number(cidr[2]) > 128) return fail('bad-cidr', `IPv6 prefix length "//${cidr[2]}" must be 0–128 without leading zeros`, lenAt, span.end);
      out.cidr6 = Number(cidr[2]);
    }
    spec = rest.slice(0, cidr.index);
  }
  if (spec === '') {
    if (mech === 'include' || mech === 'exists') return fail('syntax', `"${mech}" needs a domain: "${mech}:example.com"`);
    return out;
  }
  if (!spec.startsWith(':')) return fail('syntax', `unexpected "${spec}" after "${mech}" (a domain follows a colon)`, specAt, specAt + spec.length);
  spec = spec.slice(1);
  specAt += 1;
  if (spec === '') return fail('syntax', `empty domain after "${mech}:"`, specAt - 1, specAt);
  out.value = spec;
  if (!checkDomainSpec(spec, specAt, `${mech}:`, add, false)) out.valid = false;
  return out;
}

const MACRO_LETTERS = 'slodiphcrtv';
const EXP_ONLY = 'crt';

/** macro-string = *( macro-expand / macro-literal ); returns false after reporting problems. */
export function checkMacroString(value: string, at: number, add: Add, explanation: boolean): boolean {
  let ok = true;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '%') {
      const code = value.charCodeAt(i);
      if ((code < 0x21 || code > 0x7e) && !(explanation && code === 0x20)) {
        add('invalid-macro', 'error', `character 0x${code.toString(16)} is not allowed here (printable ASCII only)`, at + i, at + i + 1);
        ok = false;
      }
      continue;
    }
    const next = value[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      i++;
      continue;
    }
    if (next !== '{') {
      add('invalid-macro', 'error', `a lone "%" must be written "%%" (or start a macro "%{...}")`, at + i, at + i + 2);
      ok = false;
      continue;
    }
    const close = value.indexOf('}', i);
    if (close < 0) {
      add('invalid-macro', 'error', `macro "${value.slice(i)}" is not closed with "}"`, at + i, at + value.length);
      return false;
    }
    const body = value.slice(i + 2, close);
    const m = /^([A-Za-z])(\d*)([rR]?)([.\-+,/_=]*)$/.exec(body);
    if (!m || !MACRO_LETTERS.includes(m[1]!.toLowerCase())) {
      add('invalid-macro', 'error', `"%{${body}}" is not a macro: letter s l o d i p v h (c r t in exp text), digits, "r", delimiters . - + , / _ =`, at + i, at + close + 1);
      ok = false;
    } else if (!explanation && EXP_ONLY.includes(m[1]!.toLowerCase())) {
      add('invalid-macro', 'error', `"%{${m[1]}}" is only allowed in explanation text (RFC 7208 7.1)`, at + i, at + close + 1);
      ok = false;
    } else if (m[2] && Number(m[2]) === 0) {
      add('invalid-macro', 'error', `"%{${body}}": the number of labels kept must not be zero`, at + i, at + close + 1);
      ok = false;
    }
    i = close;
  }
  return ok;
}

/** domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand */
function checkDomainSpec(spec: string, at: number, what: string, add: Add, explanation: boolean): boolean {
  if (spec === '') {
    add('syntax', 'error', `"${what}" needs a domain`, at - what.length, at);
    return false;
  }
  if (!checkMacroString(spec, at, add, explanation)) return false;
  if (/%(\{[^}]*\}|[%_-])$/.test(spec)) return true;
  const bare = spec.endsWith('.') ? spec.slice(0, -1) : spec;
  const dot = bare.lastIndexOf('.');
  const top = bare.slice(dot + 1);
  if (dot < 0 || !/^([a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i.test(top)) {
    add('syntax', 'error', `"${spec}" does not end in a top-level label such as ".com" (RFC 7208 7.1 domain-end)`, at, at + spec.length);
    return false;
  }
  return true;
}
