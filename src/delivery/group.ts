// Recipients of one message that go to the same next hop travel in one SMTP transaction. The routing
// decision made here travels with the group, so delivery does not decide a second time.
import type { Config } from '../config/schema.js';
import type { Job } from '../queue/types.js';
import { decideAt, type RouteDecision } from '../routing/decide.js';
import { domainOf } from '../routing/domains.js';

export interface JobGroup {
  jobs: Job[];
  /** The decision for the group's first recipient; every member shares its next hop. */
  decision: RouteDecision;
}

export function routeKey(decision: RouteDecision, job: Job): string {
  const a = decision.action;
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

export function groupJobs(config: Config, role: string, jobs: Job[]): JobGroup[] {
  const groups = new Map<string, JobGroup>();
  for (const j of jobs) {
    const decision = decideAt(config, role, {
      sender: j.message.sender,
      recipient: j.row.recipient,
      arrivedFrom: j.message.meta.arrivedFrom as string | undefined,
    });
    const key = `${j.message.queueId}|${routeKey(decision, j)}`;
    const g = groups.get(key);
    if (g) g.jobs.push(j);
    else groups.set(key, { jobs: [j], decision });
  }
  return [...groups.values()];
}
