// SPF check_host() (RFC 7208) for one connection: mailauth's evaluator on our resolver.
// mailauth runs in its strict mode, which follows RFC 7208 to the letter (whole-record syntax
// check before evaluation, void lookups counted per 4.6.4, c/r/t macros only in explanations);
// its default mode is lenient about broken records, which is right for scoring mail but not for
// telling a domain owner what receivers will conclude.
import { hostname } from 'node:os';
import { spf, type SPFOptions } from 'mailauth/lib/spf/index.js';
import { toMailauthResolver } from '../dns/mailauth-resolver.js';
import type { Resolver } from '../dns/types.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfCheckInput {
  ip: string;
  /** MAIL FROM address; empty for the null reverse-path, then the HELO identity is checked. */
  sender: string;
  helo: string;
  resolver: Resolver;
  /** Explanation for a `fail` whose record gives no usable exp= (RFC 7208 6.2). */
  defaultExplanation?: string;
  /** Our own host name, the %{r} macro (default: the OS host name). */
  receiverHost?: string;
  /** Whole-evaluation time limit, temperror when exceeded (RFC 7208 4.6.4 suggests ≥ 20 s). */
  maxElapsedMs?: number;
}

export interface SpfCheck {
  result: SpfResult;
  /** Only for `fail`: the domain's exp= text, else the default explanation. */
  explanation: string | null;
  /** The domain whose policy was evaluated (sender domain, or the HELO name for a null sender). */
  domain: string;
  /** DNS-querying terms counted against the limit of 10. */
  lookups: number;
  comment: string;
}

const RESULTS = new Set<SpfResult>(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror']);

export async function checkSpf(input: SpfCheckInput): Promise<SpfCheck> {
  const sender = input.sender.trim();
  const helo = input.helo.trim();
  if (!sender && !helo) {
    // nothing to check: neither identity was given (RFC 7208 2.3, 2.4)
    return { result: 'none', explanation: null, domain: '', lookups: 0, comment: 'no MAIL FROM and no HELO identity' };
  }

  const res = await spf({
    // the null reverse-path: mailauth then checks postmaster@<helo> (RFC 7208 2.4)
    sender: sender || undefined,
    ip: input.ip,
    helo,
    mta: input.receiverHost ?? hostname(),
    // mailauth's declared type omits MX objects, which it does accept (node's resolve shape)
    resolver: toMailauthResolver(input.resolver) as NonNullable<SPFOptions['resolver']>,
    strict: true,
    maxElapsedTime: input.maxElapsedMs ?? 20_000,
  });

  const raw = String(res.status?.result ?? 'temperror') as SpfResult;
  const result: SpfResult = RESULTS.has(raw) ? raw : 'temperror';
  const published = typeof res.explanation === 'string' && res.explanation ? res.explanation : null;
  return {
    result,
    explanation: result === 'fail' ? (published ?? input.defaultExplanation ?? null) : null,
    domain: res.domain ?? '',
    lookups: res.lookups?.count ?? 0,
    comment: String(res.status?.comment ?? ''),
  };
}
