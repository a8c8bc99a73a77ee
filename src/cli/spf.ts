// `mailflow spf check` (what a receiver concludes for one connection) and `mailflow spf lint`
// (what is wrong with a published record). `check` runs once per message in test suites, so the
// evaluator and the linter are imported inside their actions, keeping startup to what is used.
import type { Command } from 'commander';
import { CliExit, dnsServersOption, printJson, runCommand } from './run.js';

interface CheckOptions {
  ip: string;
  sender: string;
  helo: string;
  dns?: string;
  defaultExplanation?: string;
  dnsTimeout?: string;
  json?: boolean;
}

interface LintOptions {
  record?: string;
  domain?: string;
  dns?: string;
  dnsTimeout?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const spf = program.command('spf').description('SPF (RFC 7208): evaluate a connection, lint a record');

  spf
    .command('check')
    .description('evaluate SPF for a client IP, MAIL FROM and HELO as a receiver would (exit 0 whatever the result)')
    .requiredOption('--ip <ip>', 'client IP address')
    .requiredOption('--sender <address>', 'MAIL FROM address; "" for the null reverse-path (then HELO is checked)')
    .requiredOption('--helo <name>', 'HELO/EHLO name')
    .option('--dns <host:port>', 'DNS server(s), comma separated (default: /etc/resolv.conf)')
    .option('--default-explanation <text>', 'explanation reported for "fail" when the domain gives none')
    .option('--dns-timeout <ms>', 'per-query timeout in milliseconds', '2000')
    .option('--json', 'print one JSON line')
    .action((opts: CheckOptions) =>
      runCommand(async () => {
        const servers = dnsServersOption(opts.dns);
        const timeoutMs = positiveInt(opts.dnsTimeout, '--dns-timeout');
        const [{ createResolver }, { checkSpf }] = await Promise.all([import('../dns/client.js'), import('../spf/evaluate.js')]);
        const check = await checkSpf({
          ip: opts.ip,
          sender: opts.sender,
          helo: opts.helo,
          resolver: createResolver({ servers, timeoutMs }),
          defaultExplanation: opts.defaultExplanation,
        });
        if (opts.json) {
          // one line: suite harnesses read the last line of output as the JSON answer
          process.stdout.write(JSON.stringify(check) + '\n');
        } else {
          process.stdout.write(`${check.result}\n`);
          if (check.explanation !== null) process.stdout.write(`${check.explanation}\n`);
          process.stdout.write(`  domain ${check.domain || '(none)'}, ${check.lookups} DNS lookups: ${check.comment}\n`);
        }
        return 0; // the result is an answer, not a failed check
      }),
    );

  spf
    .command('lint')
    .description('find problems in an SPF record, given as text or looked up (with its includes) at a domain')
    .option('--record <text>', 'the record text, e.g. "v=spf1 ip4:192.0.2.1 -all"')
    .option('--domain <name>', 'look the record up at this domain and walk its include/redirect chain')
    .option('--dns <host:port>', 'DNS server(s) for --domain, comma separated (default: /etc/resolv.conf)')
    .option('--dns-timeout <ms>', 'per-query timeout in milliseconds', '2000')
    .option('--json', 'print one JSON document')
    .action((opts: LintOptions) =>
      runCommand(async () => {
        if ((opts.record === undefined) === (opts.domain === undefined)) throw new CliExit(2, 'give exactly one of --record TEXT or --domain NAME');
        const servers = dnsServersOption(opts.dns);
        const timeoutMs = positiveInt(opts.dnsTimeout, '--dns-timeout');
        const { lintRecordText, lintDomain } = await import('../spf/lint.js');
        const { formatLintReport } = await import('../spf/lint-format.js');
        let report;
        if (opts.record !== undefined) {
          report = lintRecordText(opts.record);
        } else {
          const { createResolver } = await import('../dns/client.js');
          report = await lintDomain(opts.domain!, createResolver({ servers, timeoutMs }));
        }
        if (opts.json) printJson(report);
        else process.stdout.write(formatLintReport(report));
        return report.findings.some((f) => f.severity === 'error') ? 1 : 0;
      }),
    );
}

function positiveInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliExit(2, `${flag}: "${value}" is not a positive whole number`);
  return n;
}
