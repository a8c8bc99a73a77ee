// Subject and From for a mailbox listing, read from the first header block only. RFC 2047 encoded
// words are decoded (B and Q, UTF-8 and Latin-1) so listings are readable.
import { closeSync, openSync, readSync } from 'node:fs';

const PEEK_BYTES = 16 * 1024;

export interface Peeked {
  subject?: string;
  from?: string;
}

export function peekHeaders(file: string): Peeked {
  const fd = openSync(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(PEEK_BYTES);
    const n = readSync(fd, buf, 0, PEEK_BYTES, 0);
    text = buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
  const end = /\r?\n\r?\n/.exec(text);
  const block = end ? text.slice(0, end.index) : text;
  const out: Peeked = {};
  let current: { name: string; value: string } | null = null;
  const flush = () => {
    if (!current) return;
    const name = current.name.toLowerCase();
    if (name === 'subject' && out.subject === undefined) out.subject = decodeWords(current.value.trim());
    if (name === 'from' && out.from === undefined) out.from = decodeWords(current.value.trim());
  };
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += line.replace(/^[ \t]+/, ' ');
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    current = colon > 0 ? { name: line.slice(0, colon).trim(), value: line.slice(colon + 1) } : null;
  }
  flush();
  return out;
}

export function decodeWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (whole, charset: string, enc: string, data: string) => {
      const cs = charset.toLowerCase().replace(/\*.*$/, '');
      const encoding = cs === 'utf-8' || cs === 'utf8' ? 'utf8' : cs === 'iso-8859-1' || cs === 'latin1' || cs === 'us-ascii' ? 'latin1' : null;
      if (!encoding) return whole;
      const bytes =
        enc.toLowerCase() === 'b'
          ? Buffer.from(data, 'base64')
          : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return bytes.toString(encoding);
    });
}
