// Connections kept open per next-hop target, so the roles talk over warm sessions instead of paying
// connect + greeting + EHLO + STARTTLS per message (performance-notes.md: per-connection work is most
// of the CPU). At most `maxPerKey` connections per target exist at once, busy or idle; a send beyond
// that waits in FIFO order for one to come back. Waiting (rather than opening extras) bounds what we
// do to the receiving server, like Postfix's per-destination concurrency limit.
//
// The pool only counts and parks connections; it never talks SMTP. The caller proves an idle
// connection alive (RSET) when it takes it, and says on release whether it may be kept.

export interface Poolable {
  readonly closed: boolean;
  readonly broken: boolean;
  /** Set by the pool while the connection is idle; the connection calls it once when it ends. */
  onClose: (() => void) | null;
  quit(): void;
}

/** `conn` is an idle connection to reuse, or null: the caller holds a slot and opens a new one. */
export type Lease<C> = { kind: 'reuse'; conn: C } | { kind: 'open' } | { kind: 'closed' };

interface Idle<C> {
  conn: C;
  timer: NodeJS.Timeout;
}

interface Bucket<C> {
  idle: Idle<C>[];
  /** Connections in use plus idle ones plus slots being opened. */
  open: number;
  waiters: ((lease: Lease<C>) => void)[];
}

export interface PoolStats {
  open: number;
  idle: number;
  waiting: number;
}

export class ConnectionPool<C extends Poolable> {
  private buckets = new Map<string, Bucket<C>>();
  private closing = false;

  constructor(
    private readonly maxPerKey: number,
    private readonly idleMs: number,
  ) {
    if (!Number.isInteger(maxPerKey) || maxPerKey < 1) throw new RangeError(`maxPerHost must be a positive integer, got ${maxPerKey}`);
    if (!(idleMs >= 0)) throw new RangeError(`idleMs must be >= 0, got ${idleMs}`);
  }

  acquire(key: string): Promise<Lease<C>> {
    if (this.closing) return Promise.resolve({ kind: 'closed' });
    const b = this.bucket(key);
    const idle = b.idle.pop(); // most recently used first: keeps few connections warm, lets the rest time out
    if (idle) {
      clearTimeout(idle.timer);
      idle.conn.onClose = null;
      return Promise.resolve({ kind: 'reuse', conn: idle.conn });
    }
    if (b.open < this.maxPerKey) {
      b.open++;
      return Promise.resolve({ kind: 'open' });
    }
    return new Promise((resolve) => b.waiters.push(resolve));
  }

  /** Give back what `acquire` handed out. `conn` is null when opening a connection failed. */
  release(key: string, conn: C | null, reusable: boolean): void {
    const b = this.bucket(key);
    if (conn && reusable && !conn.closed && !conn.broken && !this.closing) {
      const waiter = b.waiters.shift();
      if (waiter) return waiter({ kind: 'reuse', conn });
      if (this.idleMs === 0) {
        conn.quit();
        return this.freeSlot(key, b);
      }
      const entry: Idle<C> = {
        conn,
        timer: setTimeout(() => this.dropIdle(key, b, entry, true), this.idleMs),
      };
      entry.timer.unref();
      conn.onClose = () => this.dropIdle(key, b, entry, false);
      b.idle.push(entry);
      return;
    }
    if (conn && !conn.closed) conn.quit();
    this.freeSlot(key, b);
  }

  stats(key: string): PoolStats {
    const b = this.buckets.get(key);
    return { open: b?.open ?? 0, idle: b?.idle.length ?? 0, waiting: b?.waiters.length ?? 0 };
  }

  /** Quit idle connections; connections in use are quit when released; waiters get `closed`. */
  close(): C[] {
    this.closing = true;
    const quitting: C[] = [];
    for (const b of this.buckets.values()) {
      for (const w of b.waiters.splice(0)) w({ kind: 'closed' });
      for (const idle of b.idle.splice(0)) {
        clearTimeout(idle.timer);
        idle.conn.onClose = null;
        b.open--;
        quitting.push(idle.conn);
        idle.conn.quit();
      }
    }
    return quitting;
  }

  private dropIdle(key: string, b: Bucket<C>, entry: Idle<C>, quit: boolean): void {
    const i = b.idle.indexOf(entry);
    if (i < 0) return;
    b.idle.splice(i, 1);
    clearTimeout(entry.timer);
    entry.conn.onClose = null;
    if (quit) entry.conn.quit();
    this.freeSlot(key, b);
  }

  private freeSlot(key: string, b: Bucket<C>): void {
    const waiter = b.waiters.shift();
    if (waiter) return waiter({ kind: 'open' }); // the slot passes to the waiter, `open` unchanged
    b.open--;
    if (b.open === 0 && b.idle.length === 0) this.buckets.delete(key);
  }

  private bucket(key: string): Bucket<C> {
    let b = this.buckets.get(key);
    if (!b) {
      b = { idle: [], open: 0, waiters: [] };
      this.buckets.set(key, b);
    }
    return b;
  }
}
