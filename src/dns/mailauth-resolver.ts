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

export function toMailauthResolver(resolver: Resolver): MailauthResolver {
  return async (name, rrtype) => {
    const type = String(rrtype).toUpperCase();
    if (!SUPPORTED.has(type)) throw new DnsLookupError('ENOTIMP', name, type);
    // checked before any packet is built: a name the wire cannot carry is the policy's fault
    const problem = nameProblem(name);
    if (problem) throw new DnsLookupError('EBADNAME', name, type, problem);
    const result: DnsResult = await resolver.query(name, type as RecordType);
    switch (result.status) {
      case 'ok':
        return result.answers as unknown[];
      case 'nxdomain':
        throw new DnsLookupError('ENOTFOUND', name, type);
      case 'nodata':
        throw new DnsLookupError('ENODATA', name, type);
      case 'timeout':
        throw new DnsLookupError('ETIMEOUT', name, type, result.message);
      case 'refused':
        throw new DnsLookupError('EREFUSED', name, type, result.message);
      case 'servfail':
        throw new DnsLookupError('ESERVFAIL', name, type, result.message);
      case 'error':
        throw new DnsLookupError('ECONNREFUSED', name, type, result.message);
    }
  };
}
