#!/usr/bin/env node
// The `mailflow` command: one file per subcommand, each exporting `register(program)`.
import { Command } from 'commander';
import { register as registerInit } from './init.js';
import { register as registerRoute } from './route.js';

const program = new Command();
program
  .name('mailflow')
  .description('Mail flow for a third-party filter in front of a cloud hub with on-premises mailboxes')
  .version('0.1.0')
  .showHelpAfterError();

registerInit(program);
registerRoute(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`mailflow: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
