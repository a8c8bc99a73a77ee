// The header section of a message as a list of raw fields (folding kept), so filters can read,
// drop and prepend fields without re-encoding anything else (DKIM signatures must stay valid).

export interface RawField {
  /** Field name as written (case kept). */
  name: string;
  /** The whole field, folded lines included, with its final CRLF. */
  raw: Buffer;
}

export interface SplitMessage {
  fields: RawField[];
  /** Everything from the empty line that ends the header section (CRLF CRLF → the second CRLF), or empty. */
  rest: Buffer;
}

/** Splits the header section into fields. A message without a header/body separator is all header. */
export function splitHeaders(message: Buffer): SplitMessage {
  const fields: RawField[] = [];
  let pos = 0;
  while (pos < message.length) {
    // the empty line: the header section ends here
    if (message[pos] === 0x0d && message[pos + 1] === 0x0a) return { fields, rest: message.subarray(pos) };
    if (message[pos] === 0x0a) return { fields, rest: message.subarray(pos) };
    let end = pos;
    for (;;) {
      const nl = message.indexOf(0x0a, end);
      if (nl < 0) {
        end = message.length;
        break;
      }
      end = nl + 1;
      // a following line that starts with WSP continues this field
      const next = message[end];
      if (next !== 0x20 && next !== 0x09) break;
    }
    const raw = message.subarray(pos, end);
    const colon = raw.indexOf(0x3a);
    const name = colon > 0 ? raw.subarray(0, colon).toString('latin1').trim() : '';
    fields.push({ name, raw });
    pos = end;
  }
  return { fields, rest: Buffer.alloc(0) };
}

/** A field's value, unfolded and trimmed (latin1: header bytes are kept one to one). */
export function fieldValue(f: RawField): string {
  const text = f.raw.toString('latin1');
  const colon = text.indexOf(':');
  return text
    .slice(colon + 1)
    .replace(/\r?\n[ \t]/g, ' ')
    .trim();
}

/** Every value of the fields named `name`, top to bottom. */
export function headerValues(message: Buffer | SplitMessage, name: string): string[] {
  const split = Buffer.isBuffer(message) ? splitHeaders(message) : message;
  const lower = name.toLowerCase();
  return split.fields.filter((f) => f.name.toLowerCase() === lower).map(fieldValue);
}

/** Reassembles a message, leaving out the fields `drop` answers true for and putting `prepend` on top. */
export function rebuild(split: SplitMessage, prepend: string, drop: (f: RawField) => boolean = () => false): Buffer {
  const kept = split.fields.filter((f) => !drop(f)).map((f) => f.raw);
  return Buffer.concat([Buffer.from(prepend, 'latin1'), ...kept, split.rest]);
}

/** The domain of an address (lower case), or '' when there is none. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).replace(/>.*$/, '').trim().toLowerCase();
}
