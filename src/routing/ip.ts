// IP range matching for connectors and Enhanced Filtering skip lists (IPv4 and IPv6, CIDR or single).
import { isIP } from 'node:net';
import { memoByText } from '../util/text-memo.js';

function toBigInt(ip: string): { v: 4 | 6; n: bigint } | null {
  const kind = isIP(ip);
  if (kind === 4) return { v: 4, n: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (kind !== 6) return null;
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) is compared as IPv4: that is how sockets report v4 peers on dual-stack.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return toBigInt(mapped[1]!);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter(Boolean) : []);
  let h = parse(head);
  let t = parse(tail);
  const expand = (parts: string[]) =>
    parts.flatMap((p) => {
      if (p.includes('.')) {
        const n = toBigInt(p)!.n;
        return [((n >> 16n) & 0xffffn).toString(16), (n & 0xffffn).toString(16)];
      }
      return [p];
    });
  h = expand(h);
  t = expand(t);
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t];
  return { v: 6, n: all.reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n) };
}

export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

interface ParsedRange {
  v: 4 | 6;
  /** The base address shifted right by `shift`: what an address must equal, shifted alike. */
  prefix: bigint;
  shift: bigint;
}

/**
 * Parsed addresses and ranges, by text. Routing asks about the same few connector ranges and client
 * addresses for every message, and parsing them into BigInts each time showed in the allocation
 * profile (bench/README.md, change 26). Parsed values never change; the maps are bounded by clearing.
 */
const MAX_PARSED = 10_000;

const ipOf = memoByText(toBigInt, MAX_PARSED);

const rangeOf = memoByText((range): ParsedRange | null => {
  const [base, maskText] = range.split('/');
  const b = toBigInt(base ?? '');
  if (!b) return null;
  const bits = b.v === 4 ? 32 : 128;
  const mask = maskText === undefined ? bits : Number(maskText);
  const shift = BigInt(bits - mask); // a malformed mask throws here, as it always did, and is not kept
  return { v: b.v, prefix: b.n >> shift, shift };
}, MAX_PARSED);

function inRange(a: { v: 4 | 6; n: bigint }, r: ParsedRange | null): boolean {
  return !!r && a.v === r.v && a.n >> r.shift === r.prefix;
}

/** Does `ip` fall inside `range` (`a.b.c.d`, `a.b.c.d/n`, IPv6 likewise)? */
export function ipInRange(ip: string, range: string): boolean {
  const a = ipOf(ip);
  return !!a && inRange(a, rangeOf(range));
}

export function ipInAny(ip: string, ranges: readonly string[]): boolean {
  const a = ipOf(ip);
  return !!a && ranges.some((r) => inRange(a, rangeOf(r)));
}

/** RFC 1918 private IPv4 ranges (EXO refuses them in Enhanced Filtering skip lists). */
export function isRfc1918(ip: string): boolean {
  return ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some((r) => ipInRange(ip.split('/')[0]!, r));
}

export function isLoopback(ip: string): boolean {
  return ipInRange(normalizeIp(ip), '127.0.0.0/8') || ip === '::1';
}

/** Prefix length of a range entry (32/128 for a single address). */
export function prefixLength(range: string): number {
  const [base, mask] = range.split('/');
  if (mask !== undefined) return Number(mask);
  return isIP(base ?? '') === 6 ? 128 : 32;
}
