// `mailflow dns plan` (the records a topology needs) and `mailflow dns verify` (does DNS hold them,
// and does each sending host pass SPF).
import type { Command } from 'commander';
import { planRecords, type PlannedRecord } from '../dns/plan.js';
import type { VerifyReport } from '../dns/verify.js';
import { formatTable, formatZone } from '../dns/zonefile.js';
import { CliExit, dnsServersOption, loadConfigOrExit, printJson, runCommand } from './common.js';

interface PlanOptions {
  config?: string;
  json?: boolean;
  format: string;
}

interface VerifyOptions {
  config?: string;
  dns?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const dns = program.command('dns').description('DNS records for the topology: plan them, verify them');

  dns
    .command('plan')
    .description('print the MX, SPF, DMARC, DKIM, autodiscover and host records the topology needs')
    .option('-c, --config <file>', 'topology file')
    .option('--json', 'print one JSON document')
    .option('--format <format>', 'table or zone (a BIND zone-file fragment)', 'table')
    .action((opts: PlanOptions) =>
      runCommand(() => {
        if (opts.format !== 'table' && opts.format !== 'zone') throw new CliExit(2, `--format must be table or zone, not "${opts.format}"`);
        const loaded = loadConfigOrExit(opts.config);
        const records = planRecords(loaded.config, { baseDir: loaded.baseDir });
        if (opts.json) printJson({ records: records.map(publicFields) });
        else if (opts.format === 'zone') process.stdout.write(formatZone(records));
        else process.stdout.write(formatTable(records));
        for (const r of records.filter((x) => x.incomplete)) process.stderr.write(`mailflow: warning: ${r.name}: ${r.purpose}\n`);
        return 0;
      }),
    );

  dns
    .command('verify')
    .description('query DNS for every planned record and check SPF for each sending host (exit 1 if anything is wrong)')
    .option('-c, --config <file>', 'topology file')
    .option('--dns <host:port>', 'DNS server(s), comma separated (default: dns.servers of the config, else /etc/resolv.conf)')
    .option('--json', 'print one JSON document')
    .action((opts: VerifyOptions) =>
      runCommand(async () => {
        const loaded = loadConfigOrExit(opts.config);
        const { config } = loaded;
        const servers = dnsServersOption(opts.dns, config.dns.servers);
        const [{ createResolver }, { verifyRecords }] = await Promise.all([import('../dns/client.js'), import('../dns/verify.js')]);
        const resolver = createResolver({ servers, timeoutMs: config.dns.timeout });
        const records = planRecords(config, { baseDir: loaded.baseDir });
        const report = await verifyRecords(records, resolver, config);
        if (opts.json) printJson(jsonReport(report));
        else process.stdout.write(formatReport(report));
        return report.ok ? 0 : 1;
      }),
    );
}

function publicFields(r: PlannedRecord) {
  return { type: r.type, name: r.name, value: r.value, purpose: r.purpose };
}

function jsonReport(report: VerifyReport) {
  return {
    ok: report.ok,
    records: report.records.map((r) => ({ record: publicFields(r.record), status: r.status, found: r.found, message: r.message })),
    senders: report.senders,
  };
}

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  const nameWidth = Math.max(0, ...report.records.map((r) => r.record.name.length));
  for (const r of report.records) {
    lines.push(`${r.status.toUpperCase().padEnd(9)} ${r.record.type.padEnd(5)} ${r.record.name.padEnd(nameWidth)}  ${r.message}`);
  }
  if (report.senders.length) lines.push('', 'SPF for each sending host:');
  for (const s of report.senders) {
    const label = s.status === 'ok' ? 'OK' : s.status === 'skipped' ? 'SKIPPED' : 'FAIL';
    lines.push(`${label.padEnd(9)} ${s.role} ${s.ip ?? '-'} as postmaster@${s.domain}  ${s.message}`);
  }
  lines.push('', report.ok ? 'DNS matches the plan.' : 'DNS does not match the plan.');
  return lines.join('\n') + '\n';
}
