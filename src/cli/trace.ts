// `mailflow trace --config FILE [--message-id ID | --sender A | --recipient A] [--json]`: one message's
// whole path across roles, merged from each role's own trace store, in time order.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { roleDataDir, roleNames } from '../roles/names.js';
import { formatTrace } from '../trace/format.js';
import { mergeTraces } from '../trace/merge.js';
import { openTraceStore } from '../trace/sqlite-trace.js';
import type { TraceEvent, TraceQuery } from '../trace/types.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';

/** Events from every role's store that match, in time order (used by the CLI and the demo). */
export function collectTrace(config: Config, baseDir: string, q: TraceQuery, extraDirs: { role: string; dir: string }[] = []): TraceEvent[] {
  const dirs = [...roleNames(config).map((role) => ({ role, dir: roleDataDir(config, baseDir, role) })), ...extraDirs];
  const stores = dirs.map(({ dir }) => join(dir, 'trace.db')).filter((file) => existsSync(file)).map((file) => openTraceStore({ file }));
  try {
    return mergeTraces(stores, q);
  } finally {
    for (const s of stores) s.close();
  }
}

export function register(program: Command): void {
  program
    .command('trace')
    .description("show a message's path across every role, in order")
    .requiredOption('--config <file>', 'topology file')
    .option('--message-id <id>', 'Message-ID (with or without <>)')
    .option('--sender <address>')
    .option('--recipient <address>')
    .option('--limit <n>', 'most events to show', '500')
    .option('--json', 'print JSON')
    .action((opts: { config: string; messageId?: string; sender?: string; recipient?: string; limit: string; json?: boolean }) =>
      runCommand(() => {
        if (!opts.messageId && !opts.sender && !opts.recipient) throw new CliExit(2, 'give --message-id, --sender or --recipient');
        const { config, baseDir } = loadConfigOrExit(opts.config);
        const q: TraceQuery = {
          messageId: opts.messageId?.replace(/^<|>$/g, ''),
          sender: opts.sender?.toLowerCase(),
          recipient: opts.recipient?.toLowerCase(),
          limit: Number(opts.limit) || 500,
        };
        let events = collectTrace(config, baseDir, q);
        // A sender/recipient search finds messages; show each of those messages' whole path.
        if (!q.messageId) {
          const ids = [...new Set(events.map((e) => e.messageId).filter(Boolean))];
          const whole = ids.flatMap((id) => collectTrace(config, baseDir, { messageId: id, limit: q.limit }));
          events = [...whole, ...events.filter((e) => !e.messageId)].sort((a, b) => a.at - b.at);
        }
        if (opts.json) return printJson({ events });
        if (!events.length) return void process.stdout.write('no trace events match\n');
        process.stdout.write(formatTrace(events) + '\n');
      }),
    );
}
