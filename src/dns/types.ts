// The one DNS interface every subsystem uses. Decision code receives a Resolver; tests hand it one
// pointed at a loopback server (integration) or a declarative zone (unit).

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'SPF' | 'PTR' | 'CNAME' | 'NS' | 'SOA';

export interface MxRecord {
  priority: number;
  exchange: string;
}

/** Answers by type. TXT answers keep each record's character-strings separate (RFC 7208 joins them). */
export interface AnswerByType {
  A: string[];
  AAAA: string[];
  MX: MxRecord[];
  TXT: string[][];
  SPF: string[][];
  PTR: string[];
  CNAME: string[];
  NS: string[];
  SOA: unknown[];
}

/**
 * Outcome of one query. `nxdomain` and `nodata` are both "void" answers in SPF terms; `timeout`,
 * `servfail` and `error` are temporary failures.
 */
export type DnsResult<T extends RecordType = RecordType> =
  | { status: 'ok'; answers: AnswerByType[T]; truncatedUdp?: boolean }
  | { status: 'nxdomain' | 'nodata' }
  | { status: 'timeout' | 'servfail' | 'refused' | 'error'; message: string };

export interface Resolver {
  query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>>;
  /**
   * Until when (epoch ms) a cached resolver keeps serving the answer it holds for this question;
   * undefined when it holds none (not asked, not cacheable, or no cache). A result computed only
   * from cached answers can live as long as the earliest of them (src/filter/dns-memo.ts).
   */
  cachedUntil?(name: string, type: RecordType): number | undefined;
}
