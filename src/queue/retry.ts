// The retry decision after a temporary failure: pure, so the schedule and expiry can be tested with
// plain numbers. The schedule comes from config.queue.retry (already parsed into milliseconds).

export interface RetryInput {
  /** Delays in ms: schedule[0] follows the first failure, schedule[1] the second, ... */
  schedule: readonly number[];
  /** Attempts made so far, counting the failure being handled (1 after the first failure). */
  attempts: number;
  queuedAt: number;
  now: number;
  /** Queue lifetime (config.queue.expire, or expireBounces for null-sender mail). */
  expireMs: number;
}

export type RetryStep = { kind: 'retry'; at: number } | { kind: 'expire' };

export function nextStep(input: RetryInput): RetryStep {
  const { schedule, attempts, queuedAt, now, expireMs } = input;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  // The schedule is used up: every planned retry has been made.
  if (attempts > schedule.length) return { kind: 'expire' };
  const at = now + schedule[attempts - 1]!;
  // An attempt after the lifetime would deliver mail the sender has already been told is lost.
  if (at > queuedAt + expireMs) return { kind: 'expire' };
  return { kind: 'retry', at };
}

/** Lifetime for a message: null-sender mail (DSNs) has its own, usually shorter, lifetime. */
export function lifetimeFor(sender: string, expireMs: number, expireBouncesMs: number): number {
  return sender === '' ? expireBouncesMs : expireMs;
}
