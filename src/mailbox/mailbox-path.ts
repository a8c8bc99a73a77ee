// Mapping addresses, folders and message ids to paths that can never leave the Maildir root.
// An address becomes one directory name: lower-cased, and every byte outside a small safe set
// percent-encoded, so `/`, `\`, NUL and a leading dot cannot appear and `..` cannot be formed.
import { resolve, sep } from 'node:path';

export class MailboxPathError extends Error {
  override readonly name = 'MailboxPathError';
}

const SAFE = /[a-z0-9@_+=-]/;

export function addressDirName(address: string): string {
  const a = address.trim().toLowerCase();
  if (a.length === 0 || a.length > 320) throw new MailboxPathError(`not a mailbox address: ${JSON.stringify(address)}`);
  let out = '';
  for (const [i, ch] of [...a].entries()) {
    // Dots are kept inside a name (alice.smith@contoso.com) but never lead it.
    if (SAFE.test(ch) || (ch === '.' && i > 0)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function addressFromDirName(name: string): string | null {
  if (name.startsWith('.') || !/^[^/\\]+$/.test(name)) return null;
  try {
    return decodeURIComponent(name);
  } catch {
    return null;
  }
}

/** Maildir++ folder directory (`.Junk`, `.Archive.2024`), '' for the inbox. */
export function folderDirName(folder: string | undefined): string {
  if (folder === undefined || folder === '' || folder.toUpperCase() === 'INBOX') return '';
  if (!/^[A-Za-z0-9 _-]{1,64}(\.[A-Za-z0-9 _-]{1,64}){0,7}$/.test(folder)) {
    throw new MailboxPathError(`not a folder name: ${JSON.stringify(folder)} (letters, digits, space, _ and -, levels separated by .)`);
  }
  return '.' + folder;
}

export function folderFromDirName(name: string): string {
  return name === '' ? 'INBOX' : name.slice(1);
}

/**
 * A message id is `[.<Folder>/](new|cur)/<name>` relative to the mailbox directory. Anything else, or
 * anything that resolves outside that directory, is refused.
 */
export function messagePath(mailboxDir: string, id: string): string {
  const ok = /^(\.[A-Za-z0-9 _.-]{1,600}\/)?(new|cur)\/[A-Za-z0-9._,:=-]{1,255}$/.test(id);
  if (!ok || id.split('/').some((p) => p === '.' || p === '..')) throw new MailboxPathError(`not a message id: ${JSON.stringify(id)}`);
  const base = resolve(mailboxDir);
  const full = resolve(base, id);
  if (!full.startsWith(base + sep)) throw new MailboxPathError(`message id escapes the mailbox: ${JSON.stringify(id)}`);
  return full;
}
