// One message's path across roles: each role keeps its own trace store, so `mailflow trace` asks each
// and merges the answers in time order. Events with the same timestamp keep the order of `stores`
// (pass them in flow order: gateway, hub, on-prem) and, within a store, their insertion order.
import type { TraceEvent, TraceQuery, TraceStore } from './types.js';

export function mergeTraces(stores: readonly TraceStore[], q: TraceQuery): TraceEvent[] {
  const lists = stores.map((s) => s.query(q));
  const merged = mergeSorted(lists);
  return q.limit !== undefined ? merged.slice(0, q.limit) : merged;
}

/**
 * Within one millisecond a role's SEND and the next role's RECEIVE can share a timestamp (pooled
 * connections on loopback): at equal times, what a sender records goes before what a receiver records.
 */
const SENDER_SIDE = new Set(['SEND', 'DEFER', 'FAIL', 'DSN']);
const rank = (e: TraceEvent) => (SENDER_SIDE.has(e.type) ? 0 : 1);

/** k-way merge of lists that are each sorted by `at`; stable within each list. */
export function mergeSorted(lists: readonly TraceEvent[][]): TraceEvent[] {
  const pos = lists.map(() => 0);
  const out: TraceEvent[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i]![pos[i]!];
      if (!e) continue;
      const b = best < 0 ? undefined : lists[best]![pos[best]!]!;
      if (!b || e.at < b.at || (e.at === b.at && rank(e) < rank(b))) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![pos[best]!++]!);
  }
}
