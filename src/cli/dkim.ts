// `mailflow dkim keygen`: make (or reuse) a DKIM private key and print the DNS TXT record for it.
//   --config FILE [--domain D] [--selector S]: the key of a `dkim:` entry, next to the config (keys/),
//     as `mailflow init` names them; says where `privateKey` goes when the entry lacks it.
//   --out FILE [--domain D] [--selector S]: a key at FILE, no config needed.
// An existing key file is reused (rotation is deliberate: --force).
import { access } from 'node:fs/promises';
import { relative, resolve, join, dirname } from 'node:path';
import type { Command } from 'commander';
import { dkimTxtValue } from '../filter/dkim-sign.js';
import { generateDkimKey } from '../tls/certs.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';

interface KeygenOptions {
  config?: string;
  out?: string;
  domain?: string;
  selector?: string;
  force?: boolean;
  json?: boolean;
}

interface KeygenResult {
  keyFile: string;
  created: boolean;
  domain: string | null;
  selector: string;
  record: { name: string | null; type: 'TXT'; value: string };
  /** What to put into the config, when it does not say it yet. */
  configHint: string | null;
}

const SELECTOR = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;

export async function keygen(opts: KeygenOptions): Promise<KeygenResult> {
  if (!opts.config && !opts.out) throw new CliExit(2, 'give --config FILE (key for a dkim entry) or --out FILE');
  if (opts.selector && !SELECTOR.test(opts.selector)) throw new CliExit(2, `--selector: "${opts.selector}" is not a DKIM selector such as selector1`);
  const domainArg = opts.domain?.toLowerCase().replace(/\.$/, '');
  let domain: string | null = domainArg ?? null;
  let selector = opts.selector ?? 'selector1';
  let keyFile: string;
  let configHint: string | null = null;

  if (opts.config) {
    const { config, baseDir, file } = loadConfigOrExit(opts.config);
    const entry = config.dkim.find((k) => (!domainArg || k.domain === domainArg) && (!opts.selector || k.selector === opts.selector));
    domain = entry?.domain ?? domainArg ?? config.domains[0]!.name;
    selector = entry?.selector ?? selector;
    if (entry?.cname) throw new CliExit(1, `dkim entry ${domain}/${selector} is a CNAME to ${entry.cname}: its key lives with the provider`);
    keyFile = opts.out ? resolve(opts.out) : entry?.privateKey ? resolve(baseDir, entry.privateKey) : join(baseDir, 'keys', `dkim-${domain}-${selector}.pem`);
    const rel = relative(dirname(resolve(file)), keyFile) || keyFile;
    if (!entry) {
      configHint = `add to ${file}:\ndkim:\n  - domain: ${domain}\n    selector: ${selector}\n    role: hub        # the role that sends to the internet\n    privateKey: ${rel}`;
    } else if (!entry.privateKey || resolve(baseDir, entry.privateKey) !== keyFile) {
      configHint = `set privateKey: ${rel} in the dkim entry for ${domain} (selector ${selector}) in ${file}`;
    }
  } else {
    keyFile = resolve(opts.out!);
  }

  const before = await exists(keyFile);
  const p = await generateDkimKey(keyFile, { overwrite: !!opts.force });
  return {
    keyFile,
    created: !before || !!opts.force,
    domain,
    selector,
    record: { name: domain ? `${selector}._domainkey.${domain}` : null, type: 'TXT', value: dkimTxtValue(p) },
    configHint,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function register(program: Command): void {
  const dkim = program.command('dkim').description('DKIM signing keys');
  dkim
    .command('keygen')
    .description('create (or reuse) a DKIM private key and print its DNS TXT record')
    .option('--config <file>', 'topology file: the key of one of its dkim entries, stored next to it')
    .option('--out <file>', 'write the private key here (PEM); without --config no config is needed')
    .option('--domain <domain>', 'signing domain (d=)')
    .option('--selector <selector>', 'selector (s=), default selector1')
    .option('--force', 'replace an existing key (rotation: publish the new record first)')
    .option('--json', 'print JSON')
    .action((opts: KeygenOptions) =>
      runCommand(async () => {
        const r = await keygen(opts);
        if (opts.json) return printJson(r);
        const out: string[] = [];
        out.push(`${r.created ? 'wrote' : 'reusing existing'} private key ${r.keyFile}`);
        const name = r.record.name ? `${r.record.name}.` : `<selector>._domainkey.<domain>.`;
        // zone-file form: one TXT string holds at most 255 bytes, a 2048-bit key needs two
        const strings = r.record.value.match(/.{1,250}/g)!.map((c) => `"${c}"`).join(' ');
        out.push('', 'publish this DNS record:', `${name} IN TXT ${strings}`);
        if (r.configHint) out.push('', r.configHint);
        process.stdout.write(out.join('\n') + '\n');
      }),
    );
}
