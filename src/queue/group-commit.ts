// Group commit: callers that arrive while a commit is running wait and go together in the next one,
// so N concurrent enqueues cost one round of fsyncs instead of N. Every caller's promise settles only
// with its own batch: resolved after that batch's commit succeeded, rejected if it failed.

export interface GroupCommitStats {
  /** Batches committed (successful or not). */
  batches: number;
  /** Items in those batches. */
  items: number;
  /** Largest batch so far. */
  largest: number;
}

export interface GroupCommitter<T, R> {
  submit(item: T): Promise<R>;
  /** Resolves when nothing is waiting or committing. */
  idle(): Promise<void>;
  readonly stats: Readonly<GroupCommitStats>;
}

interface Waiter<T, R> {
  item: T;
  resolve(r: R): void;
  reject(err: unknown): void;
}

/**
 * `commit` receives a batch and returns one result per item, in order. `maxBatch` bounds memory and the
 * size of one transaction; a larger backlog simply goes in the following batches.
 */
export function createGroupCommitter<T, R>(commit: (batch: T[]) => Promise<R[]>, maxBatch = 1000): GroupCommitter<T, R> {
  let waiting: Waiter<T, R>[] = [];
  let running: Promise<void> | null = null;
  const stats: GroupCommitStats = { batches: 0, items: 0, largest: 0 };

  async function run(): Promise<void> {
    // One microtask turn lets callers in the same synchronous run join the first batch.
    await Promise.resolve();
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      stats.batches++;
      stats.items += batch.length;
      stats.largest = Math.max(stats.largest, batch.length);
      try {
        const results = await commit(batch.map((w) => w.item));
        if (results.length !== batch.length) throw new Error(`group commit returned ${results.length} results for ${batch.length} items`);
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    running = null;
  }

  return {
    submit(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        running ??= run();
      });
    },
    async idle(): Promise<void> {
      while (running) await running;
    },
    stats,
  };
}
