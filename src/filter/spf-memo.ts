// SPF results remembered per (client IP, MAIL FROM, HELO, authserv-id) for as long as the DNS
// answers they were computed from stay cached. An SPF check is a pure function of those four and
// of DNS (RFC 7208 §4), so while the resolver would hand every lookup the same answer, evaluating
// again can only give the same result: a busy sender's next message skips the evaluation (about a
// sixth of the filter's CPU per message, bench/profile.mjs). The memo is never staler than the DNS
// cache: an entry lives until the earliest expiry among the answers its evaluation consulted, and
// an evaluation that consulted an uncached answer (a temporary failure, a resolver without a cache)
// or none at all is not remembered.
import type { DnsResult, RecordType, Resolver } from '../dns/types.js';

/** More remembered results than this and the memo starts over (a bound, not an LRU). */
const MAX_ENTRIES = 10_000;

export interface SpfKey {
  ip: string;
  sender: string;
  helo: string;
  authservId: string;
}

export interface SpfMemo<R> {
  /** The remembered result for `key`, or `evaluate` run on a resolver that records what it asks. */
  check(key: SpfKey, evaluate: (resolver: Resolver) => Promise<R>): Promise<R>;
  readonly size: number;
}

export function createSpfMemo<R>(resolver: Resolver, opts: { now?: () => number; maxEntries?: number } = {}): SpfMemo<R> {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
  const entries = new Map<string, { until: number; result: R }>();
  const cachedUntil = resolver.cachedUntil?.bind(resolver);
  return {
    get size() {
      return entries.size;
    },
    async check(key, evaluate) {
      // without expiry information nothing can be remembered safely
      if (!cachedUntil) return evaluate(resolver);
      // exact strings: the result's Received-SPF header repeats them as given
      const k = `${key.ip}\n${key.sender}\n${key.helo}\n${key.authservId}`;
      const hit = entries.get(k);
      if (hit && hit.until > now()) return hit.result;
      const asked: Array<[string, RecordType]> = [];
      const recording: Resolver = {
        query<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
          asked.push([name, type]);
          return resolver.query(name, type);
        },
      };
      const result = await evaluate(recording);
      let until = Infinity;
      for (const [name, type] of asked) until = Math.min(until, cachedUntil(name, type) ?? -Infinity);
      if (asked.length > 0 && until > now()) {
        if (entries.size >= maxEntries) entries.clear();
        entries.set(k, { until, result });
      } else entries.delete(k);
      return result;
    },
  };
}

const memos = new WeakMap<Resolver, SpfMemo<unknown>>();

/** The memo of one resolver (its cache is what the memo's entries depend on). */
export function spfMemoFor<R>(resolver: Resolver): SpfMemo<R> {
  let memo = memos.get(resolver);
  if (!memo) memos.set(resolver, (memo = createSpfMemo<unknown>(resolver)));
  return memo as SpfMemo<R>;
}
