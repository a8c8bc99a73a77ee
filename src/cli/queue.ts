// `mailflow queue list|retry|delete --config FILE [--role R] [--json]`: look into and act on role queues.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openSqliteQueue } from '../queue/sqlite-store.js';
import type { QueueFilter, RecipientStatus } from '../queue/types.js';
import { roleDataDir, roleNames } from '../roles/names.js';
import { formatReply } from '../smtp/replies.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';

interface QueueOpts {
  config: string;
  role?: string[];
  json?: boolean;
  status?: string;
  recipient?: string;
  sender?: string;
  queueId?: string;
  all?: boolean;
}

const STATUSES: RecipientStatus[] = ['queued', 'delivered', 'deferred', 'bounced', 'expired', 'held'];

function withQueues<T>(opts: QueueOpts, fn: (role: string, q: ReturnType<typeof openSqliteQueue>) => T): { role: string; result: T }[] {
  const { config, baseDir } = loadConfigOrExit(opts.config);
  const known = roleNames(config);
  const roles = opts.role ?? known;
  for (const r of roles) if (!known.includes(r)) throw new CliExit(2, `unknown role "${r}" (known: ${known.join(', ')})`);
  const out: { role: string; result: T }[] = [];
  for (const role of roles) {
    const dir = join(roleDataDir(config, baseDir, role), 'queue');
    if (!existsSync(dir)) continue;
    const q = openSqliteQueue({ dir });
    try {
      out.push({ role, result: fn(role, q) });
    } finally {
      q.close();
    }
  }
  return out;
}

function filterOf(opts: QueueOpts, dflt: RecipientStatus[]): QueueFilter {
  let status = dflt;
  if (opts.status) {
    status = opts.status.split(',') as RecipientStatus[];
    for (const s of status) if (!STATUSES.includes(s)) throw new CliExit(2, `--status: "${s}" is not one of ${STATUSES.join(', ')}`);
  } else if (opts.all) status = STATUSES;
  return { status, recipient: opts.recipient?.toLowerCase(), sender: opts.sender?.toLowerCase(), queueId: opts.queueId };
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--config <file>', 'topology file')
    .option('--role <name...>', 'only these roles')
    .option('--status <list>', `comma-separated: ${STATUSES.join(', ')}`)
    .option('--recipient <address>')
    .option('--sender <address>')
    .option('--queue-id <id>')
    .option('--json', 'print JSON');
}

export function register(program: Command): void {
  const queue = program.command('queue').description('list, retry or delete queued recipients of each role');
  common(queue.command('list').description('recipients waiting in the queues (add --all for delivered/bounced history)'))
    .option('--all', 'include final rows (delivered, bounced, expired)')
    .action((opts: QueueOpts) =>
      runCommand(() => {
        const rows = withQueues(opts, (role, q) => q.list(filterOf(opts, ['queued', 'deferred', 'held'])).map((r) => ({ role, ...r })));
        const flat = rows.flatMap((r) => r.result);
        if (opts.json) return printJson({ rows: flat.map((r) => ({ role: r.role, queueId: r.queueId, messageId: r.message.messageId, sender: r.message.sender, recipient: r.recipient, status: r.status, attempts: r.attempts, nextAttemptAt: new Date(r.nextAttemptAt).toISOString(), lastReply: r.lastReply ? formatReply(r.lastReply) : null, size: r.message.size })) });
        if (!flat.length) return void process.stdout.write('queues are empty\n');
        for (const r of flat) {
          process.stdout.write(`${r.role.padEnd(8)} ${r.queueId}  ${r.status.padEnd(9)} attempts=${r.attempts}  <${r.message.sender}> → ${r.recipient}  next ${new Date(r.nextAttemptAt).toISOString()}${r.lastReply ? `  last: ${formatReply(r.lastReply)}` : ''}\n`);
        }
      }),
    );
  common(queue.command('retry').description('make deferred recipients due now (a running role picks them up)')).action((opts: QueueOpts) =>
    runCommand(() => {
      const res = withQueues(opts, (_role, q) => q.retryNow(filterOf(opts, ['deferred']), Date.now()));
      const total = res.reduce((n, r) => n + r.result, 0);
      if (opts.json) printJson({ retried: total, byRole: Object.fromEntries(res.map((r) => [r.role, r.result])) });
      else process.stdout.write(`${total} recipient(s) due now\n`);
    }),
  );
  common(queue.command('delete').description('remove recipients from the queues (no DSN is sent)')).action((opts: QueueOpts) =>
    runCommand(() => {
      if (!opts.queueId && !opts.recipient && !opts.sender && !opts.status) throw new CliExit(2, 'queue delete needs a filter: --queue-id, --recipient, --sender or --status');
      const res = withQueues(opts, (_role, q) => q.delete(filterOf(opts, ['queued', 'deferred', 'held'])));
      const total = res.reduce((n, r) => n + r.result, 0);
      if (opts.json) printJson({ deleted: total, byRole: Object.fromEntries(res.map((r) => [r.role, r.result])) });
      else process.stdout.write(`${total} recipient(s) deleted\n`);
    }),
  );
}
