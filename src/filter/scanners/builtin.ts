// The built-in scanner: authentication results, DNS block lists (through our Resolver), header and
// structure rules, size. Scores are on rspamd's scale (reject at 15) so the two add up sensibly.
import { isIP } from 'node:net';
import type { Resolver } from '../../dns/types.js';
import { isRfc1918, normalizeIp } from '../../routing/ip.js';
import { domainOf, headerValues, splitHeaders } from '../headers.js';
import type { ScanContext, ScanResult, Scanner } from './types.js';

export interface DnsblZone {
  zone: string;
  score: number;
}

export interface BuiltinOptions {
  resolver?: Resolver;
  dnsbl?: DnsblZone[];
  /** Above this size the LARGE_MESSAGE rule matches (bytes). */
  largeMessage?: number;
}

/** Rule scores. GTUBE must reach any sane reject threshold on its own. */
export const RULES = {
  GTUBE: 100,
  SPF_FAIL: 3,
  SPF_SOFTFAIL: 1,
  DKIM_FAIL: 1,
  DMARC_FAIL: 3,
  MISSING_FROM: 3,
  MISSING_DATE: 1,
  MISSING_MID: 2.5,
  FROM_ENVELOPE_MISMATCH: 1,
  SUBJ_ALL_CAPS: 3,
  LARGE_MESSAGE: 0.5,
} as const;

// The Generic Test for Unsolicited Bulk Email: every spam filter scores it as spam.
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

/** The DNSBL query name for an IP: reversed octets (IPv4) or reversed nibbles (IPv6), then the zone. */
export function dnsblName(ip: string, zone: string): string | null {
  const a = normalizeIp(ip);
  if (isIP(a) === 4) return `${a.split('.').reverse().join('.')}.${zone}`;
  if (isIP(a) !== 6) return null;
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (h.concat(t).some((g) => g.includes('.'))) return null; // embedded IPv4 forms are not listed this way
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('').split('');
  return `${nibbles.reverse().join('.')}.${zone}`;
}

type Hit = { name: string; score: number; note?: string };

async function dnsblHits(resolver: Resolver, ip: string, zones: DnsblZone[]): Promise<{ hits: Hit[]; notes: string[] }> {
  const hits: Hit[] = [];
  const notes: string[] = [];
  // private addresses are never listed; asking would leak internal addresses to the list operator
  if (isRfc1918(normalizeIp(ip))) return { hits, notes: [`${ip} is private: block lists not asked`] };
  await Promise.all(
    zones.map(async (z) => {
      const name = dnsblName(ip, z.zone);
      if (!name) return;
      const r = await resolver.query(name, 'A');
      if (r.status === 'ok') {
        const codes = r.answers.filter((a) => a.startsWith('127.'));
        // 127.255.255.x is the list refusing the query (Spamhaus' convention), not a listing
        const listed = codes.filter((a) => !a.startsWith('127.255.255.'));
        if (listed.length) hits.push({ name: `DNSBL(${z.zone})`, score: z.score, note: `${ip} listed in ${z.zone} (${listed.join(',')})` });
        else if (codes.length) notes.push(`${z.zone} refused the query (${codes.join(',')})`);
      } else if (r.status !== 'nxdomain' && r.status !== 'nodata') {
        notes.push(`${z.zone} not answered: ${r.status}`);
      }
    }),
  );
  return { hits, notes };
}

function headerRules(message: Buffer, ctx: ScanContext, largeMessage: number): Hit[] {
  const hits: Hit[] = [];
  const split = splitHeaders(message);
  if (message.includes(GTUBE, 0, 'latin1')) hits.push({ name: 'GTUBE', score: RULES.GTUBE, note: 'GTUBE test pattern' });
  const from = headerValues(split, 'From');
  if (!from.length) hits.push({ name: 'MISSING_FROM', score: RULES.MISSING_FROM });
  if (!headerValues(split, 'Date').length) hits.push({ name: 'MISSING_DATE', score: RULES.MISSING_DATE });
  if (!headerValues(split, 'Message-ID').length) hits.push({ name: 'MISSING_MID', score: RULES.MISSING_MID });
  if (from.length && ctx.sender) {
    const angle = /<([^>]*)>/.exec(from[0]!);
    const fromDomain = domainOf(angle ? angle[1]! : from[0]!);
    const envDomain = domainOf(ctx.sender);
    if (fromDomain && envDomain && orgGuess(fromDomain) !== orgGuess(envDomain)) {
      hits.push({ name: 'FROM_ENVELOPE_MISMATCH', score: RULES.FROM_ENVELOPE_MISMATCH, note: `From ${fromDomain}, MAIL FROM ${envDomain}` });
    }
  }
  const subject = headerValues(split, 'Subject')[0] ?? '';
  const letters = subject.replace(/[^A-Za-z]/g, '');
  if (letters.length >= 10 && letters === letters.toUpperCase()) hits.push({ name: 'SUBJ_ALL_CAPS', score: RULES.SUBJ_ALL_CAPS });
  if (message.length > largeMessage) hits.push({ name: 'LARGE_MESSAGE', score: RULES.LARGE_MESSAGE, note: `${message.length} bytes` });
  return hits;
}

// The last two labels: good enough to tell mail.contoso.com from contoso.com apart from fabrikam.com.
// (The Public Suffix List would be exact; this rule scores low because of that.)
function orgGuess(domain: string): string {
  return domain.split('.').slice(-2).join('.');
}

function authRules(ctx: ScanContext): Hit[] {
  const a = ctx.auth;
  if (!a) return [];
  const hits: Hit[] = [];
  if (a.spf.result === 'fail') hits.push({ name: 'SPF_FAIL', score: RULES.SPF_FAIL, note: `spf=fail for ${a.spf.domain} from ${a.spf.ip}` });
  if (a.spf.result === 'softfail') hits.push({ name: 'SPF_SOFTFAIL', score: RULES.SPF_SOFTFAIL });
  if (a.dkim.result === 'fail') hits.push({ name: 'DKIM_FAIL', score: RULES.DKIM_FAIL });
  if (a.dmarc.result === 'fail' && !a.dmarc.overriddenByArc) hits.push({ name: 'DMARC_FAIL', score: RULES.DMARC_FAIL, note: `dmarc=fail for ${a.dmarc.domain} (p=${a.dmarc.policy})` });
  return hits;
}

export function builtinScanner(opts: BuiltinOptions = {}): Scanner {
  const largeMessage = opts.largeMessage ?? 10 * 1024 * 1024;
  return {
    name: 'builtin',
    async scan(message: Buffer, ctx: ScanContext): Promise<ScanResult> {
      const hits = [...authRules(ctx), ...headerRules(message, ctx, largeMessage)];
      let notes: string[] = [];
      if (opts.resolver && opts.dnsbl?.length) {
        const d = await dnsblHits(opts.resolver, ctx.ip, opts.dnsbl);
        hits.push(...d.hits);
        notes = d.notes;
      }
      const score = Math.round(hits.reduce((s, h) => s + h.score, 0) * 100) / 100;
      const detail = [hits.length ? hits.map((h) => (h.note ? `${h.name}: ${h.note}` : h.name)).join('; ') : 'no rule matched', ...notes].join('; ');
      return { scanner: 'builtin', status: 'ok', score, symbols: hits.map((h) => `${h.name}(${h.score})`), detail };
    },
  };
}
