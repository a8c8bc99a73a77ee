// `mailflow mailbox list|read --config FILE [--role R] [ADDRESS] [ID]`: see what landed in the Maildirs.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openMaildirStore } from '../mailbox/maildir.js';
import { roleDataDir, roleNames } from '../roles/names.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';

function stores(configFile: string, only?: string[]) {
  const { config, baseDir } = loadConfigOrExit(configFile);
  const known = roleNames(config);
  for (const r of only ?? []) if (!known.includes(r)) throw new CliExit(2, `unknown role "${r}" (known: ${known.join(', ')})`);
  return (only ?? known)
    .map((role) => ({ role, root: join(roleDataDir(config, baseDir, role), 'mailboxes') }))
    .filter((s) => existsSync(s.root))
    .map((s) => ({ role: s.role, store: openMaildirStore(s.root) }));
}

export function register(program: Command): void {
  const mb = program.command('mailbox').description('list and read messages in the roles\' mailboxes');
  mb.command('list [address]')
    .description('messages per mailbox (all mailboxes when no address is given)')
    .requiredOption('--config <file>', 'topology file')
    .option('--role <name...>', 'only these roles')
    .option('--folder <name>', 'a Maildir++ folder such as Junk')
    .option('--json', 'print JSON')
    .action((address: string | undefined, opts: { config: string; role?: string[]; folder?: string; json?: boolean }) =>
      runCommand(() => {
        const out = stores(opts.config, opts.role).flatMap(({ role, store }) =>
          (address ? [address.toLowerCase()] : store.addresses()).flatMap((a) => store.list(a, opts.folder).map((m) => ({ role, address: a, ...m }))),
        );
        if (opts.json) return printJson({ messages: out });
        if (!out.length) return void process.stdout.write('no messages\n');
        for (const m of out) process.stdout.write(`${m.role.padEnd(8)} ${m.address.padEnd(28)} ${m.folder.padEnd(6)} ${new Date(m.receivedAt).toISOString()}  ${m.id}\n         from: ${m.from ?? '-'}  subject: ${m.subject ?? '-'}\n`);
      }),
    );
  mb.command('read <address> <id>')
    .description('print one message (id as shown by mailbox list)')
    .requiredOption('--config <file>', 'topology file')
    .option('--role <name...>', 'only these roles')
    .action((address: string, id: string, opts: { config: string; role?: string[] }) =>
      runCommand(() => {
        for (const { store } of stores(opts.config, opts.role)) {
          try {
            process.stdout.write(store.read(address.toLowerCase(), id));
            return;
          } catch {
            /* not in this role's mailboxes */
          }
        }
        throw new CliExit(1, `no message ${id} in ${address}`);
      }),
    );
}
