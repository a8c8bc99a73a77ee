// Delivery workers: lease due recipients, ask routing for the next hop, deliver, record the outcome.
// Anything not confirmed final stays in the queue: a crash between send and mark means a duplicate,
// never a loss.
import type { Job, QueueStore } from '../queue/types.js';
import type { Logger } from 'pino';
import { deliverGroup, type DeliveryDeps } from './deliver.js';
import { groupJobs, type JobGroup } from './group.js';

/** How long a claimed row is ours; the queue's handoff leases fresh rows for the same time. */
export const DEFAULT_LEASE_MS = 10 * 60_000;

export interface WorkerOptions extends DeliveryDeps {
  queue: QueueStore;
  concurrency: number;
  /** How long a claimed row stays ours before another worker may take it. */
  leaseMs?: number;
  /** Longest sleep between queue scans (deferred rows come due on their own schedule). */
  maxIdleMs?: number;
  logger?: Logger;
}

export interface DeliveryWorker {
  /** Look at the queue now (called after an enqueue). */
  kick(): void;
  /** Finish deliveries in flight (bounded by graceMs), then stop. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when nothing is in flight and nothing is due (tests and the demo). */
  idle(): Promise<void>;
}

export function startDeliveryWorker(opts: WorkerOptions): DeliveryWorker {
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const maxIdleMs = opts.maxIdleMs ?? 1000;
  let inFlight = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let scanning = false;
  let rescan = false;
  const idleWaiters: (() => void)[] = [];

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(scan, Math.max(0, ms));
    timer.unref();
  };

  const settleIdle = () => {
    if (inFlight > 0) return;
    const next = opts.queue.nextDueAt();
    if (next !== null && next <= opts.clock()) return;
    for (const w of idleWaiters.splice(0)) w();
  };

  async function run(group: JobGroup) {
    inFlight++;
    try {
      await deliverGroup(opts, group.jobs, group.decision);
    } catch (err) {
      // A bug, not a remote failure: leave the rows leased; they come back when the lease ends.
      opts.logger?.error({ err, queueId: group.jobs[0]?.message.queueId }, 'delivery failed unexpectedly');
    } finally {
      inFlight--;
      kick();
    }
  }

  function scan() {
    if (stopped) return;
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = true;
    try {
      const free = opts.concurrency - inFlight;
      if (free > 0) {
        const now = opts.clock();
        // Claim no more rows than free slots: every claimed group starts now, and `concurrency` holds.
        const jobs = opts.queue.claimDue(now, free, leaseMs);
        for (const group of groupJobs(opts.config, opts.role, jobs)) void run(group);
      }
      const next = opts.queue.nextDueAt();
      const now = opts.clock();
      schedule(next === null ? maxIdleMs : Math.min(maxIdleMs, Math.max(0, next - now)));
      settleIdle();
    } finally {
      scanning = false;
      if (rescan) {
        rescan = false;
        schedule(0);
      }
    }
  }

  function kick() {
    schedule(0);
  }

  schedule(0);
  return {
    kick,
    async stop(graceMs = 10_000) {
      stopped = true;
      if (timer) clearTimeout(timer);
      const until = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },
  };
}
