// Mailboxes are Maildir folders under a role's data directory: <root>/<address>/{tmp,new,cur},
// sub-folders Maildir++ style (<root>/<address>/.Junk/...).
export interface MailboxMessage {
  /** Path relative to the mailbox root, usable with `read`. */
  id: string;
  folder: string;
  size: number;
  receivedAt: number;
  subject?: string;
  from?: string;
}

export interface MailboxStore {
  /** Writes into tmp/, fsyncs, renames into new/ (atomic), fsyncs the directory; returns the id. */
  deliver(address: string, body: Buffer, folder?: string): Promise<string>;
  list(address?: string, folder?: string): MailboxMessage[];
  /** Every mailbox address that has a folder. */
  addresses(): string[];
  read(address: string, id: string): Buffer;
}
