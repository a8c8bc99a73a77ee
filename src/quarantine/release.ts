// Releasing a held message: re-inject it by SMTP into the role that quarantined it, marked with
// `X-Mailflow-Released: <id>`. The role skips filtering only when that id is `releasing` in its own
// quarantine store (so a sender cannot forge the header), and the entry becomes `released` only
// after the role answered 250 for at least one recipient.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { roleDataDir } from '../roles/names.js';
import { formatReply } from '../smtp/replies.js';
import type { SendTarget, SmtpSender } from '../smtp/outbound/types.js';
import { rebuild, splitHeaders } from '../filter/headers.js';
import type { QuarantineEntry, QuarantineStore } from './store.js';

export const RELEASE_HEADER = 'X-Mailflow-Released';

export function quarantineDirFor(config: Config, baseDir: string, role: string): string {
  return join(roleDataDir(config, baseDir, role), 'quarantine');
}

/** The message as re-injected: our release header on top, any earlier copy removed. */
export function markForRelease(body: Buffer, id: string): Buffer {
  return rebuild(splitHeaders(body), `${RELEASE_HEADER}: ${id}\r\n`, (f) => f.name.toLowerCase() === RELEASE_HEADER.toLowerCase());
}

/** The release id a message carries, if any (the role then asks its store `isReleasing(id)`). */
export function releaseIdOf(message: Buffer): string | null {
  const f = splitHeaders(message).fields.find((x) => x.name.toLowerCase() === RELEASE_HEADER.toLowerCase());
  if (!f) return null;
  const v = f.raw.toString('latin1').slice(f.raw.indexOf(0x3a) + 1).trim();
  return /^[a-z0-9]{12,32}$/.test(v) ? v : null;
}

export type ReleaseOutcome =
  | { kind: 'released'; entry: QuarantineEntry; accepted: string[]; refused: string[]; remote: string; reply: string }
  | { kind: 'failed'; entry: QuarantineEntry; reason: string }
  | { kind: 'not-found' }
  | { kind: 'not-held'; status: string };

export async function releaseMessage(opts: { store: QuarantineStore; id: string; sender: SmtpSender; target: SendTarget; hostname: string }): Promise<ReleaseOutcome> {
  const start = opts.store.beginRelease(opts.id);
  if (start.kind !== 'ok') return start;
  const { entry, body } = start;
  try {
    const result = await opts.sender.send({ target: opts.target, hostname: opts.hostname, sender: entry.sender, recipients: entry.recipients, body: markForRelease(body, entry.id) });
    const accepted = result.outcomes.filter((o) => o.kind === 'delivered');
    const refused = result.outcomes.filter((o) => o.kind !== 'delivered');
    if (!accepted.length) {
      const reason = refused.map((o) => `${o.recipient}: ${formatReply(o.reply)}`).join('; ') || 'no recipient accepted';
      opts.store.abortRelease(entry.id, `release failed: ${reason}`);
      return { kind: 'failed', entry, reason };
    }
    const reply = formatReply(accepted[0]!.reply);
    const note = `released to ${result.remote}: ${reply}${refused.length ? `; refused ${refused.map((o) => `${o.recipient} (${formatReply(o.reply)})`).join(', ')}` : ''}`;
    opts.store.markReleased(entry.id, note);
    return { kind: 'released', entry: { ...entry, status: 'released', note }, accepted: accepted.map((o) => o.recipient), refused: refused.map((o) => o.recipient), remote: result.remote, reply };
  } catch (err) {
    opts.store.abortRelease(entry.id, `release failed: ${(err as Error).message}`);
    return { kind: 'failed', entry, reason: (err as Error).message };
  }
}
