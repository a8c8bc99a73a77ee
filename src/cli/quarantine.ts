// `mailflow quarantine list|show|release|delete --config FILE [--role R] [--json]`: the messages a
// role held back. A release is re-injected by SMTP into the role that held it (see
// src/quarantine/release.ts for the contract) and marked released only after a 250.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parseEndpoint } from '../config/endpoint.js';
import type { LoadedConfig } from '../config/load.js';
import { roleConfig, roleNames } from '../roles/names.js';
import { tlsMaterialFor } from '../roles/tls-material.js';
import { createSmtpSender } from '../smtp/outbound/client.js';
import type { SendTarget } from '../smtp/outbound/types.js';
import { quarantineDirFor, releaseMessage } from '../quarantine/release.js';
import { openQuarantine, type QuarantineEntry, type QuarantineStatus, type QuarantineStore } from '../quarantine/store.js';
import { CliExit, loadConfigOrExit, printJson, runCommand } from './common.js';
import { releaseTarget } from '../roles/release-target.js';

interface Common {
  config: string;
  role?: string[];
  json?: boolean;
}

function stores(loaded: LoadedConfig, only?: string[]): { role: string; store: QuarantineStore }[] {
  const known = roleNames(loaded.config);
  for (const r of only ?? []) if (!known.includes(r)) throw new CliExit(2, `unknown role "${r}" (known: ${known.join(', ')})`);
  return (only ?? known)
    .map((role) => ({ role, dir: quarantineDirFor(loaded.config, loaded.baseDir, role) }))
    .filter((s) => existsSync(s.dir))
    .map((s) => ({ role: s.role, store: openQuarantine({ dir: s.dir }) }));
}

function withStores<T>(opts: Common, fn: (all: { role: string; store: QuarantineStore }[], loaded: LoadedConfig) => Promise<T> | T): Promise<T> {
  const loaded = loadConfigOrExit(opts.config);
  const all = stores(loaded, opts.role);
  return Promise.resolve()
    .then(() => fn(all, loaded))
    .finally(() => all.forEach((s) => s.store.close()));
}

function find(all: { role: string; store: QuarantineStore }[], id: string) {
  for (const s of all) {
    const got = s.store.get(id);
    if (got) return { ...s, ...got };
  }
  throw new CliExit(1, `no quarantined message ${id}`);
}

function line(role: string, e: QuarantineEntry): string {
  return `${role.padEnd(8)} ${e.id}  ${new Date(e.at).toISOString()}  ${e.status.padEnd(9)} ${e.sender || '<>'} → ${e.recipients.join(', ')}\n         ${e.reason}${e.note && e.status !== 'held' ? `  [${e.note}]` : ''}\n`;
}

export function register(program: Command): void {
  const q = program.command('quarantine').description('messages the filters held back: list, show, release, delete');
  const common = (c: Command) => c.requiredOption('--config <file>', 'topology file').option('--role <name...>', 'only these roles').option('--json', 'print JSON');

  common(q.command('list').description('held messages (all statuses with --status all)'))
    .option('--status <status>', 'held, releasing, released, deleted or all', 'held')
    .action((opts: Common & { status: string }) =>
      runCommand(() =>
        withStores(opts, (all) => {
          if (!['held', 'releasing', 'released', 'deleted', 'all'].includes(opts.status)) throw new CliExit(2, `--status: "${opts.status}" is not held, releasing, released, deleted or all`);
          const out = all.flatMap(({ role, store }) => store.list({ status: opts.status as QuarantineStatus | 'all' }).map((e) => ({ role, ...e })));
          if (opts.json) return printJson({ messages: out });
          if (!out.length) return void process.stdout.write('no quarantined messages\n');
          for (const e of out) process.stdout.write(line(e.role, e));
        }),
      ),
    );

  common(q.command('show <id>').description('one message: why it was held, and the message itself'))
    .action((id: string, opts: Common) =>
      runCommand(() =>
        withStores(opts, (all) => {
          const m = find(all, id);
          if (opts.json) return printJson({ role: m.role, ...m.entry, message: m.body?.toString('utf8') ?? null });
          process.stdout.write(line(m.role, m.entry));
          process.stdout.write(`         verdict: ${JSON.stringify(m.entry.verdict)}\n\n`);
          process.stdout.write(m.body ? m.body.toString('utf8') : '(message deleted)\n');
        }),
      ),
    );

  common(q.command('release <id>').description('deliver a held message: re-injected into the role that held it, without filtering'))
    .action((id: string, opts: Common) =>
      runCommand(() =>
        withStores(opts, async (all, loaded) => {
          const m = find(all, id);
          const { target, hostname } = await releaseTarget(loaded, m.role);
          const sender = createSmtpSender();
          try {
            const r = await releaseMessage({ store: m.store, id, sender, target, hostname });
            if (opts.json) printJson({ role: m.role, ...r });
            else if (r.kind === 'released') process.stdout.write(`released ${id} into ${m.role} (${r.remote}): ${r.reply}${r.refused.length ? `; refused: ${r.refused.join(', ')}` : ''}\n`);
            else if (r.kind === 'failed') process.stdout.write(`release of ${id} failed, still held: ${r.reason}\n`);
            else if (r.kind === 'not-held') process.stdout.write(`${id} is ${r.status}, not held\n`);
            return r.kind === 'released' ? 0 : 1;
          } finally {
            await sender.close();
          }
        }),
      ),
    );

  common(q.command('delete <id>').description('drop a held message for good (the index keeps a record)'))
    .action((id: string, opts: Common) =>
      runCommand(() =>
        withStores(opts, (all) => {
          const m = find(all, id);
          const ok = m.store.delete(id, 'deleted with mailflow quarantine delete');
          if (opts.json) printJson({ role: m.role, id, deleted: ok });
          else process.stdout.write(ok ? `deleted ${id}\n` : `${id} was already deleted\n`);
          return ok ? 0 : 1;
        }),
      ),
    );
}
