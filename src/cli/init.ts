// `mailflow init --preset NAME [-o FILE]`: write a commented starting config. With -o it also makes
// what the roles need to run: a local CA and a certificate per role (STARTTLS everywhere, connector
// certificates), and a DKIM key for each signing entry that has none, their paths written into the file.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { parseConfigText } from '../config/load.js';
import { PRESETS, isPresetName, presetText } from '../config/presets.js';
import type { Config } from '../config/schema.js';
import { roleConfig, roleNames } from '../roles/names.js';
import { ensureCertificates, generateDkimKey } from '../tls/certs.js';
import { CliExit, runCommand } from './common.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented topology config from a preset (with -o: also certificates and DKIM keys)')
    .requiredOption('--preset <name>', `one of: ${PRESETS.join(', ')}`)
    .option('-o, --output <file>', 'write here instead of standard output')
    .option('--force', 'overwrite an existing file')
    .option('--no-keys', 'do not generate certificates and DKIM keys')
    .action((opts: { preset: string; output?: string; force?: boolean; keys: boolean }) =>
      runCommand(async () => {
        if (!isPresetName(opts.preset)) throw new CliExit(2, `unknown preset "${opts.preset}" (choose one of: ${PRESETS.join(', ')})`);
        const text = presetText(opts.preset);
        if (!opts.output) {
          process.stdout.write(text);
          return;
        }
        if (existsSync(opts.output) && !opts.force) throw new CliExit(2, `${opts.output} exists (use --force to overwrite)`);
        const out = opts.keys ? await withKeys(text, opts.output) : text;
        writeFileSync(opts.output, out);
        process.stderr.write(`wrote ${opts.output} (preset ${opts.preset})${opts.keys ? ', certificates and DKIM keys under ' + join(dirname(opts.output), 'keys') : ''}\n`);
      }),
    );
}

/** Generate the keys next to the config file and point the config at them; comments are kept. */
export async function withKeys(text: string, file: string): Promise<string> {
  const config: Config = parseConfigText(text, file).config;
  const base = dirname(resolve(file));
  const keysDir = join(base, 'keys');
  const rel = (p: string) => relative(base, p) || p;
  const roles = roleNames(config);
  const certs = await ensureCertificates(
    keysDir,
    roles.map((role) => {
      const r = roleConfig(config, role);
      const ips = [...r.addresses, r.listen.split(':')[0]!].filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h) && h !== '0.0.0.0');
      return { name: role, subject: r.tls.subject ?? r.hostname, altNames: [r.hostname], ips: [...new Set(ips)] };
    }),
  );
  const doc = parseDocument(text);
  for (const role of roles) {
    const c = certs.certs[role]!;
    const path = role === 'gateway' || role === 'hub' ? [role, 'tls'] : ['onprem', config.onprem.findIndex((o) => o.name === role), 'tls'];
    const r = roleConfig(config, role);
    doc.setIn(path, doc.createNode({ cert: rel(c.cert), key: rel(c.key), ca: rel(certs.ca.cert), subject: r.tls.subject ?? r.hostname }));
  }
  for (const [i, k] of config.dkim.entries()) {
    if (k.cname || k.publicKey || k.privateKey) continue;
    const keyFile = join(keysDir, `dkim-${k.domain}-${k.selector}.pem`);
    await generateDkimKey(keyFile);
    doc.setIn(['dkim', i, 'privateKey'], rel(keyFile));
  }
  return doc.toString({ lineWidth: 0 });
}
