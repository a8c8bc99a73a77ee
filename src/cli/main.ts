#!/usr/bin/env node
// The `mailflow` command. Each subcommand lives in its own file exporting `register(program)`; only
// the one invoked is imported, so a quick command (`spf check`, run hundreds of times by the SPF
// suite) does not pay for loading the SMTP, queue and SQLite modules.
import { Command } from 'commander';

type Registrar = { register(program: Command): void };
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  init: () => import('./init.js'),
  check: () => import('./check.js'),
  dns: () => import('./dns.js'),
  spf: () => import('./spf.js'),
  route: () => import('./route.js'),
  start: () => import('./start.js'),
  queue: () => import('./queue.js'),
  trace: () => import('./trace.js'),
  mailbox: () => import('./mailbox.js'),
  demo: () => import('./demo.js'),
  dkim: () => import('./dkim.js'),
  quarantine: () => import('./quarantine.js'),
};

async function main(): Promise<void> {
  const program = new Command();
  program
    .name('mailflow')
    .description('Mail flow for a third-party filter in front of a cloud hub with on-premises mailboxes')
    .version('0.1.0')
    .showHelpAfterError();
  const invoked = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const names = invoked && COMMANDS[invoked] ? [invoked] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!()).register(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`mailflow: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
