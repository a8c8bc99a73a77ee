// Trace events wait and go to the database together. A relay records a few events per message; one
// transaction per 50 ms holds every message's events of that time. An event after a quiet spell (no
// insert for FLUSH_MS) is inserted at the end of its turn, so other readers (the CLI, the demo) see a
// lone message's events at once; any later one waits for FLUSH_MS after the last insert. (Inserting
// at the end of every turn while fewer than 8 events came per insert put a 6-7 page commit after each
// reply at one session, before the client's next command was read; bench/README.md, change 20.) A
// process crash can lose the last 50 ms of trace, never mail (the queue is durable).
import type { TraceEvent } from './types.js';

const FLUSH_MS = 50;
const MAX_PENDING = 500;

/** Collects recorded events and hands them to `write` in batches, by the rule above. */
export class EventBatcher {
  private pending: TraceEvent[] = [];
  private scheduled: NodeJS.Timeout | null = null;
  private lastFlush = 0;

  constructor(private readonly write: (events: TraceEvent[]) => void) {}

  add(event: TraceEvent): void {
    // a copy: the caller may reuse or mutate its object after recording it
    this.pending.push({ ...event, ...(event.data ? { data: { ...event.data } } : {}) });
    if (this.pending.length >= MAX_PENDING) this.flush();
    // FLUSH_MS after the last batch, or at the end of this turn if that is already past
    else this.scheduled ??= setTimeout(() => this.flush(), Math.max(0, this.lastFlush + FLUSH_MS - Date.now()));
  }

  /** Hands over what is pending now (queries and close() call it to read their own writes). */
  flush(): void {
    if (this.scheduled) clearTimeout(this.scheduled);
    this.scheduled = null;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.lastFlush = Date.now();
    this.write(events);
  }
}
