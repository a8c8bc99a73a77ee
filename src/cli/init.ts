// `mailflow init --preset NAME [-o FILE]`: write a commented starting config.
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PRESETS, isPresetName, presetText } from '../config/presets.js';
import { CliExit, runCommand } from './common.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented topology config from a preset')
    .requiredOption('--preset <name>', `one of: ${PRESETS.join(', ')}`)
    .option('-o, --output <file>', 'write here instead of standard output')
    .option('--force', 'overwrite an existing file')
    .action((opts: { preset: string; output?: string; force?: boolean }) =>
      runCommand(() => {
        if (!isPresetName(opts.preset)) throw new CliExit(2, `unknown preset "${opts.preset}" (choose one of: ${PRESETS.join(', ')})`);
        const text = presetText(opts.preset);
        if (!opts.output) {
          process.stdout.write(text);
          return;
        }
        if (existsSync(opts.output) && !opts.force) throw new CliExit(2, `${opts.output} exists (use --force to overwrite)`);
        writeFileSync(opts.output, text);
        process.stderr.write(`wrote ${opts.output} (preset ${opts.preset})\n`);
      }),
    );
}
