// DKIM verification of a message that carries no signature, without running the verifier. Most mail
// a gateway sees is unsigned, and for it mailauth's DkimVerifier only reads the header section: the
// author addresses (for DMARC), the ARC chain (none) and the result "dkim=none (message not signed)".
// Streaming the header bytes through it one by one and setting up its key cache and stream cost
// about 4 % of the gateway's event loop at 20 sessions (bench/profile.mjs). Here the header section is
// parsed with mailauth's own parseHeaders, and only if mailauth's view of it holds no DKIM-Signature
// and no ARC field is the result built directly, with the very steps DkimVerifier.messageHeaders and
// finalChunk take for such a message (and mailauth's own addressparser and result formatter). Anything
// else (a signature, an ARC field, bare LFs, no end of the header section) goes to the verifier.
// test/filter/unsigned-dkim.test.ts holds both paths to the same results over awkward header sections.
import { createRequire } from 'node:module';
import type { DKIMVerifyOptions, DKIMVerifyResult } from 'mailauth';
import tools from 'mailauth/lib/tools.js';
import { memoByText } from '../util/text-memo.js';

interface ParsedRow {
  key: string | null;
  line: Buffer;
}
interface ParsedHeaders {
  parsed: ParsedRow[];
  original: Buffer;
}
interface AddressEntry {
  address?: string;
  group?: AddressEntry[];
}

const { parseHeaders, formatAuthHeaderRow } = tools as unknown as {
  parseHeaders(buf: Buffer): ParsedHeaders;
  formatAuthHeaderRow(method: string, status: Record<string, unknown>, options?: { strict?: boolean }): string;
};
// the addressparser mailauth itself loads (it may carry its own copy of nodemailer)
const fromMailauth = createRequire(createRequire(import.meta.url).resolve('mailauth/lib/dkim/dkim-verifier.js'));
const addressparser = fromMailauth('nodemailer/lib/addressparser') as (s: string) => AddressEntry[];

/**
 * addressparser, remembered per value: a sender's From and envelope sender are the same text on every
 * message (a pure function of it; the results are only read here).
 */
const parseAddresses: (value: string) => readonly AddressEntry[] = memoByText(addressparser, 1000);

let notSigned: string | undefined;
/** The verifier's resinfo for an unsigned message, formatted once (it is the same every time). */
function notSignedInfo(): string {
  return (notSigned ??= formatAuthHeaderRow('dkim', { result: 'none', comment: 'message not signed' }, { strict: false }));
}

/** Header fields that make the verifier's work necessary (DkimVerifier reads these, getARChain the ARC ones). */
const SIGNED_KEYS = new Set(['dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results']);

/**
 * The header section with the empty line that ends it, when the message has one and uses CRLF
 * throughout it (the verifier first turns bare LFs into CRLF; such a message takes its path).
 */
export function headerSection(message: Buffer): Buffer | null {
  // an empty first line: the verifier reads an empty header section
  if (message[0] === 0x0d && message[1] === 0x0a) return null;
  const end = message.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = message.subarray(0, end + 4);
  // an empty line made of a bare LF would have ended the section earlier for the verifier
  for (let nl = head.indexOf(0x0a); nl >= 0; nl = head.indexOf(0x0a, nl + 1)) if (nl === 0 || head[nl - 1] !== 0x0d) return null;
  return head;
}

/** A field's value (after its first colon, trimmed) through addressparser, as DkimVerifier reads From and Return-Path. */
function addressesOf(row: ParsedRow): readonly AddressEntry[] {
  let value = row.line.toString();
  const colon = value.indexOf(':');
  if (colon >= 0) value = value.substring(colon + 1);
  return parseAddresses(value.trim());
}

/**
 * What DkimVerifier would return for this message if it is unsigned as mailauth reads it; null when it
 * is not (or cannot be told without the verifier): verify it with the verifier then.
 */
export function unsignedDkimResult(message: Buffer, options: Pick<DKIMVerifyOptions, 'sender'>): DKIMVerifyResult | null {
  const head = headerSection(message);
  if (!head) return null;
  const headers = parseHeaders(head);
  if (headers.parsed.length === 0 || headers.parsed.some((h) => h.key !== null && SIGNED_KEYS.has(h.key))) return null;

  // DkimVerifier.messageHeaders, for a message without signatures and ARC fields
  const headerFrom: string[] = [];
  const fromRows = headers.parsed.filter((h) => h.key === 'from');
  for (const row of fromRows) {
    for (const addr of addressesOf(row)) {
      for (const mailbox of ([] as (AddressEntry | undefined)[]).concat(addr?.group || addr || [])) {
        if (mailbox && mailbox.address) headerFrom.push(mailbox.address);
      }
    }
  }
  let envelopeFrom: string | false = false;
  if (options.sender) {
    const rp = parseAddresses(options.sender);
    envelopeFrom = rp.length && rp[0]!.address ? rp[0]!.address : false;
  } else {
    const rpRow = headers.parsed.filter((h) => h.key === 'return-path').pop();
    if (rpRow) {
      const rp = addressesOf(rpRow);
      envelopeFrom = rp.length && rp[0]!.address ? rp[0]!.address : false;
    }
  }

  // finalChunk with nothing to verify
  const results = [{ status: { result: 'none', comment: 'message not signed' }, info: notSignedInfo() }];

  const result = { headerFrom, fromFields: fromRows.length, envelopeFrom, results };
  // as in verifyDkim: the parsed headers and the (empty) ARC data, not enumerable
  Object.defineProperty(result, 'headers', { enumerable: false, configurable: false, writable: false, value: headers });
  Object.defineProperty(result, 'arc', { enumerable: false, configurable: false, writable: false, value: { chain: false, warnings: [] } });
  return result as unknown as DKIMVerifyResult;
}
