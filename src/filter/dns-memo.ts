// Results of DNS-driven checks (SPF, DMARC) remembered for as long as the DNS answers they were
// computed from stay cached. Both are pure functions of their inputs and of DNS (RFC 7208 §4,
// RFC 7489 §6.6): while the resolver would hand every lookup the same answer, evaluating again can
// only give the same result, so a busy sender's next message skips the evaluation (SPF was about a
// sixth of the filter's CPU per message, DMARC a third of it at one session: bench/profile.mjs,
// bench/README.md). The memo is never staler than the DNS cache: an entry lives until the earliest
// expiry among the answers its evaluation consulted, and an evaluation that consulted an uncached
// answer (a temporary failure, a resolver without a cache) or none at all is not remembered.
import type { DnsResult, RecordType, Resolver } from '../dns/types.js';

/** More remembered results than this and the memo starts over (a bound, not an LRU). */
const MAX_ENTRIES = 10_000;

export interface DnsMemo<R> {
  /**
   * The remembered result for `key`, or `evaluate` run on a resolver that records what it asks.
   * `key` must hold every input of the evaluation other than DNS.
   */
  check(key: string, evaluate: (resolver: Resolver) => Promise<R>): Promise<R>;
  readonly size: number;
}

export function createDnsMemo<R>(resolver: Resolver, opts: { now?: () => number; maxEntries?: number } = {}): DnsMemo<R> {
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
      const hit = entries.get(key);
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
        entries.set(key, { until, result });
      } else entries.delete(key);
      return result;
    },
  };
}

export interface SpfKey {
  ip: string;
  sender: string;
  helo: string;
  authservId: string;
}

/** The exact strings: the result's Received-SPF header repeats them as given. */
export const spfKey = (k: SpfKey): string => `${k.ip}\n${k.sender}\n${k.helo}\n${k.authservId}`;

export type MemoKind = 'spf' | 'dmarc';
const memos = new WeakMap<Resolver, Map<MemoKind, DnsMemo<unknown>>>();

/** One resolver's memo of one kind of check (its cache is what the memo's entries depend on). */
export function memoFor<R>(resolver: Resolver, kind: MemoKind): DnsMemo<R> {
  let byKind = memos.get(resolver);
  if (!byKind) memos.set(resolver, (byKind = new Map()));
  let memo = byKind.get(kind);
  if (!memo) byKind.set(kind, (memo = createDnsMemo<unknown>(resolver)));
  return memo as DnsMemo<R>;
}
