// Our Resolver behind the `resolver(name, rrtype)` function mailauth calls, which expects the
// semantics of node's dns.promises.resolve: arrays on success, errors with c-ares codes otherwise.
// mailauth's SPF limiter (lib/spf/index.js, limitedResolver) reads the codes:
//   ENOTFOUND, ENODATA → a void lookup (counted; empty list);  EBADNAME → permerror "invalid domain";
//   ETIMEOUT, EREFUSED and anything else (ESERVFAIL, ...) → temperror.
import type { DnsResult, RecordType, Resolver } from './types.js';
import { nameProblem } from './wire.js';

export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown[]>;

export class DnsLookupError extends Error {
  constructor(
    readonly code: string,
    readonly hostname: string,
    rrtype: string,
    detail?: string,
  ) {
    super(`query${rrtype} ${code} ${hostname}${detail ? `: ${detail}` : ''}`);
  }
}

const SUPPORTED = new Set<string>(['A', 'AAAA', 'MX', 'TXT', 'SPF', 'PTR', 'CNAME', 'NS', 'SOA']);

/**
 * A lookup error without a stack trace. NXDOMAIN and NODATA are ordinary answers (DMARC asks for the
 * public suffix's `_dmarc` record on every message, SPF for void lookups), mailauth only reads the
 * code, and capturing a stack per answer was the costliest single function of the filter thread
 * (bench/profile.mjs).
 */
function lookupError(code: string, name: string, type: string, detail?: string): DnsLookupError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DnsLookupError(code, name, type, detail);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function toMailauthResolver(resolver: Resolver): MailauthResolver {
  return async (name, rrtype) => {
    const type = String(rrtype).toUpperCase();
    if (!SUPPORTED.has(type)) throw lookupError('ENOTIMP', name, type);
    // checked before any packet is built: a name the wire cannot carry is the policy's fault
    const problem = nameProblem(name);
    if (problem) throw lookupError('EBADNAME', name, type, problem);
    const result: DnsResult = await resolver.query(name, type as RecordType);
    switch (result.status) {
      case 'ok':
        return result.answers as unknown[];
      case 'nxdomain':
        throw lookupError('ENOTFOUND', name, type);
      case 'nodata':
        throw lookupError('ENODATA', name, type);
      case 'timeout':
        throw lookupError('ETIMEOUT', name, type, result.message);
      case 'refused':
        throw lookupError('EREFUSED', name, type, result.message);
      case 'servfail':
        throw lookupError('ESERVFAIL', name, type, result.message);
      case 'error':
        throw lookupError('ECONNREFUSED', name, type, result.message);
    }
  };
}
