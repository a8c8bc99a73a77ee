// Our trace header (RFC 5321 §4.4, RFC 5322 §3.6.7), in the Postfix shape:
//   Received: from <helo> (<rdns or [ip]> [ip])
//           by <hostname> (mailflow <role>) with ESMTPS id <id>
//           for <rcpt>; <date>
// The "for" clause sits before the single ";" (the grammar allows only one, ahead of the date).
// Folded at 78 columns with a tab, ending in CRLF.

export interface ReceivedInfo {
  helo: string;
  /** Reverse DNS name, if one was found and looked sane. */
  rdns: string | null;
  ip: string;
  hostname: string;
  role: string;
  /** RFC 3848 protocol: SMTP, ESMTP, ESMTPS, ESMTPSA ... */
  protocol: string;
  id: string;
  /** Named only when the message has exactly one recipient (more would disclose Bcc). */
  recipients: string[];
  date: Date;
}

const FOLD_AT = 78;

export function receivedHeader(r: ReceivedInfo): string {
  const ipLiteral = r.ip.includes(':') ? `[IPv6:${r.ip}]` : `[${r.ip}]`;
  const remote = r.rdns ? `${clean(r.rdns)} ${ipLiteral}` : `${ipLiteral} ${ipLiteral}`;
  // fold only between clauses, so "by host", "id x" and the date each stay on one line
  const tokens = [
    `Received: from ${clean(r.helo) || 'unknown'}`,
    `(${remote})`,
    `by ${clean(r.hostname)}`,
    `(mailflow ${clean(r.role)})`,
    `with ${r.protocol}`,
    `id ${clean(r.id)}`,
  ];
  if (r.recipients.length === 1) tokens.push(`for <${clean(r.recipients[0]!)}>;`);
  else tokens[tokens.length - 1] += ';';
  tokens.push(rfc5322Date(r.date));
  return fold(tokens) + '\r\n';
}

/** Joins clauses with spaces, breaking before one that would pass column 78 (never inside one). */
export function fold(tokens: string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const t of tokens) {
    if (!line) line = t;
    else if (line.length + 1 + t.length > FOLD_AT) {
      lines.push(line);
      line = '\t' + t;
    } else line += ' ' + t;
  }
  lines.push(line);
  return lines.join('\r\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mon, 24 Nov 2025 09:05:03 +0000" (always UTC, so output does not depend on the host's zone). */
export function rfc5322Date(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

// Client-supplied text (HELO, addresses) must not break the header's structure: no controls,
// whitespace, comment or separator characters. Non-ASCII is kept (SMTPUTF8 messages may carry it).
function clean(s: string): string {
  return s.replace(/[\x00-\x20\x7f();\\"<>]/g, '_');
}
