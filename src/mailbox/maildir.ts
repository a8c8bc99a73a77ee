// Maildir delivery and reading: <root>/<address>/{tmp,new,cur}, Maildir++ sub-folders as
// <root>/<address>/.<Folder>/{tmp,new,cur}. A delivery is written to tmp/, fsynced, renamed into new/
// (atomic: a reader sees the whole message or nothing) and new/ is fsynced, so a delivery reported
// done survives a crash. Names follow the Maildir convention time.M<usec>P<pid>R<rand>Q<n>.<host>,S=<size>.
import { promises as fsp, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MailboxMessage, MailboxStore } from './types.js';
import { addressDirName, addressFromDirName, folderDirName, folderFromDirName, messagePath } from './mailbox-path.js';
import { peekHeaders } from './header-peek.js';
import { fsyncDir, writeNewFileSynced } from '../util/durable-file.js';

export interface MaildirOptions {
  clock?: () => number;
  hostname?: string;
  pid?: number;
  random?: (n: number) => Buffer;
}

export function openMaildirStore(root: string, opts: MaildirOptions = {}): MailboxStore {
  return new MaildirStore(root, opts);
}

class MaildirStore implements MailboxStore {
  private readonly clock: () => number;
  private readonly host: string;
  private readonly pid: number;
  private readonly random: (n: number) => Buffer;
  private counter = 0;
  /** Folder directories known to exist with tmp/new/cur, so a delivery costs no mkdir. */
  private readonly ready = new Set<string>();

  constructor(
    private readonly root: string,
    opts: MaildirOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
    // '/' and ':' would break the name (path separator, flag separator); keep it simple and strict.
    this.host = (opts.hostname ?? osHostname()).replace(/[^A-Za-z0-9.-]/g, '_') || 'localhost';
    this.pid = opts.pid ?? process.pid;
    this.random = opts.random ?? randomBytes;
  }

  async deliver(address: string, body: Buffer, folder?: string): Promise<string> {
    const folderDir = folderDirName(folder);
    const mailboxDir = join(this.root, addressDirName(address));
    const base = folderDir ? join(mailboxDir, folderDir) : mailboxDir;
    await this.ensure(mailboxDir, base, folderDir !== '');
    const name = this.uniqueName(body.length);
    const temp = join(base, 'tmp', name);
    await writeNewFileSynced(temp, body);
    try {
      await fsp.rename(temp, join(base, 'new', name));
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
    await fsyncDir(join(base, 'new'));
    return (folderDir ? `${folderDir}/` : '') + `new/${name}`;
  }

  private async ensure(mailboxDir: string, base: string, isFolder: boolean): Promise<void> {
    if (this.ready.has(base)) return;
    const created = !existsSync(join(base, 'new'));
    for (const sub of ['tmp', 'new', 'cur']) await fsp.mkdir(join(base, sub), { recursive: true });
    // Maildir++: a folder is marked so that delivery agents do not treat it as a mailbox of its own.
    if (isFolder) await fsp.writeFile(join(base, 'maildirfolder'), '', { flag: 'a' });
    if (created) {
      // New directory entries must be durable too, or a crash could lose the whole mailbox.
      for (const dir of new Set([this.root, mailboxDir, base])) await fsyncDir(dir);
    }
    this.ready.add(base);
  }

  private uniqueName(size: number): string {
    const ms = this.clock();
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor((ms % 1000) * 1000);
    const rand = this.random(8).toString('hex');
    return `${sec}.M${usec}P${this.pid}R${rand}Q${++this.counter}.${this.host},S=${size}`;
  }

  list(address?: string, folder?: string): MailboxMessage[] {
    const addresses = address !== undefined ? [address] : this.addresses();
    const out: MailboxMessage[] = [];
    for (const a of addresses) {
      const mailboxDir = join(this.root, addressDirName(a));
      if (!existsSync(mailboxDir)) continue;
      const folders = folder !== undefined ? [folderDirName(folder)] : ['', ...subFolders(mailboxDir)];
      for (const f of folders) out.push(...this.listFolder(mailboxDir, f));
    }
    return out.sort((x, y) => x.receivedAt - y.receivedAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  private listFolder(mailboxDir: string, folderDir: string): MailboxMessage[] {
    const out: MailboxMessage[] = [];
    for (const sub of ['new', 'cur']) {
      const dir = join(mailboxDir, folderDir, sub);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const file = join(dir, name);
        let st;
        try {
          st = statSync(file);
        } catch {
          continue; // moved by a reader between readdir and stat
        }
        if (!st.isFile()) continue;
        const peek = peekHeaders(file);
        out.push({
          id: (folderDir ? `${folderDir}/` : '') + `${sub}/${name}`,
          folder: folderFromDirName(folderDir),
          size: st.size,
          receivedAt: timeFromName(name) ?? st.mtimeMs,
          ...(peek.subject !== undefined ? { subject: peek.subject } : {}),
          ...(peek.from !== undefined ? { from: peek.from } : {}),
        });
      }
    }
    return out;
  }

  addresses(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => addressFromDirName(d.name))
      .filter((a): a is string => a !== null)
      .sort();
  }

  read(address: string, id: string): Buffer {
    const mailboxDir = join(this.root, addressDirName(address));
    const file = messagePath(mailboxDir, id);
    try {
      return readFileSync(file);
    } catch (err) {
      // A mail reader may have moved new/X to cur/X:2,<flags> since the id was handed out.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !/(^|\/)new\/[^/]+$/.test(id)) throw err;
      const name = id.slice(id.lastIndexOf('/') + 1);
      const cur = join(file, '..', '..', 'cur');
      const moved = existsSync(cur) ? readdirSync(cur).find((n) => n === name || n.startsWith(`${name}:`)) : undefined;
      if (!moved) throw err;
      return readFileSync(join(cur, moved));
    }
  }
}

function subFolders(mailboxDir: string): string[] {
  return readdirSync(mailboxDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('.') && d.name !== '.' && d.name !== '..')
    .map((d) => d.name)
    .sort();
}

function timeFromName(name: string): number | null {
  const m = /^(\d+)\.M(\d+)/.exec(name);
  return m ? Number(m[1]) * 1000 + Math.floor(Number(m[2]) / 1000) : null;
}

