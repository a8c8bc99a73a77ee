// The verdict: scanner results, authentication and the role's thresholds in, one action out.
// Pure. Actions from mild to severe: deliver < junk < quarantine < reject; the most severe reason
// wins. Malware is never delivered. A scanner that could not answer is named, the others decide.
import type { AuthResults } from './authenticate.js';
import { splitHeaders, rebuild, fieldValue } from './headers.js';
import type { ScanResult } from './scanners/types.js';

export type VerdictAction = 'deliver' | 'junk' | 'quarantine' | 'reject';

export interface VerdictPolicy {
  thresholds: { junk: number; quarantine: number; reject: number };
  malware: 'reject' | 'quarantine';
  /** Apply DMARC p=reject / p=quarantine on failure. */
  enforceDmarc: boolean;
}

export interface Verdict {
  action: VerdictAction;
  score: number;
  malware?: string;
  /** Why, most severe first; also names scanners that could not answer. */
  reasons: string[];
  /** `X-Mailflow-Spam: ...` with CRLF, to prepend (see stampVerdict). */
  spamHeader: string;
  scanners: { name: string; status: ScanResult['status'] }[];
}

export const SPAM_HEADER = 'X-Mailflow-Spam';
const RANK: Record<VerdictAction, number> = { deliver: 0, junk: 1, quarantine: 2, reject: 3 };

export function decideVerdict(results: ScanResult[], policy: VerdictPolicy, auth?: AuthResults, host = ''): Verdict {
  const ok = results.filter((r) => r.status === 'ok');
  const score = Math.round(ok.reduce((s, r) => s + (r.score ?? 0), 0) * 100) / 100;
  const found: { action: VerdictAction; reason: string }[] = [];

  const malware = ok.find((r) => r.malware);
  if (malware) found.push({ action: policy.malware, reason: `malware ${malware.malware} (${malware.scanner})` });

  const t = policy.thresholds;
  if (score >= t.reject) found.push({ action: 'reject', reason: `spam score ${score} ≥ reject ${t.reject}` });
  else if (score >= t.quarantine) found.push({ action: 'quarantine', reason: `spam score ${score} ≥ quarantine ${t.quarantine}` });
  else if (score >= t.junk) found.push({ action: 'junk', reason: `spam score ${score} ≥ junk ${t.junk}` });

  if (auth && policy.enforceDmarc && auth.dmarc.result === 'fail' && !auth.dmarc.overriddenByArc && auth.dmarc.policy !== 'none') {
    found.push({ action: auth.dmarc.policy, reason: `DMARC fail for ${auth.dmarc.domain} with p=${auth.dmarc.policy}` });
  }

  found.sort((a, b) => RANK[b.action] - RANK[a.action]);
  const action = found[0]?.action ?? 'deliver';
  const reasons = found.map((f) => f.reason);
  for (const r of results) if (r.status !== 'ok') reasons.push(`${r.scanner} ${r.status}: ${r.detail}`);
  if (!reasons.length) reasons.push(`spam score ${score} below junk ${t.junk}`);

  const scanners = results.map((r) => ({ name: r.scanner, status: r.status }));
  const symbols = ok.flatMap((r) => r.symbols ?? []);
  return { action, score, ...(malware ? { malware: malware.malware } : {}), reasons, spamHeader: spamHeader({ host, action, score, scanners, symbols }), scanners };
}

function spamHeader(v: { host: string; action: VerdictAction; score: number; scanners: Verdict['scanners']; symbols: string[] }): string {
  // level: one star per whole point (SpamAssassin's X-Spam-Level habit), capped so the line stays short
  const level = '*'.repeat(Math.max(0, Math.min(50, Math.floor(v.score))));
  const parts = [
    ...(v.host ? [`host=${v.host}`] : []),
    `action=${v.action}`,
    `score=${v.score}`,
    `level=${level || '-'}`,
    `scanners=${v.scanners.map((s) => `${s.name}/${s.status}`).join(',') || 'none'}`,
    `rules=${v.symbols.map((s) => s.replace(/[\s;]/g, '_')).join(',') || 'none'}`,
  ];
  return `${SPAM_HEADER}: ${parts.join(';\r\n ')}\r\n`;
}

/** Puts our verdict header on top and removes every other one (forged, or from an earlier hop). */
export function stampVerdict(message: Buffer, verdict: Pick<Verdict, 'spamHeader'>): Buffer {
  return rebuild(splitHeaders(message), verdict.spamHeader, (f) => f.name.toLowerCase() === SPAM_HEADER.toLowerCase());
}

/** Removes every verdict header (mail from a source whose verdict we do not trust). */
export function stripVerdicts(message: Buffer): Buffer {
  return rebuild(splitHeaders(message), '', (f) => f.name.toLowerCase() === SPAM_HEADER.toLowerCase());
}

export interface UpstreamVerdict {
  host: string;
  action: VerdictAction;
  score: number;
}

/**
 * The verdict an upstream filter stamped (the topmost header). Trust it only where the role knows
 * the header came from that filter: over the locked partner connector, whose gateway strips
 * incoming copies before stamping its own.
 */
export function readUpstreamVerdict(message: Buffer): UpstreamVerdict | null {
  const f = splitHeaders(message).fields.find((x) => x.name.toLowerCase() === SPAM_HEADER.toLowerCase());
  if (!f) return null;
  const kv = new Map(
    fieldValue(f)
      .split(';')
      .map((p) => p.trim().split('=') as [string, string?])
      .map(([k, v]) => [k.trim(), (v ?? '').trim()] as const),
  );
  const action = kv.get('action') as VerdictAction | undefined;
  const score = Number(kv.get('score'));
  if (!action || !(action in RANK) || !Number.isFinite(score)) return null;
  return { host: kv.get('host') ?? '', action, score };
}
