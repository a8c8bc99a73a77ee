// `mailflow check --config FILE [--dns HOST:PORT] [--json]`: every rule of src/checks on the topology
// and, when DNS is available, on the published records. Exit 1 on an error finding, 2 on a bad config.
import type { Command } from 'commander';
import { RULES, countBySeverity, runChecks, type Finding } from '../checks/index.js';
import { createResolver } from '../dns/client.js';
import { dnsServersOption, loadConfigOrExit, printJson, runCommand } from './common.js';

interface CheckOptions {
  config?: string;
  dns?: string;
  json?: boolean;
  listRules?: boolean;
}

export function register(program: Command): void {
  program
    .command('check')
    .description('check the topology config (and, with DNS, the published records) against the seed and inventory rules')
    .option('-c, --config <file>', 'topology config file')
    .option('--dns <host:port>', 'DNS server(s) to check the published MX/SPF/DKIM/DMARC against (default: dns.servers from the config)')
    .option('--json', 'print one JSON document {"ok", "findings"}')
    .option('--list-rules', 'list the rules (id, severities, source) and exit')
    .action((opts: CheckOptions) => runCommand(() => check(opts)));
}

async function check(opts: CheckOptions): Promise<number> {
  if (opts.listRules) {
    if (opts.json) printJson(RULES.map(({ id, title, source, severities, dns }) => ({ id, title, source, severities, dns: !!dns })));
    else process.stdout.write(RULES.map((r) => `${r.id} [${r.severities.join('/')}]${r.dns ? ' (DNS)' : ''}: ${r.title} — ${r.source}\n`).join(''));
    return 0;
  }
  const loaded = loadConfigOrExit(opts.config);
  const servers = dnsServersOption(opts.dns, loaded.config.dns.servers);
  const resolver = servers.length ? createResolver({ servers, timeoutMs: loaded.config.dns.timeout }) : undefined;
  const report = await runChecks(loaded, { dns: resolver });
  if (opts.json) {
    printJson(report);
  } else {
    const c = countBySeverity(report.findings);
    const dnsNote = resolver ? `published DNS checked via ${servers.join(', ')}` : 'published DNS not checked (no --dns and no dns.servers)';
    const lines = report.findings.map((f) => formatFinding(loaded.file, f));
    lines.push(`${c.error} error(s), ${c.warning} warning(s), ${c.info} info; ${RULES.length} rules; ${dnsNote}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return report.ok ? 0 : 1;
}

export function formatFinding(file: string, f: Finding): string {
  return `${file}:${f.location.line}:${f.location.column} ${f.severity} ${f.rule}: ${f.message}`;
}
