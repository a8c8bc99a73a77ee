// One message's path across roles: each role keeps its own trace store, so `mailflow trace` asks each
// and merges the answers in time order. Events with the same timestamp keep the order of `stores`
// (pass them in flow order: gateway, hub, on-prem) and, within a store, their insertion order.
import type { TraceEvent, TraceQuery, TraceStore } from './types.js';

export function mergeTraces(stores: readonly TraceStore[], q: TraceQuery): TraceEvent[] {
  const lists = stores.map((s) => s.query(q));
  const merged = mergeSorted(lists);
  return q.limit !== undefined ? merged.slice(0, q.limit) : merged;
}

/** k-way merge of lists that are each sorted by `at`; stable across lists and within each. */
export function mergeSorted(lists: readonly TraceEvent[][]): TraceEvent[] {
  const pos = lists.map(() => 0);
  const out: TraceEvent[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i]![pos[i]!];
      if (e && (best < 0 || e.at < lists[best]![pos[best]!]!.at)) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![pos[best]!++]!);
  }
}
