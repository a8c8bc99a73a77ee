// `mailflow route --config FILE --from ADDR --to ADDR [--from-role ROLE] [--json]`
import type { Command } from 'commander';
import { explainRoute, formatExplanation } from '../routing/explain.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';

export function register(program: Command): void {
  program
    .command('route')
    .description('explain, hop by hop, the path a message takes through the topology')
    .requiredOption('--config <file>', 'topology file')
    .requiredOption('--from <address>', 'envelope sender ("" for the null sender)')
    .requiredOption('--to <address>', 'recipient')
    .option('--from-role <role>', 'where the message enters: internet, gateway, hub or an on-prem server name (default: the sender\'s home)')
    .option('--json', 'print JSON')
    .action((opts: { config: string; from: string; to: string; fromRole?: string; json?: boolean }) =>
      runCommand(() => {
        const { config } = loadConfigOrExit(opts.config);
        const roles = ['internet', 'gateway', 'hub', ...config.onprem.map((o) => o.name)];
        if (opts.fromRole && !roles.includes(opts.fromRole)) throw new CliExit(2, `--from-role must be one of: ${roles.join(', ')}`);
        if (!/^[^\s@]+@[^\s@]+$/.test(opts.to)) throw new CliExit(2, `--to "${opts.to}" is not an address`);
        const e = explainRoute(config, { from: opts.from.toLowerCase(), to: opts.to.toLowerCase(), fromRole: opts.fromRole });
        if (opts.json) printJson(e);
        else process.stdout.write(formatExplanation(e) + '\n');
        return e.outcome === 'loop' ? 1 : 0;
      }),
    );
}
