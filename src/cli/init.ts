// `mailflow init --preset NAME [-o FILE]`: write a commented starting config. With -o it also makes
// what the roles need to run: a local CA and a certificate per role (STARTTLS everywhere, connector
// certificates), and a DKIM key for each signing entry that has none, their paths written into the file.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { PRESETS, isPresetName, presetText } from '../config/presets.js';
import { withKeys } from '../roles/keys.js';
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
