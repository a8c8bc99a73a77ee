// The Message-ID is the key message trace follows across roles; the first role adds one if missing.

/** The header block of a message (up to the first empty line), as latin1 text. */
export function headerBlock(message: Buffer): string {
  const end = message.indexOf('\r\n\r\n');
  return message.subarray(0, end < 0 ? Math.min(message.length, 65536) : end).toString('latin1');
}

/** Value of the first header named `name` (unfolded), or undefined. */
export function headerValue(headers: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r\\n[ \\t].*)*)`, 'im');
  const m = re.exec(headers);
  return m ? m[1]!.replace(/\r\n[ \t]+/g, ' ').trim() : undefined;
}

export function ensureMessageId(message: Buffer, generate: () => string): { messageId: string; body: Buffer } {
  const v = headerValue(headerBlock(message), 'Message-ID');
  const m = v ? /<([^>]+)>/.exec(v) : null;
  if (m) return { messageId: m[1]!, body: message };
  if (v) return { messageId: v, body: message };
  const id = generate();
  // Prepended: the position of Message-ID among the headers carries no meaning.
  return { messageId: id, body: Buffer.concat([Buffer.from(`Message-ID: <${id}>\r\n`), message]) };
}
