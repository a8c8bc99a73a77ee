// Recipients of one message that go to the same next hop travel in one SMTP transaction.
import type { Config } from '../config/schema.js';
import type { Job } from '../queue/types.js';
import { decideAt } from '../routing/decide.js';
import { domainOf } from '../routing/domains.js';

export function routeKey(config: Config, role: string, job: Job): string {
  const d = decideAt(config, role, {
    sender: job.message.sender,
    recipient: job.row.recipient,
    arrivedFrom: job.message.meta.arrivedFrom as string | undefined,
  });
  const a = d.action;
  switch (a.kind) {
    case 'relay':
      return `relay:${a.targets.map((t) => `${t.host}:${t.port}`).join(',')}:${a.tls}`;
    case 'internet':
      return `mx:${domainOf(job.row.recipient)}`;
    default:
      // Mailbox deliveries and rejections are per recipient.
      return `one:${job.row.id}`;
  }
}

export function groupJobs(config: Config, role: string, jobs: Job[]): Job[][] {
  const groups = new Map<string, Job[]>();
  for (const j of jobs) {
    const key = `${j.message.queueId}|${routeKey(config, role, j)}`;
    const g = groups.get(key);
    if (g) g.push(j);
    else groups.set(key, [j]);
  }
  return [...groups.values()];
}
