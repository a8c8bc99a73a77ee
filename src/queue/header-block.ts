// Just enough RFC 5322 header handling for reports: split the header block off a message, read an
// unfolded field, and write dates. Not a MIME parser; reports never need one.

export interface HeaderField {
  name: string;
  value: string;
}

/** The header block of a message (everything before the first empty line), CRLF line ends, no trailing blank line. */
export function headerBlockOf(message: Buffer): Buffer {
  const text = message.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  return Buffer.from(toCrlf(head), 'latin1');
}

/** Bare LF and bare CR become CRLF; trailing line ends are dropped. */
export function toCrlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n').replace(/(\r\n)+$/, '');
}

export function parseHeaderFields(headers: Buffer | string): HeaderField[] {
  const text = typeof headers === 'string' ? headers : headers.toString('utf8');
  const end = /\r?\n\r?\n/.exec(text);
  const lines = (end ? text.slice(0, end.index) : text).split(/\r?\n/);
  const out: HeaderField[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      out[out.length - 1]!.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return out;
}

/** First value of a field, unfolded, or undefined. */
export function headerValue(headers: Buffer | string | HeaderField[], name: string): string | undefined {
  const fields = Array.isArray(headers) ? headers : parseHeaderFields(headers);
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower)?.value;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC: `Mon, 06 Jan 2025 09:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
