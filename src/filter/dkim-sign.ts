// DKIM signing of outbound mail (RFC 6376, relaxed/relaxed) with mailauth's signer, and the choice
// of key for a message: the configured key of the header From domain for the signing role.
// relaxed/relaxed because later hops fold, re-space and add header fields; simple/simple would break.
import { signDkim } from './mailauth-dkim.js';
import type { Config, DkimKey } from '../config/schema.js';
import { domainOf, headerValues, splitHeaders } from './headers.js';

export interface SignOptions {
  domain: string;
  selector: string;
  privateKeyPem: string;
  /** Header fields to sign; default mailauth's list (From, To, Subject, Date, Message-ID, MIME ...). */
  headers?: string[];
  /** Signature time (t=); default now. */
  now?: Date;
}

export type SignOutcome =
  | { kind: 'signed'; message: Buffer; signature: string }
  | { kind: 'error'; message: Buffer; reason: string };

/** Prepends a DKIM-Signature; on failure the message comes back unchanged with the reason. */
export async function signMessage(message: Buffer, opts: SignOptions): Promise<SignOutcome> {
  try {
    const res = await signDkim(message, {
      canonicalization: 'relaxed/relaxed',
      signTime: opts.now,
      signatureData: [{ signingDomain: opts.domain, selector: opts.selector, privateKey: opts.privateKeyPem, canonicalization: 'relaxed/relaxed', ...(opts.headers ? { headerList: opts.headers } : {}) }],
    } as never);
    if (!res.signatures) {
      const why = res.errors?.map((e) => `${e.err?.code ?? 'ERROR'} ${e.err?.message ?? ''}`.trim()).join('; ');
      return { kind: 'error', message, reason: why || 'no signature was created' };
    }
    return { kind: 'signed', message: Buffer.concat([Buffer.from(res.signatures, 'latin1'), message]), signature: res.signatures };
  } catch (err) {
    // a broken key is a configuration problem the operator must see, not a reason to lose mail
    return { kind: 'error', message, reason: (err as Error).message };
  }
}

/** The header From domain of a message (first address of the first From), '' when none. */
export function headerFromDomain(message: Buffer): string {
  const from = headerValues(splitHeaders(message), 'From')[0] ?? '';
  const angle = /<([^>]*)>/.exec(from);
  const addr = angle ? angle[1]! : from.split(',')[0]!.trim();
  return domainOf(addr);
}

/**
 * The key `role` signs this From domain with: an exact domain match first, else a key of a parent
 * domain (a subdomain's mail signed by the organisation aligns under relaxed DKIM alignment).
 */
export function selectDkimKey(keys: Config['dkim'], role: string, fromDomain: string): DkimKey | undefined {
  const d = fromDomain.toLowerCase();
  const mine = keys.filter((k) => k.role === role && k.privateKey);
  return mine.find((k) => k.domain === d) ?? mine.filter((k) => d.endsWith('.' + k.domain)).sort((a, b) => b.domain.length - a.domain.length)[0];
}

/** The DNS TXT record value for a public key (base64 SubjectPublicKeyInfo). */
export function dkimTxtValue(publicKeyBase64: string): string {
  return `v=DKIM1; k=rsa; p=${publicKeyBase64}`;
}
