// DKIM verification and signing, and ARC sealing, of a message held in memory, with mailauth's own
// parsers, fed in one write. mailauth's dkimVerify and dkimSign pass a buffer through
// tools.writeToStream, which waits for a setImmediate before the first chunk and another before
// ending the stream: two turns of the event loop per message. Under load a turn carries an event of nearly every open session, so a message sat
// in the filters for those turns doing nothing (3 ms median at 20 sessions, measured with
// bench/tail.mjs). The parsers are Writables: ending them with the whole buffer does the same work
// without leaving the turn, except where a DNS answer is awaited.
import { PassThrough, type Writable } from 'node:stream';
import type { ARCCreateSealData, DKIMSignOptions, DKIMSignResult, DKIMVerifyOptions, DKIMVerifyResult } from 'mailauth';
import { createSeal } from 'mailauth/lib/arc/index.js';
import { DkimSigner } from 'mailauth/lib/dkim/dkim-signer.js';
import { DkimVerifier } from 'mailauth/lib/dkim/dkim-verifier.js';

/** Writes `input` and ends `stream`; settles when it has finished (its final DNS lookups included). */
export function endWith(stream: Writable, input: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    stream.end(input);
  });
}

/** What mailauth's dkimVerify returns, with headers, arc and seal as non-enumerable properties as there. */
export async function verifyDkim(input: Buffer, options: DKIMVerifyOptions): Promise<DKIMVerifyResult> {
  const verifier = new DkimVerifier(options);
  await endWith(verifier, input);
  const result = { headerFrom: verifier.headerFrom, fromFields: verifier.fromFields, envelopeFrom: verifier.envelopeFrom, results: verifier.results };
  for (const key of ['headers', 'arc', 'seal'] as const) {
    if (verifier[key]) Object.defineProperty(result, key, { enumerable: false, configurable: false, writable: false, value: verifier[key] });
  }
  return result as DKIMVerifyResult;
}

/** What mailauth's dkimSign returns: the DKIM-Signature lines to prepend ('' when none was made). */
export async function signDkim(input: Buffer, options: DKIMSignOptions): Promise<DKIMSignResult> {
  const signer = new DkimSigner(options);
  await endWith(signer, input);
  const headers = signer.signatureHeaders;
  return {
    signatures: headers.length ? `${headers.join('\r\n')}\r\n` : '',
    arc: signer.arc,
    errors: signer.errors,
    warnings: signer.warnings,
  } as DKIMSignResult;
}

/**
 * mailauth's createSeal without the two turns: it hands a Buffer to writeToStream (above) but pipes a
 * stream, and a stream already ended with the whole message flows into its signer within the turn.
 */
export function createArcSeal(input: Buffer, data: ARCCreateSealData): ReturnType<typeof createSeal> {
  const stream = new PassThrough();
  stream.end(input);
  return createSeal(stream, data);
}
