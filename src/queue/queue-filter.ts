// QueueFilter → SQL WHERE clause over `recipients r JOIN messages m`. Parameters are bound, never spliced.
import type { QueueFilter, RecipientStatus } from './types.js';

const STATUSES: readonly RecipientStatus[] = ['queued', 'delivered', 'deferred', 'bounced', 'expired', 'held'];

export interface FilterSql {
  where: string;
  params: (string | number)[];
}

export function filterSql(f: QueueFilter = {}, extra: string[] = []): FilterSql {
  const clauses = [...extra];
  const params: (string | number)[] = [];
  if (f.status && f.status.length > 0) {
    for (const s of f.status) if (!STATUSES.includes(s)) throw new RangeError(`unknown recipient status ${JSON.stringify(s)}`);
    clauses.push(`r.status IN (${f.status.map(() => '?').join(',')})`);
    params.push(...f.status);
  }
  if (f.recipient !== undefined) {
    clauses.push('r.recipient = ? COLLATE NOCASE');
    params.push(f.recipient);
  }
  if (f.sender !== undefined) {
    clauses.push('m.sender = ? COLLATE NOCASE');
    params.push(f.sender);
  }
  if (f.queueId !== undefined) {
    clauses.push('r.queue_id = ?');
    params.push(f.queueId);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** The LIMIT to bind (`LIMIT ?`): the filter's, else `dflt`; -1 means none (SQLite reads it so). */
export function limitValue(f: QueueFilter | undefined, dflt: number | null): number {
  const n = f?.limit ?? dflt;
  if (n === null) return -1;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`limit must be a non-negative integer, got ${n}`);
  return n;
}
