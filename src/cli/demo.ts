// `mailflow demo [--json] [--keep]`: run the seed topologies on loopback and send mail along every path.
import type { Command } from 'commander';
import { formatDemo, runDemo } from '../demo/run.js';
import { printJson, runCommand } from './common.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('start the demo topology on loopback (127.0.0.2-5, DNS on 127.0.0.53:5353) and send mail along every path of the seeds')
    .option('--json', 'print {"ok","paths":[{"name","delivered","hops"}]}')
    .option('--keep', 'keep the demo directory (configs, queues, trace, mailboxes) and print where it is')
    .option('--dir <path>', 'use this directory instead of a temporary one (kept)')
    .action((opts: { json?: boolean; keep?: boolean; dir?: string }) =>
      runCommand(async () => {
        const progress = opts.json ? undefined : (line: string) => process.stdout.write(`  started ${line}\n`);
        const result = await runDemo({ keep: opts.keep, dir: opts.dir, progress });
        if (opts.json) printJson(result);
        else {
          process.stdout.write('\n' + formatDemo(result) + '\n');
          if (opts.keep || opts.dir) process.stdout.write(`demo files kept in ${result.workDir} (mailflow trace --config ${result.workDir}/mailflow.yaml --recipient alice@contoso.test)\n`);
        }
        return result.ok ? 0 : 1;
      }),
    );
}
