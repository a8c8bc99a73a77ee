// SPF, DKIM, DMARC (alignment and policy) and ARC for one received message, with mailauth's checks
// on our Resolver, and the one Authentication-Results header (RFC 8601) a role stamps.
// mailauth's own authenticate() cannot be used: its module also loads BIMI, whose HTTP client does
// not load on Node 20.20. This follows lib/mailauth.js step for step, without BIMI.
import { spf } from 'mailauth/lib/spf/index.js';
import { evaluateDmarc } from 'mailauth/lib/dmarc/index.js';
import { arc } from 'mailauth/lib/arc/index.js';
import type { ARCResult, DMARCResult, DNSResolver, SPFOptions } from 'mailauth';
import { isIP } from 'node:net';
import { toMailauthResolver } from '../dns/mailauth-resolver.js';
import type { Resolver } from '../dns/types.js';
import { rebuild, splitHeaders } from './headers.js';
import { createArcSeal, verifyDkim } from './mailauth-dkim.js';
import { memoFor, spfKey } from './dns-memo.js';
import { unsignedDkimResult } from './unsigned-dkim.js';

type DmarcEvaluation = Awaited<ReturnType<typeof evaluateDmarc>>;

export type AuthWord = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface ArcSealKey {
  /** d= of the ARC set; the receiving hub lists it in its trusted ARC sealers. */
  domain: string;
  selector: string;
  privateKeyPem: string;
}

export interface AuthInput {
  message: Buffer;
  /** The sending host: the connecting IP, or the one Enhanced Filtering recovered. */
  ip: string;
  helo: string;
  /** MAIL FROM ('' for the null reverse-path). */
  sender: string;
  resolver: Resolver;
  /** Our authserv-id: the role's host name. */
  authservId: string;
  /** d= domains of ARC sealers whose verdicts we accept (Set-ArcConfig -ArcTrustedSealers). */
  trustedArcSealers?: string[];
  /** DKIM signature expiry is judged at this time (tests). */
  now?: Date;
}

export interface DkimSignatureResult {
  domain: string;
  selector: string;
  result: AuthWord;
  /** The signing domain aligns with the header From domain under the DMARC record's mode. */
  aligned: boolean;
  comment: string;
}

export interface AuthResults {
  spf: { result: AuthWord; domain: string; ip: string; helo: string; comment: string };
  dkim: { result: AuthWord; signatures: DkimSignatureResult[] };
  dmarc: {
    result: AuthWord;
    /** The policy the domain asks for when DMARC fails (t=y already applied); 'none' without a record. */
    policy: DmarcPolicy;
    /** Header From (author) domain, null when there is none or more than one. */
    domain: string | null;
    policyDomain: string | null;
    testMode: boolean;
    alignment: { spf: string | null; dkim: string | null; spfStrict: boolean; dkimStrict: boolean };
    /** Why DMARC could not be evaluated (no From domain, several ...). */
    skipReason?: string;
    /** DMARC failed here, but a trusted ARC sealer saw it pass before it changed the message. */
    overriddenByArc: boolean;
  };
  arc: {
    result: AuthWord;
    instance: number;
    /** d= of the newest ARC set. */
    sealer: string | null;
    trusted: boolean;
    /** What the newest sealer recorded (its ARC-Authentication-Results). */
    upstream: { spf?: string; dkim?: string; dmarc?: string; authservId?: string } | null;
  };
  headerFrom: string | null;
  /** ONE `Authentication-Results:` field with its CRLF. */
  header: string;
  /** The field's value (authserv-id and results), what an ARC-Authentication-Results carries. */
  authResultsValue: string;
  /** One line for traces: `spf=fail dkim=none dmarc=fail (p=reject) arc=none`. */
  summary: string;
}

type SpfResult = Awaited<ReturnType<typeof spf>>;

const WORDS = new Set<AuthWord>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
const word = (w: unknown): AuthWord => {
  const s = String(w ?? 'none').toLowerCase();
  if (s === 'temperr') return 'temperror';
  return WORDS.has(s as AuthWord) ? (s as AuthWord) : 'permerror';
};
const policyOf = (p: unknown): DmarcPolicy => (p === 'reject' || p === 'quarantine' ? p : 'none');

export async function authenticateMessage(input: AuthInput): Promise<AuthResults> {
  const resolver = toMailauthResolver(input.resolver) as unknown as DNSResolver;
  const authservId = input.authservId.toLowerCase();
  // most mail is unsigned, and then the verifier has nothing to verify (unsigned-dkim.ts)
  const dkimResult =
    unsignedDkimResult(input.message, { sender: input.sender || undefined }) ??
    (await verifyDkim(input.message, { resolver, sender: input.sender || undefined, curTime: input.now }));

  let helo = input.helo || input.ip;
  if (helo && isIP(helo)) helo = `[${helo}]`;
  const spfResult = await memoFor<SpfResult>(input.resolver, 'spf').check(spfKey({ ip: input.ip, sender: input.sender, helo, authservId }), (recording) =>
    spf({
      sender: input.sender || undefined,
      ip: input.ip,
      helo,
      mta: authservId,
      resolver: toMailauthResolver(recording) as NonNullable<SPFOptions['resolver']>,
      maxElapsedTime: 20_000,
    } as SPFOptions),
  );

  const arcResult: ARCResult = await arc(dkimResult.arc as never, { resolver, ip: input.ip } as never);

  const passing = (dkimResult.results ?? []).filter((r) => r.status?.result === 'pass');
  let dmarcResult: DMARCResult | false = false;
  let skipReason: string | undefined;
  let dkimAligned: Set<string> | undefined;
  if (dkimResult.headerFrom?.length) {
    const inputs = {
      headerFrom: dkimResult.headerFrom,
      fromFields: dkimResult.fromFields,
      spfDomains: spfResult?.status?.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
      dkimDomains: passing.map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status?.aligned, underSized: r.status?.underSized })),
    };
    // The key holds every input but DNS (of the ARC result evaluateDmarc reads only the word); the
    // result is shared by the messages that hit it, and nothing below writes to it.
    const key = JSON.stringify([inputs, arcResult.status?.result ?? null]);
    const ev: DmarcEvaluation = await memoFor<DmarcEvaluation>(input.resolver, 'dmarc').check(key, (recording) =>
      evaluateDmarc({ ...inputs, arcResult, resolver: toMailauthResolver(recording) } as never),
    );
    dmarcResult = ev.response;
    skipReason = ev.reason;
    dkimAligned = ev.dkimAligned;
  } else {
    skipReason = 'no-author-domain';
  }

  const signatures: DkimSignatureResult[] = (dkimResult.results ?? [])
    .filter((r) => r.signingDomain)
    .map((r) => ({
      domain: String(r.signingDomain).toLowerCase(),
      selector: String(r.selector ?? ''),
      result: word(r.status?.result),
      aligned: r.status?.result === 'pass' && (dkimAligned ? dkimAligned.has(String(r.signingDomain).toLowerCase()) : !!r.status?.aligned),
      comment: String(r.status?.comment ?? ''),
    }));
  const dkimWord: AuthWord = signatures.some((s) => s.result === 'pass') ? 'pass' : signatures[0]?.result ?? 'none';

  const upstreamRaw = (arcResult as { authenticationResults?: Record<string, any> }).authenticationResults;
  const upstream = upstreamRaw
    ? {
        spf: upstreamRaw.spf?.result as string | undefined,
        dkim: Array.isArray(upstreamRaw.dkim) ? (upstreamRaw.dkim.some((d: { result?: string }) => d.result === 'pass') ? 'pass' : upstreamRaw.dkim[0]?.result) : undefined,
        dmarc: upstreamRaw.dmarc?.result as string | undefined,
        authservId: upstreamRaw.mta as string | undefined,
      }
    : null;
  const sealer = arcResult.signature ? String(arcResult.signature.signingDomain).toLowerCase() : null;
  const arcWord = word(arcResult.status?.result);
  const trusted = arcWord === 'pass' && !!sealer && (input.trustedArcSealers ?? []).some((d) => d.toLowerCase() === sealer);

  const dmarcWord: AuthWord = dmarcResult ? word(dmarcResult.status?.result) : 'none';
  const overriddenByArc = dmarcWord === 'fail' && trusted && upstream?.dmarc === 'pass';
  const headerFrom = dmarcResult ? (dmarcResult.status?.header?.from ?? null) : null;

  const dmarc: AuthResults['dmarc'] = {
    result: dmarcWord,
    policy: dmarcResult ? policyOf(dmarcResult.policy) : 'none',
    domain: headerFrom,
    policyDomain: dmarcResult ? (dmarcResult.policyDomain ?? dmarcResult.domain ?? null) : null,
    testMode: dmarcResult ? !!dmarcResult.testMode : false,
    alignment: {
      spf: dmarcResult ? (dmarcResult.alignment?.spf?.result ?? null) || null : null,
      dkim: dmarcResult ? (dmarcResult.alignment?.dkim?.result ?? null) || null : null,
      spfStrict: dmarcResult ? !!dmarcResult.alignment?.spf?.strict : false,
      dkimStrict: dmarcResult ? !!dmarcResult.alignment?.dkim?.strict : false,
    },
    ...(skipReason && !dmarcResult ? { skipReason } : {}),
    overriddenByArc,
  };

  // The header: one field, our authserv-id first, then one resinfo per method (RFC 8601 2.2).
  const parts: string[] = [];
  for (const r of dkimResult.results ?? []) if (r.info) parts.push(r.info);
  if (spfResult?.info) parts.push(spfResult.info);
  if ((arcResult as { info?: string }).info) parts.push((arcResult as { info?: string }).info!);
  if (dmarcResult && dmarcResult.info) parts.push(dmarcResult.info + (overriddenByArc ? ` (overridden: trusted ARC sealer ${sealer} saw dmarc=pass)` : ''));
  else if (skipReason) parts.push(`dmarc=none (${skipReason})`);
  const arValue = `${authservId};\r\n ${parts.map(clean).join(';\r\n ')}`;
  const header = `Authentication-Results: ${arValue}\r\n`;

  const spfOut = {
    result: word(spfResult?.status?.result),
    domain: String(spfResult?.domain ?? ''),
    ip: input.ip,
    helo: input.helo,
    comment: String(spfResult?.status?.comment ?? ''),
  };
  const summary =
    `spf=${spfOut.result} (${input.ip}) dkim=${dkimWord} dmarc=${dmarc.result}` +
    (dmarc.domain ? ` (${dmarc.domain} p=${dmarc.policy}${overriddenByArc ? ', overridden by trusted ARC' : ''})` : '') +
    ` arc=${arcWord}${sealer ? ` (${sealer}${trusted ? ', trusted' : ''})` : ''}`;

  return {
    spf: spfOut,
    dkim: { result: dkimWord, signatures },
    dmarc,
    arc: { result: arcWord, instance: Number(arcResult.i || 0), sealer, trusted, upstream },
    headerFrom,
    header,
    authResultsValue: arValue,
    summary,
  };
}

// mailauth's info strings come from message content (domains, selectors): keep them on one line.
function clean(s: string): string {
  return s.replace(/[\r\n]+[ \t]*/g, ' ');
}

export type SealOutcome = { kind: 'sealed'; headers: string } | { kind: 'not-sealed'; reason: string };

/**
 * Adds an ARC set (RFC 8617) over the message as it leaves us, changes included, carrying our
 * authentication results, so a receiver that trusts our d= can use our verdict after we modified
 * the message (EXO: Set-ArcConfig -ArcTrustedSealers). Returns the three fields to prepend.
 */
export async function sealArc(message: Buffer, key: ArcSealKey, auth: Pick<AuthResults, 'arc' | 'authResultsValue'>, now: Date = new Date()): Promise<SealOutcome> {
  // a chain that already failed must not be extended as if it were fine (RFC 8617 5.1.2)
  if (auth.arc.result !== 'none' && auth.arc.result !== 'pass' && auth.arc.result !== 'fail') return { kind: 'not-sealed', reason: `ARC chain is ${auth.arc.result}` };
  const made = await createArcSeal(message, {
    seal: { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKeyPem, cv: auth.arc.result, authResults: auth.authResultsValue, signTime: now },
  });
  if (!made.headers?.length) return { kind: 'not-sealed', reason: made.errors?.map((e) => e.err?.message ?? 'unknown').join('; ') || 'no ARC set was created' };
  return { kind: 'sealed', headers: made.headers.join('\r\n') + '\r\n' };
}

/** The authserv-id of an Authentication-Results value: the first token, comments skipped (RFC 8601 2.2). */
export function authservIdOf(value: string): string {
  let v = value.trim();
  // leading CFWS comments
  while (v.startsWith('(')) {
    const close = v.indexOf(')');
    if (close < 0) return '';
    v = v.slice(close + 1).trim();
  }
  const m = /^("([^"\\]|\\.)*"|[^\s;()]+)/.exec(v);
  if (!m) return '';
  return m[1]!.replace(/^"|"$/g, '').toLowerCase();
}

/**
 * Our header on top, every Authentication-Results that claims our authserv-id removed: an earlier
 * copy, or one a sender forged to look verified (RFC 8601 5). Other ids are left for the reader.
 */
export function stampAuthResults(message: Buffer, header: string, authservId: string, extra = ''): Buffer {
  const ours = authservId.toLowerCase();
  const split = splitHeaders(message);
  return rebuild(split, extra + header, (f) => f.name.toLowerCase() === 'authentication-results' && authservIdOf(f.raw.toString('latin1').slice(f.raw.indexOf(0x3a) + 1)) === ours);
}
